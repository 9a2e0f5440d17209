-- Source cache: give the fill lock back without storing (the fetch failed).
-- Called by store::redis::scripts::CacheAbandonCall.
-- KEYS[1] fill: the fill lock "token|until_ms"
-- ARGV[1] token: the caller's token
local l = redis.call('GET', KEYS[1])
if l and string.sub(l, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
  redis.call('DEL', KEYS[1])
end
return 'ok'
