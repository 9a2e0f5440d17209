-- spend_budget.lua: takes one unit of a day's budget of paid calls unless
-- the day's limit is reached. Standalone (common.lua is not prepended).
-- Called by store::scripts::SpendBudgetCall.
-- KEYS[1] counter: the day's counter
-- ARGV[1] limit: the day's limit
-- ARGV[2] lifetime_ms: the counter's lifetime (two days)
-- Returns {1, used} when taken (this one included) or {0, used} when spent.
local used = tonumber(redis.call('GET', KEYS[1])) or 0
if used >= tonumber(ARGV[1]) then return {0, used} end
used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, used}
