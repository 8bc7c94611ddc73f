-- wrk script for tests/stress: POST one image as a raw body to /predict,
-- count answers by status (and 503s without Retry-After), stop each thread
-- after STRESS_PER_THREAD responses when that is set and print
-- "thread_done" (the soak is bounded in count: the caller stops wrk with
-- SIGINT once every thread is done; -d bounds it in time). Prints, when done:
--   status <code> <count>      one line per status seen
--   no_retry_after <count>     503s that lack Retry-After
--   p50_us / p99_us / max_us   latency of all answers
--   requests <count>  errors <connect+read+write+timeout>
--   STRESS_IMAGE   image file (default saved_images/img_2_label_7.png)
--   STRESS_TYPE    its Content-Type (default image/png)
local path = os.getenv("STRESS_IMAGE") or "saved_images/img_2_label_7.png"
local f = assert(io.open(path, "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = "/predict"
wrk.headers["Content-Type"] = os.getenv("STRESS_TYPE") or "image/png"
local per_thread = tonumber(os.getenv("STRESS_PER_THREAD") or "0")

local threads = {}
function setup(thread)
    table.insert(threads, thread)
end

codes = {}
no_ra = 0
seen = 0
function response(status, headers, body)
    codes[status] = (codes[status] or 0) + 1
    if status == 503 and not (headers["Retry-After"] or headers["retry-after"]) then
        no_ra = no_ra + 1
    end
    seen = seen + 1
    if per_thread > 0 and seen == per_thread then
        -- wrk's main thread sleeps out -d: tell the caller, who sends SIGINT
        io.write("thread_done\n")
        io.flush()
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local total, nora = {}, 0
    for _, t in ipairs(threads) do
        for code, n in pairs(t:get("codes")) do
            total[code] = (total[code] or 0) + n
        end
        nora = nora + t:get("no_ra")
    end
    for code, n in pairs(total) do
        io.write(string.format("status %d %d\n", code, n))
    end
    local e = summary.errors
    io.write(string.format("no_retry_after %d\n", nora))
    io.write(string.format("p50_us %d\np99_us %d\nmax_us %d\n", latency:percentile(50),
        latency:percentile(99), latency.max))
    io.write(string.format("requests %d\nerrors %d\n", summary.requests,
        e.connect + e.read + e.write + e.timeout))
end
