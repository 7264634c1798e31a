-- Open. KEYS: acct, open. ARGV: res key prefix. Returns {'done', then id and the 7
-- reservation fields per open reservation}, oldest first (ties by id).
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notloaded'} end
local out = {'done'}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local r = redis.call('HMGET', ARGV[1] .. id, 'amount', 'currency', 'state', 'charged', 'charge_on_failure', 'created_at', 'expires_at')
  if r[1] then
    out[#out + 1] = id
    for k = 1, 7 do out[#out + 1] = r[k] end
  end
end
return out
