-- record.lua: one slot's new state (and its data when loaded), with
-- completeness recomputed from every slot, progress raised (never lowered)
-- and the message, in one step. Fenced. Called by
-- store::scripts::RecordCall.
-- KEYS[1] job: the job hash
-- KEYS[2] slots: the slots hash
-- KEYS[3] data: the data hash
-- KEYS[4] due: the due zset
-- KEYS[5] history: the history list
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
return {'ok', redis.call('HMGET', KEYS[1], 'id', 'status', 'progress', 'message',
  'created', 'updated', 'error', 'completeness')}
