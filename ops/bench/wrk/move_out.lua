-- POST /v1/placements/{id}/move-out, each request on another placement: thread t of n takes
-- BENCH_LO + t, BENCH_LO + t + n, ... (the placements were made in bulk, moved in, not out).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

lo = tonumber(os.getenv("BENCH_LO"))

function request()
   local id = lo + counter * nthreads + tid
   counter = counter + 1
   return wrk.format("POST", "/v1/placements/" .. id .. "/move-out", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = string.format("M%s-%d", run, id),
   }, '{"date":"2026-01-15","reason":"other"}')
end
