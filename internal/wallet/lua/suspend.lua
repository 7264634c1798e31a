-- SetSuspended. KEYS: acct. ARGV: 0|1.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notloaded'} end
redis.call('HSET', KEYS[1], 'suspended', ARGV[1])
return {'done'}
