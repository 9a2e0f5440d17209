-- gate_manual_retry.lua: atomic check-and-set of the manual retry throttle.
-- Called by store::redis::scripts::GateManualRetryCall.
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
-- ARGV[1] now_ms: now
-- ARGV[2] min_interval_ms: the least time between two manual retries
-- ARGV[3] ttl_after_update_ms: retention after this write
-- ARGV[4] margin_after_deadline_ms: retention past the deadline
-- Returns {'ok'}, {'wait', ms left} or {'missing'}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local now = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[1], 'manual_retry'))
if last then
  local left = last + tonumber(ARGV[2]) - now
  if left > 0 then return {'wait', int(left)} end
end
redis.call('HSET', KEYS[1], 'manual_retry', ARGV[1])
log_event(KEYS[5], {at = now, event = 'manual_retry_requested'})
touch_job(now, tonumber(ARGV[3]), tonumber(ARGV[4]))
return {'ok'}
