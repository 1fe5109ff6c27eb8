-- POST /v1/placements with a new dossier number and Idempotency-Key on every request.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
   counter = counter + 1
   local id = string.format("W%s-%d-%d", run, tid, counter)
   local body = string.format('{"dossier_number":"%s","birth_date":"1990-05-17",'
      .. '"municipality":"1480","assigned_on":"2025-03-01","moved_in_on":"2025-03-03"}', id)
   return wrk.format("POST", "/v1/placements", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = id,
   }, body)
end
