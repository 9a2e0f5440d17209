-- Upstream lease: one request in flight per upstream across instances.
-- Called by store::redis::scripts::LeaseAcquireCall.
-- KEYS[1] lease: the lease "token|until_ms" (token "cooldown" during a
--   cool-down)
-- ARGV[1] token: the caller's token
-- ARGV[2] now_ms: now
-- ARGV[3] ttl_ms: the lease's TTL
-- Returns {'ok'} | {'busy', ms_left} | {'cooldown', ms_left}.
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local l = redis.call('GET', KEYS[1])
if l then
  local sep = string.find(l, '|', 1, true)
  local untl = sep and tonumber(string.sub(l, sep + 1))
  if untl and untl > now then
    if string.sub(l, 1, sep - 1) == 'cooldown' then
      return {'cooldown', tostring(untl - now)}
    end
    return {'busy', tostring(untl - now)}
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. tostring(now + ttl), 'PX', math.max(ttl, 1))
return {'ok'}
