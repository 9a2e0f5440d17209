-- save_plan.lua: the checkpoint before any fetch. Stores the plan and its
-- slot order, creates the slots that do not exist yet (existing answers are
-- kept), raises progress, sets the message. Fenced.
-- KEYS[1] job hash   KEYS[2] slots hash   KEYS[3] data hash   KEYS[4] due zset
-- KEYS[5] history list
-- ARGV[1] job id   ARGV[2] token   ARGV[3] now_ms   ARGV[4] plan JSON
-- ARGV[5] slot order (JSON array of fields)   ARGV[6] progress   ARGV[7] message
-- ARGV[8] ttl_after_update_ms   ARGV[9] margin_after_deadline_ms
-- ARGV[10], ARGV[11], ...: slot field, slot JSON pairs
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
