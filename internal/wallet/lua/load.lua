-- Load. KEYS: acct, open, expiry, tenants, then one res key per reservation.
-- ARGV: tenant, currency, balance, blocked, suspended, then per reservation: id,
-- amount, charge_on_failure, created_at µs, expires_at µs. Go checked that blocked
-- is the reservations' sum.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local tenant, cur = ARGV[1], ARGV[2]
redis.call('HSET', KEYS[1], 'currency', cur, 'balance', ARGV[3], 'blocked', ARGV[4], 'suspended', ARGV[5])
redis.call('SADD', KEYS[4], tenant)
redis.call('DEL', KEYS[2]) -- a leftover of a half-finished unload would merge in
for k = 5, #KEYS do
  local j = 6 + (k - 5) * 5
  local id = ARGV[j]
  redis.call('DEL', KEYS[k]) -- a settled record's retention TTL must not apply
  redis.call('HSET', KEYS[k], 'amount', ARGV[j + 1], 'currency', cur, 'state', 'reserved', 'charged', '0',
    'charge_on_failure', ARGV[j + 2], 'created_at', ARGV[j + 3], 'expires_at', ARGV[j + 4])
  redis.call('ZADD', KEYS[2], ARGV[j + 3], id)
  redis.call('ZADD', KEYS[3], ARGV[j + 4], tenant .. '\0' .. id)
end
return {'done'}
