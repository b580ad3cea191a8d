-- wrk script for scripts/voice_bench.sh: posts pre-signed Twilio webhooks, each one once.
-- VOICE_BENCH_REQUESTS names a file of SIGNATURE<TAB>BODY lines (voice_bench.py sign); thread
-- t of n (VOICE_BENCH_THREADS, wrk's -t) takes lines t, t + n, t + 2n, … and formats them all before the run starts, so the
-- client does no work per request but hand over a ready string. A thread that runs out
-- starts its lines again (those calls are then retries, which are cheaper); `wrapped` counts
-- it and voice_bench.sh reports it.

local path = os.getenv("VOICE_BENCH_REQUESTS")
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("VOICE_BENCH_THREADS")) or 1
  reqs = {}
  local i = 0
  for line in io.lines(path) do
    if i % n == tid then
      local sig, body = line:match("^([^\t]*)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = sig,
      }, body)
    end
    i = i + 1
  end
  nxt = 0
  wrapped = 0
end

function request()
  nxt = nxt + 1
  if nxt > #reqs then
    nxt = 1
    wrapped = wrapped + 1
  end
  return reqs[nxt]
end

function done(summary, latency, requests)
  local w = 0
  for _, thread in ipairs(threads) do
    w = w + thread:get("wrapped")
  end
  io.write(string.format("wrapped=%d\n", w))
end
