-- record.lua: one slot's new state (and its data when loaded), with
-- completeness recomputed from every slot, progress raised (never lowered)
-- and the message, in one step, counting the attempt's outcome in the
-- hour's operators' counters. Fenced. Called by
-- store::redis::scripts::RecordCall.
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
-- ARGV[4] slot_field: the slot's field (`home_id/source`)
-- ARGV[5] slot_json: the slot's JSON
-- ARGV[6] data_json: the loaded data's JSON ('' for none)
-- ARGV[7] loaded: '1' if the slot is loaded
-- ARGV[8] progress: the progress to raise to
-- ARGV[9] message: the job's new message
-- ARGV[10] ttl_after_update_ms: retention after this write
-- ARGV[11] margin_after_deadline_ms: retention past the deadline
-- ARGV[12] slot_status: the slot's status (for the history)
-- ARGV[13] attempts: the slot's attempts (for the history)
-- ARGV[14] attempt_started_ms: when the attempt started ('' if unknown)
-- KEYS[14] ops_hour (optional): this hour's operators' counters (hash)
-- ARGV[15] outcome_field (optional, with ops_hour): the counter to add one
--   to (`src:<source>:<outcome>`, store::ops::outcome_field)
-- ARGV[16] ops_hour_ttl_ms (optional, with ops_hour): the counters' TTL
-- Returns {'ok', summary fields} or {'lost'}: the summary (id, status,
-- progress, message, created, updated, error, completeness), not the whole
-- job: a round records 25 answers and needs none of the job back.
local now = tonumber(ARGV[3])
if not holds(KEYS[1], ARGV[2], now) then return {'lost'} end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
if ARGV[7] == '1' then
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[6]) end
else
  redis.call('HDEL', KEYS[3], ARGV[4])
end
raise_progress(KEYS[1], tonumber(ARGV[8]))
redis.call('HSET', KEYS[1], 'message', ARGV[9], 'updated', ARGV[3],
  'completeness', int(completeness(KEYS[2])))
local progress, done = progress_of(KEYS[1])
log_event(KEYS[5], {at = now, event = 'recorded', token = tonumber(ARGV[2]),
  slot = ARGV[4], slot_status = ARGV[12], attempts = tonumber(ARGV[13]),
  started_at = tonumber(ARGV[14]), progress = progress, completeness = done})
touch_job(now, tonumber(ARGV[10]), tonumber(ARGV[11]))
if KEYS[14] then
  redis.call('HINCRBY', KEYS[14], ARGV[15], 1)
  redis.call('PEXPIRE', KEYS[14], ARGV[16])
end
return {'ok', redis.call('HMGET', KEYS[1], 'id', 'status', 'progress', 'message',
  'created', 'updated', 'error', 'completeness')}
