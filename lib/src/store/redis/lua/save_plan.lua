-- save_plan.lua: the checkpoint before any fetch. Stores the plan and its
-- slot order, creates the slots that do not exist yet (existing answers are
-- kept), raises progress, sets the message. Fenced. Called by
-- store::redis::scripts::SavePlanCall.
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
-- ARGV[4] plan: the plan's JSON
-- ARGV[5] slot_order: JSON array of the slots' fields, in plan order
-- ARGV[6] progress: the progress to raise to
-- ARGV[7] message: the job's new message
-- ARGV[8] ttl_after_update_ms: retention after this write
-- ARGV[9] margin_after_deadline_ms: retention past the deadline
-- ARGV[10..] slot_field, slot_json (repeated): each planned slot
-- Returns {'ok', job hash, slots hash} or {'lost'}.
local now = tonumber(ARGV[3])
if not holds(KEYS[1], ARGV[2], now) then return {'lost'} end
for i = 10, #ARGV, 2 do
  redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
end
raise_progress(KEYS[1], tonumber(ARGV[6]))
redis.call('HSET', KEYS[1], 'plan', ARGV[4], 'slot_order', ARGV[5], 'message', ARGV[7],
  'updated', ARGV[3], 'completeness', int(completeness(KEYS[2])))
local progress, done = progress_of(KEYS[1])
log_event(KEYS[5], {at = now, event = 'planned', token = tonumber(ARGV[2]),
  progress = progress, completeness = done})
touch_job(now, tonumber(ARGV[8]), tonumber(ARGV[9]))
local snap = snapshot(KEYS[1], KEYS[2])
return {'ok', snap[1], snap[2]}
