-- wrk script: POST one image as multipart/form-data to /predict and count
-- answers that are not the expected digit.
--   MNIST_IMAGE   image file (default saved_images/img_0_label_6.png)
--   MNIST_DIGIT   expected digit (default 6)
-- Prints "wrong: N" (bodies without the expected digit) when done.
local path = os.getenv("MNIST_IMAGE") or "saved_images/img_0_label_6.png"
local digit = os.getenv("MNIST_DIGIT") or "6"
local f = assert(io.open(path, "rb"))
local data = f:read("*a")
f:close()

local boundary = "----mnistwrk7MA4YWxkTrZu0gW"
wrk.method = "POST"
wrk.path = "/predict"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n" ..
    'Content-Disposition: form-data; name="file"; filename="digit.png"\r\n' ..
    "Content-Type: image/png\r\n\r\n" .. data .. "\r\n--" .. boundary .. "--\r\n"

local threads = {}
function setup(thread)
    table.insert(threads, thread)
end

local expect = '"digit":' .. digit .. ','
wrong = 0
function response(status, headers, body)
    if status ~= 200 or not string.find(body, expect, 1, true) then
        wrong = wrong + 1
    end
end

function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do
        total = total + t:get("wrong")
    end
    io.write(string.format("wrong: %d\n", total))
    for _, p in ipairs({50, 90, 99}) do
        io.write(string.format("p%d_us: %d\n", p, latency:percentile(p)))
    end
end
