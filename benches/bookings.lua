-- wrk script for `make bench`: POST /v1/bookings with two-line bookings.
--
-- Environment (set by benches/run.sh):
--   BENCH_KEYS   the tenants' API keys, comma-separated: request n goes to tenant n mod count
--   BENCH_PHASE  a label unique per wrk run: every external_reference is "<phase>-<thread>-<n>"
--
-- Each request is a balanced two-line booking with a varying amount, one of a few account pairs
-- and a unique external_reference, so the server's duplicate check runs for every booking.
-- Only 201 responses count as bookings; every other status is counted per status code. At the end
-- one machine-readable line is printed:
--   RESULT phase=… conns=… created=… non201=… statuses=… sent=… responses=… duration_us=…
--          p50_us=… p90_us=… p99_us=… max_us=… sock_errors=…
-- `sent - responses` is the number of requests still in flight when wrk stopped (at most one per
-- connection): wrk does not wait for them, so their bookings may or may not have been committed.

local keys = {}
for k in string.gmatch(os.getenv("BENCH_KEYS") or error("BENCH_KEYS is not set"), "[^,]+") do
    table.insert(keys, k)
end
local phase = os.getenv("BENCH_PHASE") or "p"

-- debit account, credit account, booking date: plain two-line bookings (no tax codes) of SKR03.
local pairs_ = {
    { "1200", "8400", "2026-03-14" },
    { "1000", "8300", "2026-03-15" },
    { "1400", "8200", "2026-03-16" },
    { "4930", "1200", "2026-04-01" },
    { "4210", "1200", "2026-04-02" },
    { "4980", "1000", "2026-04-03" },
}

local headers = {}
for i, k in ipairs(keys) do
    headers[i] = { ["Authorization"] = "Bearer " .. k, ["Content-Type"] = "application/json" }
end

local threads = {}
local next_id = 0

function setup(thread)
    next_id = next_id + 1
    thread:set("tid", next_id)
    table.insert(threads, thread)
end

function init(args)
    sent = 0
    created = 0
    non201 = 0
    responses = 0
    statuses = {}
    math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
    sent = sent + 1
    local p = pairs_[(sent % #pairs_) + 1]
    local cents = math.random(100, 999999)
    local amount = string.format("%d.%02d", math.floor(cents / 100), cents % 100)
    local body = string.format(
        '{"booking_date":"%s","description":"bench %s","external_reference":"%s-%d-%d",'
            .. '"lines":[{"account":"%s","debit":"%s"},{"account":"%s","credit":"%s"}]}',
        p[3], phase, phase, tid, sent, p[1], amount, p[2], amount)
    return wrk.format("POST", "/v1/bookings", headers[(sent % #keys) + 1], body)
end

function response(status, headers, body)
    responses = responses + 1
    if status == 201 then
        created = created + 1
    else
        non201 = non201 + 1
        local k = tostring(status)
        statuses[k] = (statuses[k] or 0) + 1
        if non201 <= 3 then
            io.stderr:write(string.format("bench.lua: HTTP %d: %s\n", status, tostring(body)))
        end
    end
end

function done(summary, latency, requests)
    local c, n, s, r = 0, 0, 0, 0
    local st = {}
    for _, t in ipairs(threads) do
        c = c + t:get("created")
        n = n + t:get("non201")
        s = s + t:get("sent")
        r = r + t:get("responses")
        local ts = t:get("statuses")
        if ts then
            for k, v in pairs(ts) do st[k] = (st[k] or 0) + v end
        end
    end
    local parts = {}
    for k, v in pairs(st) do table.insert(parts, k .. ":" .. v) end
    table.sort(parts)
    local e = summary.errors
    io.write(string.format(
        "RESULT phase=%s created=%d non201=%d statuses=%s sent=%d responses=%d duration_us=%d "
            .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d sock_errors=%d\n",
        phase, c, n, (#parts > 0 and table.concat(parts, ",") or "-"), s, r, summary.duration,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        e.connect + e.read + e.write + e.timeout))
end
