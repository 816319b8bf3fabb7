-- wrk script for scripts/bench_http.sh: POST {"input": "<random corpus message>"} bodies.
-- Environment: BENCH_CORPUS (one message per line), BENCH_OUT (file for the JSON summary, "" = none),
-- BENCH_TEMPLATE (body; {{text}} becomes a JSON string literal; default {"input": {{text}}}).
local bodies = {}
local headers = { ["Content-Type"] = "application/json" }

local function json_str(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    if c == '\n' then return '\\n' end
    if c == '\t' then return '\\t' end
    return string.format('\\u%04x', c:byte())
  end)
  return '"' .. s .. '"'
end

function init(args)
  local corpus = os.getenv("BENCH_CORPUS") or "Benchmarks/corpus/chat.txt"
  local template = os.getenv("BENCH_TEMPLATE") or '{"input": {{text}}}'
  local lines = {}
  for l in io.lines(corpus) do
    if #l > 0 then lines[#lines + 1] = json_str(l) end
  end
  assert(#lines > 0, "empty corpus " .. corpus)
  math.randomseed(os.time() + (tonumber(tostring(wrk.thread):match("0x(%x+)") or "0", 16) % 100000))
  for i = 1, math.max(4 * #lines, 2000) do
    bodies[i] = template:gsub("{{text}}", function() return lines[math.random(#lines)] end)
  end
end

function request()
  return wrk.format("POST", nil, headers, bodies[math.random(#bodies)])
end

function done(summary, latency, requests)
  local e = summary.errors
  local dur = summary.duration / 1e6
  local s = string.format(
    '{"requests": %d, "duration_s": %.3f, "rps": %.2f, "errors": %d, "non2xx": %d, "timeouts": %d, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}',
    summary.requests, dur, summary.requests / dur, e.connect + e.read + e.write + e.status + e.timeout,
    e.status, e.timeout, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3)
  local out = os.getenv("BENCH_OUT") or ""
  if out ~= "" then local f = assert(io.open(out, "w")); f:write(s, "\n"); f:close() end
end
