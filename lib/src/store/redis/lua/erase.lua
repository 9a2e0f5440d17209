-- erase.lua: removes a job in one step: its four keys, its entry in the due
-- index and its idempotency key. Every fenced script then finds no lease
-- (the job hash is gone) and refuses to write, and no script re-creates a
-- key of a job whose hash is missing, so nothing of it comes back.
-- It also removes the job from every operators' index (common.lua's
-- ops_remove). Called by store::redis::scripts::EraseCall.
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
-- KEYS[14] idem (optional): the idempotency hash the job names
-- ARGV[1] job_id: the job's id
-- ARGV[2] idem_field: the job hash's `idem` field as read by the caller
--   ('' for none)
-- Returns {'erased'}, {'missing'} or {'changed'} (the idempotency field is
-- not what the caller read: read again and retry).
local idem = redis.call('HGET', KEYS[1], 'idem') or ''
if idem ~= ARGV[2] then return {'changed'} end
redis.call('ZREM', KEYS[4], ARGV[1])
ops_remove(ARGV[1])
local gone = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5])
if KEYS[14] then
  -- Only if it still points at this job.
  if redis.call('HGET', KEYS[14], 'job') == ARGV[1] then redis.call('DEL', KEYS[14]) end
end
if gone == 0 then return {'missing'} end
return {'erased'}
