-- spend_budget.lua: takes one unit of a day's budget of paid calls unless
-- the day's limit is reached, and with a client's counter one unit of that
-- client's share too unless its share is reached (both or neither).
-- Standalone (common.lua is not prepended).
-- Called by store::redis::scripts::SpendBudgetCall.
-- KEYS[1] counter: the day's counter
-- KEYS[2] client_counter (optional): the client's counter of that day
-- ARGV[1] limit: the day's limit
-- ARGV[2] lifetime_ms: the counters' lifetime (two days)
-- ARGV[3] client_limit (optional, with client_counter): the client's share
-- Returns {1, used} when taken (this one included), {0, used} when the day
-- is spent, or {2, client's used} when the client's share is spent.
local used = tonumber(redis.call('GET', KEYS[1])) or 0
if used >= tonumber(ARGV[1]) then return {0, used} end
if KEYS[2] then
  local mine = tonumber(redis.call('GET', KEYS[2])) or 0
  if mine >= tonumber(ARGV[3]) then return {2, mine} end
  mine = redis.call('INCR', KEYS[2])
  if mine == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
end
used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, used}
