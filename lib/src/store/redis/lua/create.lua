-- create.lua: stores a new pending job and files it in the due index and
-- the operators' index, honouring an optional idempotency key. Called by
-- store::redis::scripts::CreateCall.
-- KEYS[1] job: the job hash
-- KEYS[2] slots: the slots hash (not written)
-- KEYS[3] data: the data hash (not written)
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
-- KEYS[14] idem (optional): the idempotency hash {job, fp}
-- KEYS[15] stale_job (optional, with idem): the hash of the job the
--   idempotency key pointed at when the caller found that job gone
-- ARGV[1] job_id: the new job's id
-- ARGV[2] now_ms: now
-- ARGV[3] deadline_ms: nothing is retried after it
-- ARGV[4] message: the new job's message
-- ARGV[5] questionnaire: its questionnaire JSON
-- ARGV[6] due_ms: when it is due (now + pending grace)
-- ARGV[7] ttl_after_update_ms: retention after this write
-- ARGV[8] margin_after_deadline_ms: retention past the deadline
-- ARGV[9] client: the hashed bucket of the client starting it ('' if none)
-- ARGV[10] fingerprint (optional, with idem): the request's fingerprint
-- ARGV[11] stale_job_id (optional, with stale_job): that gone job's id; if
--   the key still points at it and it is still gone, the key is treated as
--   absent (evicted or erased)
-- The job hash's `idem` field names KEYS[14], so erase.lua can remove it.
-- Returns {'new'|'existing', job id} or {'conflict', existing job id}.
if KEYS[14] then
  local f = redis.call('HMGET', KEYS[14], 'job', 'fp')
  if f[1] and KEYS[15] and f[1] == ARGV[11] and redis.call('EXISTS', KEYS[15]) == 0 then
    redis.call('DEL', KEYS[14])
    f = {false, false}
  end
  if f[1] then
    if f[2] ~= ARGV[10] then return {'conflict', f[1]} end
    return {'existing', f[1]}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'existing', ARGV[1]} end
local now = tonumber(ARGV[2])
redis.call('HSET', KEYS[1],
  'id', ARGV[1], 'status', 'pending', 'progress', '0', 'message', ARGV[4],
  'created', ARGV[2], 'updated', ARGV[2], 'deadline', ARGV[3],
  'questionnaire', ARGV[5], 'completeness', '0', 'fence', '0', 'auto_retry', '1')
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'client', ARGV[9]) end
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
log_event(KEYS[5], {at = now, event = 'created', progress = 0})
ops_file(ARGV[1], 'pending')
local ttl = retention_ms(tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[3]), now)
if KEYS[14] then
  redis.call('HSET', KEYS[14], 'job', ARGV[1], 'fp', ARGV[10])
  redis.call('HSET', KEYS[1], 'idem', KEYS[14])
  touch({KEYS[1], KEYS[5], KEYS[14]}, KEYS[4], ttl)
else
  touch({KEYS[1], KEYS[5]}, KEYS[4], ttl)
end
ops_touch(ARGV[1], 'pending', now, ttl)
return {'new', ARGV[1]}
