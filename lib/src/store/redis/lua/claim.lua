-- claim.lua: grants a new lease with a fresh fencing token when the job is
-- not completed/failed and holds no unexpired lease; files the job at the
-- lease's expiry so a dead worker's job is resumed; a pending job is
-- filed as processing in the operators' index. Called by
-- store::redis::scripts::ClaimCall.
-- KEYS[1] job: the job hash
-- KEYS[2] slots: the slots hash
-- KEYS[3] data: the data hash
-- KEYS[4] due: the due zset
-- KEYS[5] history: the history list
-- KEYS[6] ops_jobs: the operators' index of every job (store::ops)
-- KEYS[7] ops_ids: the operators' index by id (lexical)
-- KEYS[8] ops_expiry: when each indexed job's keys expire
-- KEYS[9] ops_pending: the operators' index of pending jobs
-- KEYS[10] ops_processing: the index of processing jobs
-- KEYS[11] ops_completed: the index of completed jobs
-- KEYS[12] ops_partial: the index of partial jobs
-- KEYS[13] ops_failed: the index of failed jobs
-- ARGV[1] job_id: the job's id
-- ARGV[2] owner: the worker claiming it
-- ARGV[3] now_ms: now
-- ARGV[4] lease_exp_ms: the new lease's expiry
-- ARGV[5] ttl_after_update_ms: retention after this write
-- ARGV[6] margin_after_deadline_ms: retention past the deadline
-- Returns {'ok', token}, {'held', lease expiry ms}, {'finished', status}
-- or {'gone'}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
local now = tonumber(ARGV[3])
local f = redis.call('HMGET', KEYS[1], 'status', 'lease_exp')
if f[1] == 'completed' or f[1] == 'failed' then return {'finished', f[1]} end
if f[2] and now < (tonumber(f[2]) or 0) then return {'held', f[2]} end
local token = redis.call('HINCRBY', KEYS[1], 'fence', 1)
redis.call('HSET', KEYS[1], 'lease_owner', ARGV[2], 'lease_token', int(token),
  'lease_exp', ARGV[4], 'updated', ARGV[3])
local status = f[1]
if status == 'pending' then
  status = 'processing'
  redis.call('HSET', KEYS[1], 'status', status)
  ops_file(ARGV[1], status)
end
local progress = progress_of(KEYS[1])
log_event(KEYS[5], {at = now, event = 'claimed', token = token, job_status = status,
  progress = progress})
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
touch_job(now, tonumber(ARGV[5]), tonumber(ARGV[6]))
return {'ok', token}
