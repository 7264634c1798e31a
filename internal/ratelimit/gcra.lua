-- GCRA for ratelimit.Redis; a copy of gcra() and gcraAll() in ratelimit.go. All
-- values are whole microseconds, exact in Lua's doubles (ratelimit.check bounds the
-- tolerance). One call decides every key at one instant, all-or-nothing: a key is
-- written only when every key allows its request.
-- KEYS[i]          a bucket's key; its value is the TAT (Unix µs)
-- ARGV[1]          now (Unix µs) for tests; empty in production, which uses Redis TIME
-- ARGV[2]          extra TTL in ms (tests with their own clock); 0 in production
-- ARGV[3+4(i-1)..] per key: emission interval T = period/rate, burst tolerance =
--                  burst*T, burst, n (the tokens to take)
-- Returns {allowed 0|1, retry after µs (-1 = never), remaining, refused index
-- (0-based, -1 = none)}.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- remaining is Go's max(0, (now+tolerance-at)/interval): floor of the float
-- quotient, corrected in case the division rounded up to the next integer.
local function remaining(at, interval, tolerance)
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

-- gcra returns {allowed, retry after, remaining} and the new TAT of one key.
local function gcra(i)
  local base = 3 + 4 * (i - 1)
  local interval = tonumber(ARGV[base])
  local tolerance = tonumber(ARGV[base + 1])
  local burst = tonumber(ARGV[base + 2])
  local n = tonumber(ARGV[base + 3])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then
    tat = now
  end
  if n > burst then
    return {0, -1, remaining(tat, interval, tolerance)}, tat
  end
  local nxt = tat + n * interval
  local allow_at = nxt - tolerance
  if now < allow_at then
    return {0, allow_at - now, remaining(tat, interval, tolerance)}, tat
  end
  return {1, 0, remaining(nxt, interval, tolerance)}, nxt
end

local d
local refused = -1
local nexts = {}
for i = 1, #KEYS do
  local di, nxt = gcra(i)
  nexts[i] = nxt
  if di[1] == 0 and (refused < 0 or (d[2] ~= -1 and (di[2] == -1 or di[2] > d[2]))) then
    d, refused = di, i - 1
  elseif refused < 0 and (i == 1 or di[3] < d[3]) then
    d = di
  end
end
if refused >= 0 then
  return {d[1], d[2], d[3], refused}
end
for i = 1, #KEYS do
  if nexts[i] > now then
    local ttl_ms = math.ceil((nexts[i] - now) / 1000) + tonumber(ARGV[2])
    redis.call('SET', KEYS[i], string.format('%.0f', nexts[i]), 'PX', ttl_ms)
  end
end
return {1, 0, d[3], -1}
