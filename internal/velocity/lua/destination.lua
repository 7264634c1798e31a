-- The tenant-wide count of one destination in one minute, in that destination's hash
-- slot (not the sender's, hence a script of its own).
-- KEYS: 1 minute counter, 2 message id   ARGV: 1 replay window (ms)
-- A replayed message id returns what its first run returned and counts nothing.
local prev = redis.call('GET', KEYS[2])
if prev then
  return tonumber(prev)
end
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], 900000)
end
redis.call('SET', KEYS[2], n, 'PX', ARGV[1])
return n
