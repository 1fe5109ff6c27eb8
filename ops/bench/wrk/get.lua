-- GET BENCH_PATH, where {id} becomes a random integer in [BENCH_LO, BENCH_HI].
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

path = os.getenv("BENCH_PATH")
lo = tonumber(os.getenv("BENCH_LO") or "1")
hi = tonumber(os.getenv("BENCH_HI") or "1")

function init(args)
   math.randomseed(1000 + tid)
end

function request()
   local p = string.gsub(path, "{id}", tostring(math.random(lo, hi)))
   return wrk.format("GET", p, { ["Authorization"] = "Bearer " .. token })
end
