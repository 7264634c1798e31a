-- Exact decimals for the wallet scripts (prepended to each of them). An amount is a
-- non-negative decimal string with at most 20 integer and 18 fractional digits; as a
-- number it is the 38-digit integer amount*1e18, held as three limbs base 1e15
-- {hi, mid, lo}. Every limb and every sum of two limbs is below 2^53, so Lua's
-- doubles hold them exactly; a float never sees an amount.
local E15 = 1e15
local HI_MAX = 1e8 -- hi < 1e8 keeps the value below 1e38, i.e. 20 integer digits

-- dec parses an amount; Go only ever passes ledger.Format strings, and the stored
-- ones come from fmt. The limbs: lo is the last 15 fractional digits; mid the last
-- 12 integer digits then the first 3 fractional ones; hi the integer digits before.
-- Padding the fraction to 18 digits is a multiplication by a power of ten: 10^k is
-- exact (2^k*5^k, 5^18 < 2^53, and pow is exact when the result is representable),
-- and so is the product, an integer below 1e15.
local function dec(s)
  local dot = string.find(s, '.', 1, true)
  local i, f = s, nil
  if dot then i, f = string.sub(s, 1, dot - 1), string.sub(s, dot + 1) end
  local n, m = #i, f and #f or 0
  if n == 0 or n > 20 or m > 18 then error('wallet: not a storable amount: ' .. s) end
  local hi, fh, lo = 0, 0, 0
  if m > 3 then
    fh, lo = tonumber(string.sub(f, 1, 3)), tonumber(string.sub(f, 4)) * 10 ^ (18 - m)
  elseif m > 0 then
    fh = tonumber(f) * 10 ^ (3 - m)
  end
  if n > 12 then
    hi, i = tonumber(string.sub(i, 1, n - 12)), string.sub(i, n - 11)
  end
  local mid = tonumber(i)
  if not (hi and mid and fh and lo) then error('wallet: not a storable amount: ' .. s) end
  return {hi, mid * 1000 + fh, lo}
end

local function add(a, b)
  local lo, mid, hi = a[3] + b[3], a[2] + b[2], a[1] + b[1]
  if lo >= E15 then lo = lo - E15; mid = mid + 1 end
  if mid >= E15 then mid = mid - E15; hi = hi + 1 end
  return {hi, mid, lo}
end

-- sub returns a-b; a negative result means corrupt data: the script fails.
local function sub(a, b)
  local lo, mid, hi = a[3] - b[3], a[2] - b[2], a[1] - b[1]
  if lo < 0 then lo = lo + E15; mid = mid - 1 end
  if mid < 0 then mid = mid + E15; hi = hi - 1 end
  if hi < 0 then error('wallet: negative amount') end
  return {hi, mid, lo}
end

local function cmp(a, b)
  for k = 1, 3 do
    if a[k] ~= b[k] then
      if a[k] < b[k] then return -1 end
      return 1
    end
  end
  return 0
end

-- fmt is Go's ledger.Format: no exponent, no trailing fractional zeros, "0" for zero.
-- %d prints a C long: 64 bits, exact for every limb.
local function fmt(a)
  local hi, mid, lo = a[1], a[2], a[3]
  local fh = mid % 1000
  local ip = (mid - fh) / 1000
  local s
  if hi > 0 then s = string.format('%d%012d', hi, ip) else s = string.format('%d', ip) end
  if lo == 0 then
    if fh == 0 then return s end
    if fh % 100 == 0 then return s .. '.' .. string.format('%d', fh / 100) end
    if fh % 10 == 0 then return s .. '.' .. string.format('%02d', fh / 10) end
    return s .. '.' .. string.format('%03d', fh)
  end
  local k = 15
  while lo % 10 == 0 do lo, k = lo / 10, k - 1 end
  return s .. '.' .. string.format('%03d%0' .. k .. 'd', fh, lo)
end

-- Field lists are spelled out in each HMGET: the script body runs on every call,
-- so every table and closure here costs every call.
-- reply is every script's answer: {outcome, account (4 fields), reservation (7 fields) or nothing}.
local function reply(outcome, a, r)
  local out = {outcome, a[1], a[2], a[3], a[4]}
  if r then
    for k = 1, 7 do out[k + 5] = r[k] end
  end
  return out
end

