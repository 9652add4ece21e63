-- wrk script for bench/soak.sh: sends the token currently in TOKEN_FILE (re-read every 200 requests, so the
-- driver can switch to a token of the newly rotated key) and counts responses by status.
local path = os.getenv("TOKEN_FILE")
local token = nil
local n = 0
statuses = {}

local function load()
  local f = io.open(path, "r")
  if f then
    local t = f:read("*l")
    f:close()
    if t and #t > 0 then token = t end
  end
end

function init(args) load() end

function request()
  n = n + 1
  if n % 200 == 0 then load() end
  return wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. token })
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(total) do parts[#parts + 1] = code .. "=" .. count end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  io.write(string.format("socket errors: connect=%d read=%d write=%d timeout=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
