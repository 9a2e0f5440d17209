-- Source cache: look up an entry, or take the fill lock (single-flight).
-- Called by store::scripts::CacheBeginCall.
-- KEYS[1] entry: the entry hash {exp, at, v}
-- KEYS[2] fill: the fill lock "token|until_ms"
-- ARGV[1] token: the caller's token
-- ARGV[2] now_ms: now
-- ARGV[3] fill_ttl_ms: the fill lock's TTL
-- Returns {'hit', at_ms, value} | {'fill'} | {'wait', ms_left}.
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local e = redis.call('HMGET', KEYS[1], 'exp', 'at', 'v')
if e[1] and e[3] then
  if tonumber(e[1]) > now then
    return {'hit', e[2], e[3]}
  end
  redis.call('DEL', KEYS[1])
end
local l = redis.call('GET', KEYS[2])
if l then
  local sep = string.find(l, '|', 1, true)
  if sep then
    local holder = string.sub(l, 1, sep - 1)
    local untl = tonumber(string.sub(l, sep + 1))
    if untl and untl > now and holder ~= ARGV[1] then
      return {'wait', tostring(untl - now)}
    end
  end
end
redis.call('SET', KEYS[2], ARGV[1] .. '|' .. tostring(now + ttl), 'PX', math.max(ttl, 1))
return {'fill'}
