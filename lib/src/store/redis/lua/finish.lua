-- finish.lua: ends a processing round and releases the lease in one step:
-- status, message, error and auto-retry flag, then re-files the job in the
-- due index (completed/failed/final partial leave it) and under its new
-- status in the operators' index. Fenced. Called by
-- store::redis::scripts::FinishCall.
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
-- ARGV[4] status: the job's new status
-- ARGV[5] message: its new message
-- ARGV[6] error: its error ('' with has_error '0')
-- ARGV[7] has_error: '1' if there is an error
-- ARGV[8] auto_retry: '1'/'0'
-- ARGV[9] progress_full: '1' to set progress to 100
-- ARGV[10] ttl_after_update_ms: retention after this write
-- ARGV[11] margin_after_deadline_ms: retention past the deadline
-- Returns {'ok', job hash, slots hash} or {'lost'}.
local now = tonumber(ARGV[3])
if not holds(KEYS[1], ARGV[2], now) then return {'lost'} end
redis.call('HSET', KEYS[1], 'status', ARGV[4], 'message', ARGV[5],
  'auto_retry', ARGV[8], 'updated', ARGV[3])
if ARGV[7] == '1' then
  redis.call('HSET', KEYS[1], 'error', ARGV[6])
else
  redis.call('HDEL', KEYS[1], 'error')
end
if ARGV[9] == '1' then redis.call('HSET', KEYS[1], 'progress', '100') end
redis.call('HDEL', KEYS[1], 'lease_owner', 'lease_token', 'lease_exp')
local progress, done = progress_of(KEYS[1])
log_event(KEYS[5], {at = now, event = 'finished', token = tonumber(ARGV[2]),
  job_status = ARGV[4], progress = progress, completeness = done,
  will_auto_retry = ARGV[8] == '1'})
refile(KEYS[1], KEYS[2], KEYS[4], ARGV[1], now)
ops_file(ARGV[1], ARGV[4])
touch_job(now, tonumber(ARGV[10]), tonumber(ARGV[11]))
local snap = snapshot(KEYS[1], KEYS[2])
return {'ok', snap[1], snap[2]}
