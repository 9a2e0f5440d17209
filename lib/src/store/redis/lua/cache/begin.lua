-- Source cache: look up an entry, or take the fill lock (single-flight).
-- Called by store::redis::scripts::CacheBeginCall.
-- KEYS[1] entry: the entry hash {exp, at, v}
-- KEYS[2] fill: the fill lock "token|until_ms"
-- ARGV[1] token: the caller's token
-- ARGV[2] now_ms: now
-- ARGV[3] fill_ttl_ms: the fill lock's TTL
-- KEYS[3] ops_hour (optional): this hour's operators' counters (hash,
--   store::ops): a hit or a fill (a miss) adds one to its field
-- ARGV[4] hit_field (optional, with ops_hour): the hits' counter
-- ARGV[5] miss_field (optional, with ops_hour): the misses' counter
-- ARGV[6] ops_hour_ttl_ms (optional, with ops_hour): the counters' TTL
-- Returns {'hit', at_ms, value} | {'fill'} | {'wait', ms_left}.
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local function count(field)
  if KEYS[3] then
    redis.call('HINCRBY', KEYS[3], field, 1)
    redis.call('PEXPIRE', KEYS[3], ARGV[6])
  end
end
local e = redis.call('HMGET', KEYS[1], 'exp', 'at', 'v')
if e[1] and e[3] then
  if tonumber(e[1]) > now then
    count(ARGV[4])
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
count(ARGV[5])
return {'fill'}
