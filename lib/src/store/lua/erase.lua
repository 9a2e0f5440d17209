-- erase.lua: removes a job in one step: its four keys, its entry in the due
-- index and its idempotency key. Every fenced script then finds no lease
-- (the job hash is gone) and refuses to write, and no script re-creates a
-- key of a job whose hash is missing, so nothing of it comes back.
-- Standalone (common.lua is not prepended). Called by
-- store::scripts::EraseCall.
-- KEYS[1] job: the job hash
-- KEYS[2] slots: the slots hash
-- KEYS[3] data: the data hash
-- KEYS[4] due: the due zset
-- KEYS[5] history: the history list
-- KEYS[6] idem (optional): the idempotency hash the job names
-- ARGV[1] job_id: the job's id
-- ARGV[2] idem_field: the job hash's `idem` field as read by the caller
--   ('' for none)
-- Returns {'erased'}, {'missing'} or {'changed'} (the idempotency field is
-- not what the caller read: read again and retry).
local idem = redis.call('HGET', KEYS[1], 'idem') or ''
if idem ~= ARGV[2] then return {'changed'} end
redis.call('ZREM', KEYS[4], ARGV[1])
local gone = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5])
if KEYS[6] then
  -- Only if it still points at this job.
  if redis.call('HGET', KEYS[6], 'job') == ARGV[1] then redis.call('DEL', KEYS[6]) end
end
if gone == 0 then return {'missing'} end
return {'erased'}
