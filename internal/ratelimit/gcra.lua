-- GCRA for ratelimit.Redis; a copy of gcra() in ratelimit.go. All values are whole
-- microseconds, exact in Lua's doubles (ratelimit.check bounds the tolerance).
-- KEYS[1]  the bucket's key; its value is the TAT (Unix µs)
-- ARGV[1]  emission interval T = period/rate
-- ARGV[2]  burst tolerance = burst*T
-- ARGV[3]  burst
-- ARGV[4]  n, the tokens to take
-- ARGV[5]  now (Unix µs) for tests; empty in production, which uses Redis TIME
-- ARGV[6]  extra TTL in ms (tests with their own clock); 0 in production
-- Returns {allowed 0|1, retry after µs (-1 = never), remaining}.
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local now
if ARGV[5] ~= '' then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end

-- remaining is Go's max(0, (now+tolerance-at)/interval): floor of the float
-- quotient, corrected in case the division rounded up to the next integer.
local function remaining(at)
  local a = now + tolerance - at
  if a <= 0 then
    return 0
  end
  local r = math.floor(a / interval)
  if r * interval > a then
    r = r - 1
  end
  return r
end

if n > burst then
  return {0, -1, remaining(tat)}
end
local nxt = tat + n * interval
local allow_at = nxt - tolerance
if now < allow_at then
  return {0, allow_at - now, remaining(tat)}
end
if nxt > now then
  local ttl_ms = math.ceil((nxt - now) / 1000) + tonumber(ARGV[6])
  redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', ttl_ms)
end
return {1, 0, remaining(nxt)}
