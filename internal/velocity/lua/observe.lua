-- One message's counters; every key carries the tenant's hash tag (one slot).
-- KEYS: 1 replay records (tenant, At's second: record id → counts)
--       2 sender's minute (hash: n, s<second>, q sequential, x high cost)
--       3 sender's hour (hash: n, p<dest> and c<hash> repeats past the first)
--       4 sender's hour destinations (HyperLogLog)
--       5 sender's hour Bloom filter (destinations and contents seen this hour)
--       6 sender's long-lived hash: l ("At(ms) destination" of the previous message),
--         generation → items in that known-destination Bloom filter
--       7 tenant's minute to destinations (hash: n, d<dest> repeats past the first)
--       8 tenant's minute Bloom filter (destinations seen this minute)
--       9..12 sender's known destinations, Bloom filters of generations G, G-1, G-2, G-3
--       (KEYS[6] holds their sizes)
-- ARGV: 1 destination, 2 high cost (0|1), 3 At (Unix ms), 4 replay window (ms),
--       5 sequential gap, 6 sequential window (ms), 7 second field (s<0..59>),
--       8 record id (8 bytes: hash of sender and message id),
--       9, 10 destination's hash halves, 11, 12 content's hash halves,
--       13 content field (c<hex>), 14..17 generations G..G-3, 18 generation lifetime (ms)
-- Returns sec, min, pair, unique, content, hour, seq, high, new, dpm as unsigned
-- varints (Go's binary.Uvarint; most are one byte, which keeps the replay records
-- small); a replayed message (same sender, id and At) returns what its first run
-- returned and counts nothing.
local prev = redis.call('HGET', KEYS[1], ARGV[8])
if prev then
  return prev
end

local dest, at = ARGV[1], tonumber(ARGV[3])
local gap, seqWindow = tonumber(ARGV[5]), tonumber(ARGV[6])
local dh1, dh2 = tonumber(ARGV[9]), tonumber(ARGV[10])
local ch1, ch2 = tonumber(ARGV[11]), tonumber(ARGV[12])
-- TTLs in real time; key names carry At's window. They outlast their window by
-- minutes, because a message is counted when the firewall reaches it, which under
-- load or after a restart can be well after At: a key that expired meanwhile would
-- restart its window's count at 1.
local MIN, HOUR = 900000, 7200000

-- A scalable Bloom filter in one string: segment j holds SEG*2^j items in
-- SEG*2^j*BITS bits from bit SEG*BITS*(2^j-1), so the string grows with what it
-- holds. n (the items so far, or a bound on them) names the last segment; a lookup
-- reads every segment up to it. K probes, BITS bits per item: about 0.01% false
-- positives per full segment, so about 0.1% once a dozen segments are full. Bit
-- offsets stay below Redis's 2^32 up to segment 21: 2^28 items in one window.
local SEG, BITS, K = 64, 20, 10
local function lastSegment(n, seg)
  local j, cap = 0, seg
  while n >= cap do
    j = j + 1
    cap = cap + seg * 2 ^ j
  end
  return j
end

-- bloom reports whether the item (h1, h2) may be in the filter at key, which holds
-- at most n items, and adds it to the last segment when it is not and add is set.
local function bloom(key, seg, n, h1, h2, add, ttl)
  local last = lastSegment(n, seg)
  -- Newest segment first, one GETBIT at a time: an absent item usually shows a zero
  -- within a probe or two, cheaper than reading all K.
  for j = last, 0, -1 do
    local m, base = seg * BITS * 2 ^ j, seg * BITS * (2 ^ j - 1)
    local all = true
    for i = 0, K - 1 do
      if redis.call('GETBIT', key, base + (h1 + i * h2) % m) == 0 then
        all = false
        break
      end
    end
    if all then
      return true
    end
  end
  if add then
    local m, base = seg * BITS * 2 ^ last, seg * BITS * (2 ^ last - 1)
    for i = 0, K - 1 do
      redis.call('SETBIT', key, base + (h1 + i * h2) % m, 1)
    end
    if n == 0 or redis.call('PTTL', key) < 0 then
      redis.call('PEXPIRE', key, ttl)
    end
  end
  return false
end

-- count adds one to a window hash's message count, giving the hash its TTL.
local function count(key, ttl)
  local n = redis.call('HINCRBY', key, 'n', 1)
  if n == 1 then
    redis.call('PEXPIRE', key, ttl)
  end
  return n
end

local function hget(key, field)
  return tonumber(redis.call('HGET', key, field) or '0')
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

-- The sender's second and minute: one hash per minute.
local min = count(KEYS[2], MIN)
local sec = redis.call('HINCRBY', KEYS[2], ARGV[7], 1)

-- The hour. A destination or content seen for the first time this hour is only a
-- Bloom filter entry; from its second message on it has an exact counter too.
local hour = count(KEYS[3], HOUR)
local pair, content = 1, 1
if bloom(KEYS[5], SEG, 2 * (hour - 1), dh1, dh2, true, HOUR) then
  pair = 1 + redis.call('HINCRBY', KEYS[3], 'p' .. dest, 1)
end
if bloom(KEYS[5], SEG, 2 * hour - 1, ch1, ch2, true, HOUR) then
  content = 1 + redis.call('HINCRBY', KEYS[3], ARGV[13], 1)
end
redis.call('PFADD', KEYS[4], dest)
if hour == 1 then
  redis.call('PEXPIRE', KEYS[4], HOUR)
end
local unique = redis.call('PFCOUNT', KEYS[4])

local high
if ARGV[2] == '1' then
  high = redis.call('HINCRBY', KEYS[2], 'x', 1)
else
  high = hget(KEYS[2], 'x')
end

local last = redis.call('HGET', KEYS[6], 'l')
redis.call('HSET', KEYS[6], 'l', ARGV[3] .. ' ' .. dest)
local seq
if last then
  local sp = string.find(last, ' ', 1, true)
  if sp and math.abs(at - tonumber(string.sub(last, 1, sp - 1))) <= seqWindow
      and near(string.sub(last, sp + 1), dest) then
    seq = redis.call('HINCRBY', KEYS[2], 'q', 1)
  end
end
if not seq then
  seq = hget(KEYS[2], 'q')
end

-- Known destinations: one Bloom filter per generation; known when in this one or
-- one of the three before. Only the current generation grows.
local sizes = redis.call('HMGET', KEYS[6], ARGV[14], ARGV[15], ARGV[16], ARGV[17])
local known = false
for g = 4, 2, -1 do
  local n = tonumber(sizes[g] or '0')
  if n > 0 and bloom(KEYS[8 + g], SEG, n, dh1, dh2, false, 0) then
    known = true
    break
  end
end
local life = tonumber(ARGV[18])
if bloom(KEYS[9], SEG, tonumber(sizes[1] or '0'), dh1, dh2, true, life) then
  known = true
else
  redis.call('HINCRBY', KEYS[6], ARGV[14], 1)
  redis.call('HDEL', KEYS[6], tostring(tonumber(ARGV[17]) - 1))
end
if redis.call('PTTL', KEYS[6]) < life - 86400000 then
  redis.call('PEXPIRE', KEYS[6], life) -- at most once a day: it outlives the filters
end
local new = 1
if known then
  new = 0
end

-- The tenant's minute to this destination, any sender.
local tmin = count(KEYS[7], MIN)
local dpm = 1
if bloom(KEYS[8], SEG, tmin - 1, dh1, dh2, true, MIN) then
  dpm = 1 + redis.call('HINCRBY', KEYS[7], 'd' .. dest, 1)
end

local function uvarint(n)
  local b = {}
  while n >= 128 do
    b[#b + 1] = string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  b[#b + 1] = string.char(n)
  return table.concat(b)
end
local out = {}
for i, n in ipairs({sec, min, pair, unique, content, hour, seq, high, new, dpm}) do
  out[i] = uvarint(n)
end
out = table.concat(out)
redis.call('HSET', KEYS[1], ARGV[8], out)
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
end
return out
