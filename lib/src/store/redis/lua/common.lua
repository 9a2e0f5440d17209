-- common.lua: helpers prepended to every job script of this directory (it
-- has no KEYS or ARGV of its own), after the constants that
-- store::redis::scripts::prelude generates from Rust: HISTORY_LIMIT
-- (store::HISTORY_LIMIT) and MIN_TTL_MS (store::MIN_TTL_MS). Instants are
-- epoch milliseconds, durations milliseconds.
-- A job lives in three hashes and a list: the job itself (scalar fields), `:slots` (field `home_id/source` -> slot JSON, with
-- `_next_ms` added for missing slots that have a next attempt), `:data`
-- (loaded data JSON) and `:history` (one JSON entry per committed
-- transition, see model::HistoryEntry).
--
-- Job scripts get the job's keys in the order store::redis::JobKeys
-- passes them (store::redis::scripts::JobKeys): KEYS[1] job hash, KEYS[2] slots hash, KEYS[3] data hash,
-- KEYS[4] due zset, KEYS[5] history list, KEYS[6..13] the operators' index.

-- Integers as exact decimal strings (Lua 5.1 numbers are doubles).
local function int(x)
  return string.format('%d', x)
end

-- Mirrors store::retention_ms: TTL after a write at now_ms.
local function retention_ms(ttl_after_ms, margin_ms, deadline_ms, now_ms)
  local ttl = ttl_after_ms
  local until_deadline = deadline_ms + margin_ms - now_ms
  if until_deadline > ttl then ttl = until_deadline end
  if ttl < MIN_TTL_MS then ttl = MIN_TTL_MS end
  return ttl
end

-- Gives the job's keys that exist the TTL, and extends (never shortens) the
-- due index's TTL to at least that: it also files other jobs.
local function touch(job_keys, due_key, ttl)
  for _, k in ipairs(job_keys) do
    redis.call('PEXPIRE', k, int(ttl))
  end
  if redis.call('EXISTS', due_key) == 1 then
    local cur = redis.call('PTTL', due_key)
    if cur < ttl then redis.call('PEXPIRE', due_key, int(ttl)) end
  end
end

-- The operators' index (store::ops), KEYS[6..13] of every job script:
-- KEYS[6] every live job and KEYS[9..13] one per status (zsets id ->
-- created ms), KEYS[7] every id (zset, score 0: lexical, for id prefix
-- search), KEYS[8] when each job's keys expire (zset id -> ms), so that
-- ops_prune.lua can drop expired jobs without a scan.
local OPS_STATUS_KEY = {pending = 9, processing = 10, completed = 11,
  partial = 12, failed = 13}

-- Extends (never shortens) a shared key's TTL to at least ttl.
local function extend(key, ttl)
  if redis.call('EXISTS', key) == 1 then
    local cur = redis.call('PTTL', key)
    if cur < ttl then redis.call('PEXPIRE', key, int(ttl)) end
  end
end

-- Files job `id` (its hash is KEYS[1]) under `status`, and out of every
-- other status.
local function ops_file(id, status)
  local created = redis.call('HGET', KEYS[1], 'created') or '0'
  redis.call('ZADD', KEYS[6], created, id)
  redis.call('ZADD', KEYS[7], 0, id)
  for st, i in pairs(OPS_STATUS_KEY) do
    if st == status then
      redis.call('ZADD', KEYS[i], created, id)
    else
      redis.call('ZREM', KEYS[i], id)
    end
  end
end

-- Removes job `id` from every operators' index.
local function ops_remove(id)
  for i = 6, 13 do redis.call('ZREM', KEYS[i], id) end
end

-- Notes when job `id`'s keys expire (now_ms + ttl) and keeps the indexes
-- holding it alive at least as long.
local function ops_touch(id, status, now_ms, ttl)
  redis.call('ZADD', KEYS[8], int(now_ms + ttl), id)
  for _, i in ipairs({6, 7, 8, OPS_STATUS_KEY[status]}) do
    if i then extend(KEYS[i], ttl) end
  end
end

-- Refreshes the TTL of the job's keys (KEYS[1..5] of a fenced script)
-- after a write at now_ms, and the operators' index of it.
local function touch_job(now_ms, ttl_after_ms, margin_ms)
  local f = redis.call('HMGET', KEYS[1], 'deadline', 'status', 'id')
  local deadline = tonumber(f[1]) or now_ms
  local ttl = retention_ms(ttl_after_ms, margin_ms, deadline, now_ms)
  touch({KEYS[1], KEYS[2], KEYS[3], KEYS[5]}, KEYS[4], ttl)
  if f[3] then ops_touch(f[3], f[2], now_ms, ttl) end
end

-- Appends one history entry (a table in model::HistoryEntry's shape; nil
-- fields are left out) and keeps only the newest HISTORY_LIMIT.
local function log_event(history_key, entry)
  redis.call('RPUSH', history_key, cjson.encode(entry))
  redis.call('LTRIM', history_key, -HISTORY_LIMIT, -1)
end

-- The job's stored progress and completeness, for history entries.
local function progress_of(job_key)
  local f = redis.call('HMGET', job_key, 'progress', 'completeness')
  return tonumber(f[1]), tonumber(f[2])
end

-- Whether `token` is the job's current lease and it is unexpired at now_ms.
local function holds(job_key, token, now_ms)
  local f = redis.call('HMGET', job_key, 'lease_token', 'lease_exp')
  if not f[1] or f[1] ~= token then return false end
  local exp = tonumber(f[2])
  return exp ~= nil and now_ms < exp
end

-- Decoded slots; undecodable ones are skipped here (reads report them).
local function slots(slots_key)
  local out = {}
  for _, v in ipairs(redis.call('HVALS', slots_key)) do
    local ok, s = pcall(cjson.decode, v)
    if ok and type(s) == 'table' then out[#out + 1] = s end
  end
  return out
end

-- Mirrors model::completeness.
local function completeness(slots_key)
  local expected, done = 0, 0
  for _, s in ipairs(slots(slots_key)) do
    if s.status ~= 'not_configured' then
      expected = expected + 1
      if s.status == 'loaded' or s.status == 'not_found' then done = done + 1 end
    end
  end
  if expected == 0 then return 100 end
  return math.floor(done * 100 / expected)
end

-- Mirrors store::refile_score: files the job in the due index after a round
-- ends, or removes it.
local function refile(job_key, slots_key, due_key, id, now_ms)
  local f = redis.call('HMGET', job_key, 'status', 'auto_retry', 'deadline')
  local status, auto, deadline = f[1], f[2], tonumber(f[3]) or now_ms
  local score = nil
  if status == 'pending' or status == 'processing' then
    score = now_ms
  elseif status == 'partial' and auto == '1' then
    score = deadline
    for _, s in ipairs(slots(slots_key)) do
      if s.status == 'missing' and type(s._next_ms) == 'number' and s._next_ms < score then
        score = s._next_ms
      end
    end
  end
  if score then
    redis.call('ZADD', due_key, int(score), id)
  else
    redis.call('ZREM', due_key, id)
  end
end

-- Raises a progress field to `p` (never lowers it).
local function raise_progress(job_key, p)
  local old = tonumber(redis.call('HGET', job_key, 'progress')) or 0
  if p > old then redis.call('HSET', job_key, 'progress', int(p)) end
end

-- The job as reads return it: {job hash, slots hash}.
local function snapshot(job_key, slots_key)
  return {redis.call('HGETALL', job_key), redis.call('HGETALL', slots_key)}
end
