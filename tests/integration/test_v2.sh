#!/bin/sh
# Open Inference Protocol (KServe v2) REST routes and the model identity,
# against the real frontend with two workers: tests/integration/v2_client.py
# checks every route, error and the binary extension, and validates each
# answer against the protocol's own schemas (tests/oip/); here: the version
# is the SHA-256 of the weights, /metrics shows it, and the images of one
# request are spread over both workers.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
data=${DATA:-$B/data}
if ! have_frontend || [ ! -s "$data/test.images" ]; then
    ok "v2 checks # SKIP no $B/mnist-frontend or $B/data yet (make all data)"
    exit 0
fi
if ! /usr/bin/python3 -c 'import jsonschema, yaml' 2>/dev/null; then
    not_ok "python3-jsonschema and python3-yaml are installed (scripts/deps.sh test)"
    exit 1
fi
# fp32 weights: the version is their file's SHA-256; debug logs show which
# worker decoded what.
export MNIST_PRECISION=fp32 MNIST_LOG_LEVEL=debug
version=$(sha256sum "$FE_WEIGHTS" | cut -c1-12)
fe_start "$tmp" 2
check "frontend healthy" curl -sf -o /dev/null "$FE_URL/health"
wait_for 5 sh -c "curl -s '$FE_URL/v2/models/mnist' | grep -q '\"$version\"'"
/usr/bin/python3 tests/integration/v2_client.py "$FE_URL" "$version" "$data" ||
    not_ok "v2_client.py: every check passes"

check_eq "X-Model-Version on /predict is the weights' SHA-256 (12 hex)" "$version" \
    "$(curl -s -o /dev/null -D - -F file=@saved_images/img_0_label_6.png "$FE_URL/predict" |
        tr -d '\r' | sed -n 's/^x-model-version: //Ip')"
curl -s "$FE_URL/metrics" >"$tmp/metrics"
check "mnist_model_info{version} 1 in /metrics" \
    grep -qx "mnist_model_info{version=\"$version\"} 1" "$tmp/metrics"
check "v2 requests counted under route /v2" grep -q 'route="/v2"' "$tmp/metrics"
head -c 11000000 /dev/zero >"$tmp/big"
check_eq "a body above --max-upload: 413 with an error object" \
    '413 {"error":"File too large. Maximum size is 10 MB."}' \
    "$(curl -s -w '%{http_code} ' -o "$tmp/out" --data-binary @"$tmp/big" "$FE_URL/v2/models/mnist/infer"; cat "$tmp/out")"
check "frontend exits 0 (with the ASan build: no sanitizer report)" fe_stop
# Every image of the 64-image request was a worker request of its own
# ("input": 3136 bytes); both workers decoded some.
pids=$(grep -o 'mnist-worker\[[0-9]*\].*decode [0-9a-f]*: 3136 bytes' "$tmp/fe.log" |
    sed 's/\].*//' | sort -u | wc -l)
check_eq "the images of one request are spread over both workers" 2 "$pids"

# Two workers on different weights (fp32 and int8 files): two versions
# served at once, as during a reload.
v8=$(sha256sum weights/model-int8.safetensors | cut -c1-12)
fe_start "$tmp/mixed" 0
check_eq "no worker: /v2/health/ready is 400 (false), live 200" "400 200" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$FE_URL/v2/health/ready") $(curl -s -o /dev/null -w '%{http_code}' "$FE_URL/v2/health/live")"
check_eq "no worker: infer 503 with Retry-After and an error object" \
    "503 retry-after: 1 {\"error\":\"No inference worker is available\"}" \
    "$(curl -s -D "$tmp/h" -o "$tmp/out" -w '%{http_code}' -d @docs/examples/v2-images.json \
        "$FE_URL/v2/models/mnist/infer") $(tr -d '\r' <"$tmp/h" | grep -i '^retry-after:' | tr 'A-Z' 'a-z') $(cat "$tmp/out")"
for p in fp32 int8; do
    RUNTIME_DIRECTORY=$tmp/mixed/run MNIST_PRECISION=$p MNIST_LOG_LEVEL=info \
        "$B/mnist-worker" --weights "$FE_WEIGHTS" >>"$tmp/mixed/workers.log" 2>&1 &
    on_exit "kill -9 $!"
done
wait_for 20 sh -c "curl -s '$FE_URL/v2/models/mnist' | jq -e '.versions | length == 2' >/dev/null"
both=$(printf '%s\n' "$version" "$v8" | sort | tr '\n' ' ')
check_eq "two versions served: both in the metadata" "${both% }" \
    "$(curl -s "$FE_URL/v2/models/mnist" | jq -r '.versions | sort | join(" ")')"
check_eq "two versions served: two mnist_model_info samples" 2 \
    "$(curl -s "$FE_URL/metrics" | grep -c '^mnist_model_info{version="[0-9a-f]\{12\}"} 1$')"
/usr/bin/python3 - "$data/test.images" "$tmp/mixed.json" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
px = list(struct.unpack("<%df" % (64 * 784), raw[:64 * 3136]))
json.dump({"inputs": [{"name": "pixels", "shape": [64, 784], "datatype": "FP32", "data": px}],
           "outputs": [{"name": "digit"}]}, open(sys.argv[2], "w"))
PY
hv=$(curl -s -o /dev/null -D - -d @"$tmp/mixed.json" "$FE_URL/v2/models/mnist/infer" | tr -d '\r' |
    sed -n 's/^x-model-version: //Ip' | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ' ')
check_eq "64 images over both: X-Model-Version lists both" "$both" "$hv"
check_eq "asking for one version, answered by both: 503 to retry" 503 \
    "$(curl -s -o "$tmp/out" -w '%{http_code}' -d @"$tmp/mixed.json" \
        "$FE_URL/v2/models/mnist/versions/$version/infer")"
check "the 503 says why" grep -q "answered by another version than $version" "$tmp/out"
check "frontend exits 0 (two versions)" fe_stop
