-- gate_manual_retry.lua: atomic check-and-set of the manual retry throttle.
-- KEYS[1] job hash   KEYS[2] slots hash   KEYS[3] data hash   KEYS[4] due zset
-- KEYS[5] history list
-- ARGV[1] now_ms   ARGV[2] min interval ms
-- ARGV[3] ttl_after_update_ms   ARGV[4] margin_after_deadline_ms
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
