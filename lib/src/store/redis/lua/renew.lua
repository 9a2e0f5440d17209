-- renew.lua: extends a live lease and re-files the job at the new expiry.
-- Called by store::redis::scripts::RenewCall.
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
-- ARGV[4] lease_exp_ms: the lease's new expiry
-- ARGV[5] ttl_after_update_ms: retention after this write
-- ARGV[6] margin_after_deadline_ms: retention past the deadline
-- Returns {'ok'} or {'lost'}.
local now = tonumber(ARGV[3])
if not holds(KEYS[1], ARGV[2], now) then return {'lost'} end
redis.call('HSET', KEYS[1], 'lease_exp', ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
touch_job(now, tonumber(ARGV[5]), tonumber(ARGV[6]))
return {'ok'}
