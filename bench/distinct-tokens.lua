-- wrk script: a different pre-minted token on every request (TOKENS_FILE, one per line). Use with -t1.
-- Each token is sent once; when the list is used up the thread stops, so no proxy can answer from a cache.
-- wrk's own "Requests/sec" divides by the full -d duration even when the thread stopped early, so this script
-- times its own run (wall clock via `date`, read twice per run) and prints "Distinct requests/sec: N".
local path = os.getenv("TOKENS_FILE") or "tokens.txt"
local tokens = {}
for line in io.lines(path) do
  if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
end
local n = #tokens
local sent, done_count = 0, 0
local headers = {}
t_start, t_end, completed = 0, 0, 0

local function now_ns()
  local f = io.popen("date +%s%N")
  local v = tonumber(f:read("*l"))
  f:close()
  return v
end

function init(args)
  t_start = now_ns()
end

function request()
  sent = sent + 1
  -- Note: past the end, resend the last token until the responses counted below stop the thread
  -- (at most "connections" such requests are in flight).
  if sent > n then sent = n end
  headers["Authorization"] = tokens[sent]
  return wrk.format("GET", "/", headers)
end

function response(status, hdrs, body)
  done_count = done_count + 1
  if done_count == n then
    t_end = now_ns()
    completed = done_count
    wrk.thread:stop()
  end
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  local total, secs = 0, 0
  for _, t in ipairs(threads) do
    local s, e, c = t:get("t_start"), t:get("t_end"), t:get("completed")
    if e and e > 0 then
      total = total + c
      secs = math.max(secs, (e - s) / 1e9)
    end
  end
  if secs > 0 then
    io.write(string.format("Distinct requests/sec: %.2f (%d tokens in %.2f s)\n", total / secs, total, secs))
  else
    io.write("Distinct requests/sec: n/a (the token list was not used up within the duration)\n")
  end
end
