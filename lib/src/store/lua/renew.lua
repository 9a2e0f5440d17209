-- renew.lua: extends a live lease and re-files the job at the new expiry.
-- KEYS[1] job hash   KEYS[2] slots hash   KEYS[3] data hash   KEYS[4] due zset
-- KEYS[5] history list
-- ARGV[1] job id   ARGV[2] token   ARGV[3] now_ms   ARGV[4] new expiry ms
-- ARGV[5] ttl_after_update_ms   ARGV[6] margin_after_deadline_ms
-- Returns {'ok'} or {'lost'}.
local now = tonumber(ARGV[3])
if not holds(KEYS[1], ARGV[2], now) then return {'lost'} end
redis.call('HSET', KEYS[1], 'lease_exp', ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
touch_job(now, tonumber(ARGV[5]), tonumber(ARGV[6]))
return {'ok'}
