-- Upstream lease: give it back; with a cool-down, nobody gets it before then.
-- Called by store::redis::scripts::LeaseReleaseCall.
-- KEYS[1] lease: the lease "token|until_ms"
-- ARGV[1] token: the caller's token
-- ARGV[2] now_ms: now
-- ARGV[3] cooldown_ms: the cool-down (0 for none)
local now = tonumber(ARGV[2])
local cool = tonumber(ARGV[3])
local l = redis.call('GET', KEYS[1])
if l and string.sub(l, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
  if cool > 0 then
    redis.call('SET', KEYS[1], 'cooldown|' .. tostring(now + cool), 'PX', cool)
  else
    redis.call('DEL', KEYS[1])
  end
end
return 'ok'
