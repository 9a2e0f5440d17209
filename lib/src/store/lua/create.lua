-- create.lua: stores a new pending job and files it in the due index,
-- honouring an optional idempotency key. Called by
-- store::scripts::CreateCall.
-- KEYS[1] job: the job hash
-- KEYS[2] due: the due zset
-- KEYS[3] history: the history list
-- KEYS[4] idem (optional): the idempotency hash {job, fp}
-- KEYS[5] stale_job (optional, with idem): the hash of the job the
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
-- The job hash's `idem` field names KEYS[4], so erase.lua can remove it.
-- Returns {'new'|'existing', job id} or {'conflict', existing job id}.
if KEYS[4] then
  local f = redis.call('HMGET', KEYS[4], 'job', 'fp')
  if f[1] and KEYS[5] and f[1] == ARGV[11] and redis.call('EXISTS', KEYS[5]) == 0 then
    redis.call('DEL', KEYS[4])
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
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
log_event(KEYS[3], {at = now, event = 'created', progress = 0})
local ttl = retention_ms(tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[3]), now)
if KEYS[4] then
  redis.call('HSET', KEYS[4], 'job', ARGV[1], 'fp', ARGV[10])
  redis.call('HSET', KEYS[1], 'idem', KEYS[4])
  touch({KEYS[1], KEYS[3], KEYS[4]}, KEYS[2], ttl)
else
  touch({KEYS[1], KEYS[3]}, KEYS[2], ttl)
end
return {'new', ARGV[1]}
