-- ops_prune.lua: drops from the operators' index (store::ops) the jobs
-- whose keys expired, read by the caller from the expiry index with
-- ZRANGEBYSCORE. Each candidate's job hash is checked: a job that still
-- exists (another instance's clock, or written since) is re-filed at its
-- real expiry instead. The caller passes the candidates' job keys so that
-- every key the script touches is in KEYS (Upstash requires it). Standalone.
-- Called by store::redis::scripts::OpsPruneCall.
-- KEYS[1] ops_jobs: the operators' index of every job
-- KEYS[2] ops_ids: the operators' index by id
-- KEYS[3] ops_expiry: when each indexed job's keys expire
-- KEYS[4] ops_pending: the index of pending jobs
-- KEYS[5] ops_processing: the index of processing jobs
-- KEYS[6] ops_completed: the index of completed jobs
-- KEYS[7] ops_partial: the index of partial jobs
-- KEYS[8] ops_failed: the index of failed jobs
-- KEYS[9..] job (repeated): each candidate's job hash
-- ARGV[1] now_ms: now
-- ARGV[2..] job_id (repeated): each candidate's id, in the order of the
--   job keys
-- Returns how many jobs were dropped.
local now = tonumber(ARGV[1])
local dropped = 0
for i = 9, #KEYS do
  local id = ARGV[i - 7]
  if redis.call('EXISTS', KEYS[i]) == 1 then
    -- A key without a TTL (none is written so) is looked at again in an hour.
    local left = redis.call('PTTL', KEYS[i])
    if left <= 0 then left = 3600000 end
    redis.call('ZADD', KEYS[3], string.format('%d', now + left), id)
  else
    for k = 1, 8 do redis.call('ZREM', KEYS[k], id) end
    dropped = dropped + 1
  end
end
return dropped
