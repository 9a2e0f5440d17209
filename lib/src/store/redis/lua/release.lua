-- release.lua: gives a lease back without finishing; a pending/processing
-- job becomes due now, a partial one is re-filed like finish does. A lease
-- that is no longer the current one is ignored. Called by
-- store::redis::scripts::ReleaseCall.
-- KEYS[1] job: the job hash
-- KEYS[2] slots: the slots hash
-- KEYS[3] data: the data hash
-- KEYS[4] due: the due zset
-- KEYS[5] history: the history list
-- KEYS[6] ops_jobs: the operators' index of every job (store::ops)
-- KEYS[7] ops_ids: the operators' index by id (lexical)
-- KEYS[8] ops_expiry: when each indexed job's keys expire
-- KEYS[9] ops_pending: the operators' index of pending jobs
-- KEYS[10] ops_processing: the index of processing jobs
-- KEYS[11] ops_completed: the index of completed jobs
-- KEYS[12] ops_partial: the index of partial jobs
-- KEYS[13] ops_failed: the index of failed jobs
-- ARGV[1] job_id: the job's id
-- ARGV[2] token: the lease's fencing token
-- ARGV[3] now_ms: now
-- ARGV[4] ttl_after_update_ms: retention after this write
-- ARGV[5] margin_after_deadline_ms: retention past the deadline
-- Returns {'ok'} or {'noop'}.
if redis.call('HGET', KEYS[1], 'lease_token') ~= ARGV[2] then return {'noop'} end
local now = tonumber(ARGV[3])
redis.call('HDEL', KEYS[1], 'lease_owner', 'lease_token', 'lease_exp')
redis.call('HSET', KEYS[1], 'updated', ARGV[3])
log_event(KEYS[5], {at = now, event = 'released', token = tonumber(ARGV[2]),
  job_status = redis.call('HGET', KEYS[1], 'status')})
refile(KEYS[1], KEYS[2], KEYS[4], ARGV[1], now)
touch_job(now, tonumber(ARGV[4]), tonumber(ARGV[5]))
return {'ok'}
