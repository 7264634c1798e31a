-- One sender's counters for one message; every key is in the sender's hash slot.
-- KEYS: 1 second, 2 minute, 3 hour (messages), 4 pair (this destination, hour),
--       5 destinations (HyperLogLog, hour), 6 content (hour), 7 sequential (minute),
--       8 high-cost (minute), 9 last destination, 10 known pair, 11 message id
-- ARGV: 1 destination, 2 high cost (0|1), 3 At (Unix ms), 4 replay window (ms),
--       5 new-destination window (ms), 6 sequential gap, 7 sequential window (ms)
-- Returns "sec,min,pair,unique,content,hour,seq,highcost,new"; a replayed message id
-- returns what its first run returned and counts nothing.
local prev = redis.call('GET', KEYS[11])
if prev then
  return prev
end

local dest, at = ARGV[1], tonumber(ARGV[3])
local known, gap, seqWindow = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
-- TTLs in real time; the key names carry At's window. They outlast their window by
-- minutes, because a message is counted when the firewall reaches it, which under
-- load or after a restart can be well after At: a key that expired meanwhile would
-- restart its window's count at 1.
local SEC, MIN, HOUR = 300000, 900000, 7200000

local function incr(key, ttl)
  local n = redis.call('INCR', key)
  if n == 1 then
    redis.call('PEXPIRE', key, ttl)
  end
  return n
end

local function get(key)
  return tonumber(redis.call('GET', key) or '0')
end

-- near: both are numbers of the same length (at most 15 digits, exact as doubles)
-- within gap of each other, and not the same number.
local function near(a, b)
  if #a ~= #b or #a > 15 or not string.find(a, '^%d+$') or not string.find(b, '^%d+$') then
    return false
  end
  local d = math.abs(tonumber(a) - tonumber(b))
  return d > 0 and d <= gap
end

local sec = incr(KEYS[1], SEC)
local min = incr(KEYS[2], MIN)
local hour = incr(KEYS[3], HOUR)
local pair = incr(KEYS[4], HOUR)
redis.call('PFADD', KEYS[5], dest)
if hour == 1 then
  redis.call('PEXPIRE', KEYS[5], HOUR)
end
local unique = redis.call('PFCOUNT', KEYS[5])
local content = incr(KEYS[6], HOUR)

local high
if ARGV[2] == '1' then
  high = incr(KEYS[8], MIN)
else
  high = get(KEYS[8])
end

local last = redis.call('SET', KEYS[9], ARGV[3] .. ' ' .. dest, 'PX', seqWindow * 2, 'GET')
local seq
if last then
  local sp = string.find(last, ' ', 1, true)
  if sp and math.abs(at - tonumber(string.sub(last, 1, sp - 1))) <= seqWindow
      and near(string.sub(last, sp + 1), dest) then
    seq = incr(KEYS[7], MIN)
  end
end
if not seq then
  seq = get(KEYS[7])
end

local seen = redis.call('SET', KEYS[10], ARGV[3], 'PX', known + HOUR, 'GET')
local new = 0
if not seen or at - tonumber(seen) > known then
  new = 1
end

local out = table.concat({sec, min, pair, unique, content, hour, seq, high, new}, ',')
redis.call('SET', KEYS[11], out, 'PX', ARGV[4])
return out
