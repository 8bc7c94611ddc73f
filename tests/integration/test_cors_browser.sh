#!/bin/sh
# CORS (frontend/cors.h): with --cors-origins, a page on an allowed origin
# calls the API from real Chromium (preflight, POST /predict, GET /health)
# and one on another origin is blocked; curl checks the headers themselves:
# preflight 204 with Allow-Methods/-Headers/Max-Age and Vary: Origin, no
# CORS header for an unlisted origin or on /metrics, and nothing changes
# without the flag. The two page origins are static servers on other ports
# of 127.0.0.1 (a different port is a different origin).
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "cors # SKIP no $B/mnist-frontend yet"
    exit 0
fi
img=saved_images/img_0_label_6.png
mkdir -p "$tmp/site"
echo '<!doctype html><title>another origin</title>' >"$tmp/site/index.html"
pa=$(free_port)
pb=$(free_port)
A=http://127.0.0.1:$pa
B_=http://127.0.0.1:$pb
for p in $pa $pb; do
    /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$tmp/site" "$p" >/dev/null 2>&1 &
    on_exit "kill $!"
done
wait_for 10 curl -sf "$A/"
wait_for 10 curl -sf "$B_/"

# headers ARGS...: the answer's headers, lowercased names, no CR.
headers() { curl -s -o /dev/null -D - "$@" | tr -d '\r' | tr 'A-Z' 'a-z'; }
has() { echo "$1" | grep -q "$2"; }
lacks() { ! echo "$1" | grep -q "$2"; }

fe_start "$tmp" 1 --cors-origins "http://example.invalid:1, $A"
u=$FE_URL
h=$(headers -X OPTIONS -H "Origin: $A" -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: x-request-id' "$u/predict")
check "preflight from A: 204" has "$h" '^http/1.1 204'
check "preflight from A: Allow-Origin is A" has "$h" "^access-control-allow-origin: $A\$"
check "preflight from A: Allow-Methods has POST" has "$h" '^access-control-allow-methods: .*post'
check "preflight from A: Allow-Headers has X-Request-Id" has "$h" '^access-control-allow-headers: .*x-request-id'
check "preflight from A: Max-Age" has "$h" '^access-control-max-age: 600'
check "preflight from A: Vary: Origin" has "$h" '^vary: origin'
h=$(headers -X OPTIONS -H "Origin: $B_" -H 'Access-Control-Request-Method: POST' "$u/predict")
check "preflight from B: no CORS header" lacks "$h" '^access-control-'
h=$(headers -H "Origin: $A" -F "file=@$img" "$u/predict")
check "POST /predict from A: Allow-Origin and exposed headers" sh -c \
    "echo '$h' | grep -q '^access-control-allow-origin: $A\$' && echo '$h' | grep -q '^access-control-expose-headers: x-request-id'"
h=$(headers -H "Origin: $A" "$u/nope")
check "a 404 outside the API: no CORS header" lacks "$h" '^access-control-'
h=$(headers -H "Origin: $A" "$u/health")
check "GET /health from A: Allow-Origin" has "$h" "^access-control-allow-origin: $A\$"
h=$(headers -H "Origin: $A" "$u/metrics")
check "GET /metrics from A: no CORS header" lacks "$h" '^access-control-'
h=$(headers -H "Origin: $B_" "$u/health")
check "GET /health from B: no CORS header" lacks "$h" '^access-control-'

chromium=/usr/bin/chromium
tools=$(sh tests/node/node-tools.sh "$B/node-tools") || tools=
if [ -x "$chromium" ] && [ -n "$tools" ]; then
    timeout -k 5 120 node tests/integration/cors.mjs "$(cd "$tools" && pwd)" "$u" "$A" "$B_" "$img" \
        >"$tmp/cors.tap" 2>"$tmp/cors.err"
    while IFS= read -r line; do
        case $line in
            "ok - "*) ok "chromium: ${line#ok - }" ;;
            "not ok - "*) not_ok "chromium: ${line#not ok - }" ;;
        esac
    done <"$tmp/cors.tap"
    grep -q '^ok' "$tmp/cors.tap" || not_ok "chromium run: $(tail -3 "$tmp/cors.err")"
    check "the browser's preflight reached the frontend" grep -q 'OPTIONS /predict 204' "$tmp/fe.log"
else
    not_ok "chromium and node tools needed (scripts/deps.sh test, tests/node)"
fi
fe_stop

# Without --cors-origins nothing changes: OPTIONS is a 405, no CORS header.
fe_start "$tmp/off" 0
h=$(headers -X OPTIONS -H "Origin: $A" -H 'Access-Control-Request-Method: POST' "$FE_URL/predict")
check "no --cors-origins: OPTIONS /predict is 405" has "$h" '^http/1.1 405'
check "no --cors-origins: no CORS header" lacks "$h" '^access-control-'
fe_stop
# A bad origin is refused at start.
"$B/mnist-frontend" --listen 127.0.0.1:0 --rundir "$tmp/bad" --cors-origins "https://a.example/path" \
    >"$tmp/bad.log" 2>&1
check_eq "an origin with a path is refused at start (exit 2)" 2 $?
check "with a clear message" grep -q 'not an origin like' "$tmp/bad.log"
