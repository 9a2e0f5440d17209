-- due.lua: confirms due candidates read with ZRANGEBYSCORE and drops those
-- whose job hash expired. The caller passes the candidates' job keys so that
-- every key the script touches is in KEYS (Upstash requires it). Called by
-- store::redis::scripts::DueCall.
-- KEYS[1] due: the due zset
-- KEYS[2..] job (repeated): each candidate's job hash
-- ARGV[1] now_ms: now
-- ARGV[2..] job_id (repeated): each candidate's id (ARGV[i] belongs to KEYS[i])
-- Returns the ids still due, in the given order.
local now = tonumber(ARGV[1])
local alive = {}
for i = 2, #KEYS do
  local id = ARGV[i]
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local score = tonumber(redis.call('ZSCORE', KEYS[1], id))
    if score and score <= now then alive[#alive + 1] = id end
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return alive
