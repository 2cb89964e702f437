-- wrk script: POST one chat completion, again and again.
--   BENCH_KEY           the Bearer key (a virtual key, the master key, or anything for the upstream)
--   BENCH_MODEL         the model named in the body (default gpt-5-mini)
--   BENCH_STREAM=1      asks for a stream
--   BENCH_PROMPT_BYTES  pads the user message to about this many bytes (the large-prompt row)
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

local failures = 0
response = function(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n") end
  end
end
