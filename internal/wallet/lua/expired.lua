-- Expired. KEYS: expiry. ARGV: now µs, limit, key prefix. Returns {'done', then
-- tenant, id and the 7 reservation fields per reservation}, soonest first. Members
-- whose reservation is gone or settled (leftovers) are removed on the way.
local limit = tonumber(ARGV[2])
local out, found = {'done'}, 0
while found < limit do
  local ms = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', found, limit - found)
  if #ms == 0 then break end
  local stale = 0
  for _, m in ipairs(ms) do
    local z = string.find(m, '\0', 1, true)
    local tenant, id = string.sub(m, 1, z - 1), string.sub(m, z + 1)
    local r = redis.call('HMGET', ARGV[3] .. '{' .. tenant .. '}:res:' .. id, 'amount', 'currency', 'state', 'charged', 'charge_on_failure', 'created_at', 'expires_at')
    if r[1] and r[3] == 'reserved' then
      found = found + 1
      out[#out + 1] = tenant
      out[#out + 1] = id
      for k = 1, 7 do out[#out + 1] = r[k] end
    else
      redis.call('ZREM', KEYS[1], m)
      stale = stale + 1
    end
  end
  if stale == 0 then break end
end
return out
