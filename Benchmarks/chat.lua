-- wrk script: POST a small chat completion with a Bearer key from $BENCH_KEY; $BENCH_STREAM=1 streams.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "bench")
local stream = os.getenv("BENCH_STREAM") == "1"
wrk.body = '{"model":"' .. (os.getenv("BENCH_MODEL") or "gpt-5-mini") .. '","messages":[{"role":"user","content":"Say hello in one short sentence."}]'
  .. (stream and ',"stream":true' or '') .. '}'

local failures = 0
response = function(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("HTTP " .. status .. ": " .. (body or "") .. "\n") end
  end
end
