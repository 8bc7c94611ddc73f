#!/bin/sh
# Request ids and trace context (frontend/trace.h, common/reqid.h): an
# X-Request-Id is kept when valid, replaced when not, generated when absent,
# and echoed on every answer (200, 204, 400, 404, 405, 413 from h2o itself,
# 503 without workers); the access log and the worker's lines carry it, and
# a valid traceparent; api.sock callers pass "id" in the msgpack request
# (a bad one is refused). --log-format json: every line of the frontend and
# of its workers is one JSON object, with the request id.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "request ids # SKIP no $B/mnist-frontend yet"
    exit 0
fi
PY=/usr/bin/python3
img=saved_images/img_0_label_6.png
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
export MNIST_LOG_LEVEL=debug # the worker's per-request lines are debug
fe_start "$tmp" 1
u=$FE_URL

# rid ARGS...: the X-Request-Id of the answer to curl ARGS.
rid() { curl -s -o /dev/null -D - "$@" | tr -d '\r' | sed -n 's/^x-request-id: //Ip'; }
hex32() { echo "$1" | grep -Eqx '[0-9a-f]{32}'; }

check_eq "a valid id is echoed on a prediction" "abc-123.x:y" \
    "$(rid -H 'X-Request-Id: abc-123.x:y' -H "traceparent: $TP" -F "file=@$img" "$u/predict")"
long=$(printf '%0128d' 7)
check_eq "128 characters are kept" "$long" "$(rid -H "X-Request-Id: $long" "$u/health")"
g=$(rid -H "X-Request-Id: ${long}8" "$u/health")
check "129 characters are replaced by a generated id ($g)" hex32 "$g"
g=$(rid -H 'X-Request-Id: bad id"<x>' "$u/health")
check "bad characters are replaced ($g)" hex32 "$g"
g=$(rid "$u/health")
g2=$(rid "$u/health")
check "absent: a generated id ($g)" hex32 "$g"
check "two generated ids differ" test "$g" != "$g2"
wait_for 5 grep -q "request_id=$g2" "$tmp/fe.log"
check "the generated id is the one in the access log" grep -q "GET /health 200 .* request_id=$g2\$" "$tmp/fe.log"
check_eq "on a 400" id-400 "$(rid -H 'X-Request-Id: id-400' -F "file=@README.md;type=text/plain" "$u/predict")"
check_eq "on a 404" id-404 "$(rid -H 'X-Request-Id: id-404' "$u/nope")"
check_eq "on a 405" id-405 "$(rid -H 'X-Request-Id: id-405' -X DELETE "$u/predict")"
check_eq "on h2o's own 413 (Content-Length alone)" id-413 \
    "$(rid -H 'X-Request-Id: id-413' -H 'Content-Type: image/png' -H 'Content-Length: 99999999999' "$u/predict")"
check_eq "on /metrics" id-m "$(rid -H 'X-Request-Id: id-m' "$u/metrics")"
check_eq "on the page" id-p "$(rid -H 'X-Request-Id: id-p' "$u/")"

wait_for 5 grep -q 'request_id=id-p' "$tmp/fe.log"
check "access log: id and traceparent" grep -q \
    "POST /predict 200 .* request_id=abc-123.x:y traceparent=$TP worker=" "$tmp/fe.log"
check "access log: the 413 with its id" grep -q "413 .*request_id=id-413" "$tmp/fe.log"
check "worker log: its decode line has the id" grep -q "mnist-worker.* decode .* request_id=abc-123.x:y" "$tmp/fe.log"
check "worker log: its reply line has the id and traceparent" grep -q \
    "mnist-worker.* reply ok request_id=abc-123.x:y traceparent=$TP digit=6" "$tmp/fe.log"
rid -H 'traceparent: 00-zz' -H 'X-Request-Id: bad-tp' -F "file=@$img" "$u/predict" >/dev/null
wait_for 5 grep -q 'request_id=bad-tp' "$tmp/fe.log"
check "an invalid traceparent is not passed on" sh -c "! grep 'request_id=bad-tp' '$tmp/fe.log' | grep -q traceparent"

# api.sock: "id" in the msgpack request reaches the worker's log.
$PY tests/integration/msgpack_request.py "$tmp/ok.mp" "$img" id=api-77 traceparent=$TP
$PY tests/integration/msgpack_request.py "$tmp/bad.mp" "$img" "id=has space"
out=$("$B/mnist-client" --url "ipc://$tmp/run/api.sock" --raw "$tmp/ok.mp" 2>&1)
check "api.sock: a request with an id is answered ($out)" sh -c "echo '$out' | grep -q ' 6 '"
check "api.sock: the worker logs its id" wait_for 5 grep -q "reply ok request_id=api-77 traceparent=$TP" "$tmp/fe.log"
out=$("$B/mnist-client" --url "ipc://$tmp/run/api.sock" --raw "$tmp/bad.mp" 2>&1)
check "api.sock: a bad id is refused ($out)" sh -c "echo '$out' | grep -q 'bad_request: key \"id\"'"
fe_stop

# Without workers: the 503 carries the id too.
fe_start "$tmp/n" 0
check_eq "on a 503 (no worker)" id-503 \
    "$(rid -H 'X-Request-Id: id-503' -F "file=@$img" "$FE_URL/predict")"
fe_stop

# --log-format json: frontend and spawned workers, every line one object.
fe_start "$tmp/j" 1 --log-format json
curl -s -o /dev/null -H 'X-Request-Id: json-1' -H "traceparent: $TP" -F "file=@$img" "$FE_URL/predict"
curl -s -o /dev/null -H 'X-Request-Id: json-2' "$FE_URL/nope%22%0a"
wait_for 5 grep -q json-2 "$tmp/j/fe.log"
fe_stop
if $PY - "$tmp/j/fe.log" >"$tmp/j/verdict" 2>&1 <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]   # raises on any line that is not JSON
assert len(objs) > 5, len(objs)
for o in objs:
    assert {"ts", "level", "prog", "pid", "msg"} <= set(o), o
acc = [o for o in objs if o.get("request_id") == "json-1" and o["prog"] == "mnist-frontend"]
assert acc and acc[0]["status"] == 200 and acc[0]["path"] == "/predict" and \
    acc[0]["traceparent"].startswith("00-4bf9") and acc[0]["worker"] > 0, acc
wk = [o for o in objs if o.get("request_id") == "json-1" and o["prog"] == "mnist-worker"]
assert wk and any(o["msg"] == "reply ok" and o["digit"] == 6 for o in wk), wk
nf = [o for o in objs if o.get("request_id") == "json-2"]
assert nf and nf[0]["status"] == 404, nf
print("%d lines, all JSON" % len(objs))
PYEOF
then
    ok "json logs: $(cat "$tmp/j/verdict")"
else
    not_ok "json logs: $(tail -3 "$tmp/j/verdict")"
fi
