-- rate_limit.lua: one hit against several sliding windows at once, the
-- algorithm of Upstash's ratelimit library (upstash/ratelimit-js,
-- src/lua-scripts/single/sliding-window.ts): a window's count is its
-- current bucket plus floor((1 - (now % w) / w) * previous bucket). When any
-- window is already at its limit nothing is counted; else every window's
-- current bucket is incremented, and a new bucket lives 2 w + 1 s.
-- Standalone (common.lua is not prepended). Called by
-- store::redis::scripts::RateLimitCall; window i is KEYS[2i-1] and KEYS[2i], with
-- its limit and length in ARGV[2i] and ARGV[2i+1].
-- KEYS[1..] current, previous (repeated): each window's current and
--   previous bucket
-- ARGV[1] now_ms: now
-- ARGV[2..] limit, window_ms (repeated): each window's limit and length
-- Returns {1, cur_1, prev_1, cur_2, prev_2, ...} (counts after the hit) or
-- {0, i, cur_i, prev_i} for the first window i that refused.
local now = tonumber(ARGV[1])
local n = #KEYS / 2
local counts = {}
for i = 1, n do
  local cur = tonumber(redis.call('GET', KEYS[2 * i - 1])) or 0
  local prev = tonumber(redis.call('GET', KEYS[2 * i])) or 0
  local limit = tonumber(ARGV[2 * i])
  local w = tonumber(ARGV[2 * i + 1])
  -- Integers below 2^53 throughout, so this equals store::limits::weighted.
  local weighted = math.floor(prev * (w - now % w) / w) + cur
  if weighted >= limit then return {0, i - 1, cur, prev} end
  counts[i] = {cur, prev, w}
end
local out = {1}
for i = 1, n do
  local v = redis.call('INCR', KEYS[2 * i - 1])
  if v == 1 then
    redis.call('PEXPIRE', KEYS[2 * i - 1], string.format('%d', counts[i][3] * 2 + 1000))
  end
  out[#out + 1] = v
  out[#out + 1] = counts[i][2]
end
return out
