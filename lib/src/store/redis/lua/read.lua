-- read.lua: a consistent snapshot of one job (read only). Called by
-- store::redis::scripts::ReadCall.
-- KEYS[1] job: the job hash
-- KEYS[2] slots: the slots hash
-- KEYS[3] data: the data hash
-- ARGV[1] with_data: '1' to include the data hash, else '0'
-- Returns {job hash, slots hash, data hash or {}} as flat field/value arrays.
local data = {}
if ARGV[1] == '1' then data = redis.call('HGETALL', KEYS[3]) end
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), data}
