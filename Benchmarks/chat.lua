-- wrk script: POST one chat completion, again and again.
--   BENCH_KEY           the Bearer key (a virtual key, the master key, or anything for the upstream)
--   BENCH_MODEL         the model named in the body (default gpt-5-mini)
--   BENCH_STREAM=1      asks for a stream
--   BENCH_PROMPT_BYTES  pads the user message to about this many bytes (the large-prompt row)
--   BENCH_EXPECT_CACHE_HIT=1  counts answers without `x-scutum-cache: hit` (the cache row) and
--                       reports them when the run ends, as "not a cache hit: N answers"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "bench")
local stream = os.getenv("BENCH_STREAM") == "1"
local content = "Say hello in one short sentence."
local padded = tonumber(os.getenv("BENCH_PROMPT_BYTES") or "0")
if padded > #content then
  -- Plain words: no escapes, and nothing a guardrail or a tokenizer finds unusual.
  local words = string.rep("lorem ipsum dolor sit amet consectetur ", math.ceil(padded / 39))
  content = content .. " " .. string.sub(words, 1, padded - #content - 1)
end
wrk.body = '{"model":"' .. (os.getenv("BENCH_MODEL") or "gpt-5-mini") .. '","messages":[{"role":"user","content":"'
  .. content .. '"}]' .. (stream and ',"stream":true' or '') .. '}'

local expect_hit = os.getenv("BENCH_EXPECT_CACHE_HIT") == "1"
local failures = 0
-- A global: done() reads each thread's count with thread:get (wrk runs response() in the threads'
-- own Lua states).
cache_misses = 0

-- wrk keeps header names as the server sent them.
local function cache_header(headers)
  for name, value in pairs(headers) do
    if string.lower(name) == "x-scutum-cache" then return string.lower(value) end
  end
  return nil
end

response = function(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n") end
  elseif expect_hit then
    local verdict = cache_header(headers)
    if verdict ~= "hit" then
      cache_misses = cache_misses + 1
      if cache_misses <= 3 then io.stderr:write("x-scutum-cache: " .. tostring(verdict) .. " (expected hit)\n") end
    end
  end
end

local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  if not expect_hit then return end
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get("cache_misses") or 0) end
  if total > 0 then io.stdout:write("not a cache hit: " .. total .. " answers\n") end
end
