-- Shared by the wrk scripts of ops/bench/run: thread numbers, status counts, a summary.
-- Each script does dofile() on this file, then defines request().
-- Environment: BENCH_TOKEN (bearer token), BENCH_RUN (a prefix unique to this wrk run).

token = os.getenv("BENCH_TOKEN") or ""
run = os.getenv("BENCH_RUN") or "r"

local threads = {}
local nthreads = 0

-- Main state: number the threads (tid, nthreads) and keep them for done().
function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
   for _, t in ipairs(threads) do
      t:set("nthreads", nthreads)
   end
end

-- Thread state.
counter = 0
statuses = {}

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

-- Main state: print the status counts and the failures (anything but 2xx) for ops/bench/run.
function done(summary, latency, requests)
   local all = {}
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      for code, n in pairs(s) do
         all[code] = (all[code] or 0) + n
      end
   end
   local bad = 0
   local codes = {}
   for code, n in pairs(all) do
      table.insert(codes, code)
      if code < 200 or code > 299 then
         bad = bad + n
      end
   end
   table.sort(codes)
   for _, code in ipairs(codes) do
      io.write(string.format("bench_status %d %d\n", code, all[code]))
   end
   local e = summary.errors
   io.write(string.format("bench_requests %d\n", summary.requests))
   io.write(string.format("bench_non2xx %d\n", bad))
   io.write(string.format("bench_socket_errors %d\n",
                          e.connect + e.read + e.write + e.timeout))
   io.write(string.format("bench_p50_us %d\n", latency:percentile(50)))
   io.write(string.format("bench_p99_us %d\n", latency:percentile(99)))
   io.write(string.format("bench_rps %.1f\n", summary.requests / (summary.duration / 1e6)))
end
