-- Unload. KEYS: acct, open, expiry, tenants. ARGV: tenant, res key prefix.
-- Settled reservations and credit keys stay until their TTLs: the ledger a rebuild
-- loads from already holds their effects, so a replay must still be recognised.
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[2] .. id)
  redis.call('ZREM', KEYS[3], ARGV[1] .. '\0' .. id)
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[4], ARGV[1])
return {'done'}
