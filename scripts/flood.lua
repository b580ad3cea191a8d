-- wrk script for scripts/flood.sh: wrong-password sign-ins, each from a random client address
-- (X-Forwarded-For, believed because the server trusts 127.0.0.1 as its proxy) and for a random
-- username that is not on the roster, so neither the per-source limiter nor a per-account wait
-- stops it before argon2. The CSRF cookie and its form token come from one GET /login, as an
-- attacker's script would do. Prints key=value lines that flood_client.py reads.

local token = os.getenv("FLOOD_CSRF") or ""
local cookie = os.getenv("FLOOD_CSRF_COOKIE") or ""
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
  statuses = {}
end

function request()
  -- Only a header: no traffic goes to these addresses.
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  local user = string.format("C-%06d", math.random(100000, 999999))
  local pass = string.format("Wrong-%08x9!", math.random(0, 0x7fffffff))
  local body = "csrf=" .. token .. "&username=" .. user .. "&password=" .. pass
  return wrk.format("POST", "/login", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "helpline_csrf=" .. cookie,
    ["X-Forwarded-For"] = ip,
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

-- How many recorded latencies are at most `limit` microseconds: wrk's Lua API gives
-- percentiles, and percentile(100 * (r - 0.25) / count) is the r-th smallest value.
local function count_at_most(latency, count, limit)
  local lo, hi = 0, count
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if latency:percentile(100 * (mid - 0.25) / count) <= limit then
      lo = mid
    else
      hi = mid - 1
    end
  end
  return lo
end

function done(summary, latency, requests)
  local count = summary.requests - summary.errors.timeout
  local over1 = count - count_at_most(latency, count, 1000000)
  local over2 = count - count_at_most(latency, count, 2000000)
  local codes = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + n
    end
  end
  local e = summary.errors
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("duration_s=%.3f\n", summary.duration / 1e6))
  io.write(string.format("p50_ms=%.1f\n", latency:percentile(50) / 1000))
  io.write(string.format("p99_ms=%.1f\n", latency:percentile(99) / 1000))
  io.write(string.format("max_ms=%.1f\n", latency.max / 1000))
  io.write(string.format("over_1s=%d\n", over1))
  io.write(string.format("over_2s=%d\n", over2))
  io.write(string.format("socket_errors=%d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("timeouts=%d\n", e.timeout))
  for code, n in pairs(codes) do
    io.write(string.format("status_%d=%d\n", code, n))
  end
end
