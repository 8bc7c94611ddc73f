#!/bin/sh
# /docs (Swagger UI) and /redoc (ReDoc) render the API's operations in
# headless Chromium, from the frontend's own assets only: every host but
# 127.0.0.1 is made unresolvable, so a CDN reference could not load.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
chromium=/usr/bin/chromium
if ! have_frontend; then
    ok "docs in a browser # SKIP no $B/mnist-frontend yet"
    exit 0
fi
check "chromium installed" test -x "$chromium"
fe_start "$tmp" 0

# dump PAGE: the DOM after scripts ran (virtual time lets them finish).
dump() {
    prof=$(mktemp -d "$tmp/chrome.XXXXXX")
    timeout -k 5 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-dev-shm-usage --user-data-dir="$prof" \
        --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
        --virtual-time-budget=10000 --dump-dom "$FE_URL/$1" 2>"$tmp/$1.err"
}
dump docs >"$tmp/docs.html"
dump redoc >"$tmp/redoc.html"

# Swagger UI: one operation block per endpoint, with its path.
for p in /predict /health /metrics /openapi.json /docs /redoc /v2 /v2/health/live /v2/health/ready \
    /v2/models/mnist /v2/models/mnist/ready /v2/models/mnist/infer \
    '/v2/models/mnist/versions/{version}' '/v2/models/mnist/versions/{version}/infer'; do
    check "Swagger UI shows $p" grep -q "class=\"opblock-summary-path\" data-path=\"$p\"" "$tmp/docs.html"
done
check "Swagger UI shows POST /predict" grep -q 'opblock opblock-post' "$tmp/docs.html"
check "Swagger UI shows the API title" grep -q 'MNIST digit recognition API' "$tmp/docs.html"
# ReDoc: one section per operationId.
for op in predict health metrics openapi docs redoc v2ServerMetadata v2ModelMetadata v2Infer \
    v2VersionInfer v2ModelReady; do
    check "ReDoc shows operation $op" grep -q "data-section-id=\"tag/[^/\"]*/operation/$op\"" "$tmp/redoc.html"
done
check "ReDoc shows the 413 response" grep -q '413' "$tmp/redoc.html"
check "ReDoc shows the API title" grep -q 'MNIST digit recognition API' "$tmp/redoc.html"
# The pages fetched their bundles from us.
for a in /docs/swagger-ui-bundle.js /docs/swagger-ui.css /docs/init.js /redoc/redoc.standalone.js /openapi.json; do
    check "browser loaded $a from the frontend" grep -q "GET $a 200" "$tmp/fe.log"
done
check "pages load no remote script or style" \
    sh -c "! grep -Eq '<script[^>]* src=\"https?:|<link[^>]* href=\"https?:' '$tmp/docs.html' '$tmp/redoc.html' $B/www/docs/index.html $B/www/redoc/index.html"
fe_stop
check_eq "frontend exits 0 on SIGTERM" 0 $?
