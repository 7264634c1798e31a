-- Commit or Release. KEYS: acct, res, open, expiry. ARGV: id, tenant,
-- 'committed'|'released', charged (commit only), retention ms.
local a = redis.call('HMGET', KEYS[1], 'currency', 'balance', 'blocked', 'suspended')
if not a[1] then return {'notloaded'} end
local r = redis.call('HMGET', KEYS[2], 'amount', 'currency', 'state', 'charged', 'charge_on_failure', 'created_at', 'expires_at')
if not r[1] then return reply('unknown', a) end
local to = ARGV[3]
if r[3] ~= 'reserved' then
  if r[3] == to then return reply('replayed', a, r) end
  return reply('settled', a, r)
end
local amt = dec(r[1])
local charged = '0'
if to == 'committed' then
  local c = dec(ARGV[4])
  if cmp(c, amt) > 0 then return reply('overcharge', a, r) end
  charged = ARGV[4]
  a[2] = fmt(sub(dec(a[2]), c))
end
a[3] = fmt(sub(dec(a[3]), amt))
redis.call('HSET', KEYS[1], 'balance', a[2], 'blocked', a[3])
r[3], r[4] = to, charged
redis.call('HSET', KEYS[2], 'state', to, 'charged', charged)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[2] .. '\0' .. ARGV[1])
return reply('done', a, r)
