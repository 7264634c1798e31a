-- Forget. KEYS: res. Drops a settled reservation's record; an open one stays.
local s = redis.call('HGET', KEYS[1], 'state')
if s and s ~= 'reserved' then redis.call('DEL', KEYS[1]) end
return {'done'}
