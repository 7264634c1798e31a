-- Reserve. KEYS: acct, res, open, expiry. ARGV: id, tenant, amount, currency,
-- charge_on_failure (0|1), created_at µs, expires_at µs. A new reservation's reply
-- carries only the account: Go has the reservation.
local a = redis.call('HMGET', KEYS[1], 'currency', 'balance', 'blocked', 'suspended')
if not a[1] then return {'notloaded'} end
if a[1] ~= ARGV[4] then return reply('currency', a) end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return reply('replayed', a, redis.call('HMGET', KEYS[2], 'amount', 'currency', 'state', 'charged',
    'charge_on_failure', 'created_at', 'expires_at'))
end
if a[4] == '1' then return reply('suspended', a) end
local amt, blk = dec(ARGV[3]), dec(a[3])
if cmp(sub(dec(a[2]), blk), amt) < 0 then return reply('insufficient', a) end
a[3] = fmt(add(blk, amt))
redis.call('HSET', KEYS[1], 'blocked', a[3])
redis.call('HSET', KEYS[2], 'amount', ARGV[3], 'currency', ARGV[4], 'state', 'reserved', 'charged', '0',
  'charge_on_failure', ARGV[5], 'created_at', ARGV[6], 'expires_at', ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[2] .. '\0' .. ARGV[1])
return reply('done', a)
