-- Credit. KEYS: acct, credit key. ARGV: amount, key TTL ms.
local a = redis.call('HMGET', KEYS[1], 'currency', 'balance', 'blocked', 'suspended')
if not a[1] then return {'notloaded'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return reply('replayed', a) end
local b = add(dec(a[2]), dec(ARGV[1]))
if b[1] >= HI_MAX then return reply('overflow', a) end
a[2] = fmt(b)
redis.call('HSET', KEYS[1], 'balance', a[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return reply('done', a)
