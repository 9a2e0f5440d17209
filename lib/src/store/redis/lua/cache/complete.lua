-- Source cache: store a fetched answer and drop our fill lock.
-- Called by store::redis::scripts::CacheCompleteCall.
-- KEYS[1] entry: the entry hash {exp, at, v}
-- KEYS[2] fill: the fill lock "token|until_ms"
-- ARGV[1] token: the caller's token
-- ARGV[2] now_ms: now
-- ARGV[3] ttl_ms: the entry's TTL
-- ARGV[4] value: the value (JSON)
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'exp', tostring(now + ttl), 'at', tostring(now), 'v', ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.max(ttl, 1))
local l = redis.call('GET', KEYS[2])
if l and string.sub(l, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
  redis.call('DEL', KEYS[2])
end
return 'ok'
