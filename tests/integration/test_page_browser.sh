#!/bin/sh
# The drawing page at / in real Chromium: Debian's /usr/bin/chromium driven
# by playwright-core (pinned in tests/node/package-lock.json, installed with
# `npm ci`; no browser download) through tests/integration/page.mjs, against
# the real frontend and a worker. See page.mjs for what it draws and checks.
# PAGE_SHOTS=DIR keeps the screenshots (page-desktop.png, page-phone.png,
# page-phone-dark.png) in DIR, e.g. PAGE_SHOTS=docs to refresh the README's.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
chromium=/usr/bin/chromium
if ! have_frontend; then
    ok "page in a browser # SKIP no $B/mnist-frontend yet"
    exit 0
fi
check "chromium installed" test -x "$chromium"
tools=$(sh tests/node/node-tools.sh "$B/node-tools") || tools=
check "node tools installed (npm ci, integrity-checked)" test -n "$tools"
[ -n "$tools" ] || exit 1

# The page is small and self-contained: every file it loads is ours.
www=$B/www
bytes=$(cat "$www/index.html" "$www/app.js" "$www/style.css" "$www/favicon.svg" | wc -c)
echo "# page size: $bytes bytes (index.html, app.js, style.css, favicon.svg)"
check "the page is under 40 KB ($bytes bytes)" test "$bytes" -lt 40960
check "the page references no other origin" \
    sh -c "! grep -Eq '(src|href)=\"(https?:)?//' '$www/index.html'"

fe_start "$tmp" 1
check "GET / has a Content-Security-Policy" \
    sh -c "curl -sI '$FE_URL/' | grep -qi \"^content-security-policy: default-src 'self'\""
check "/docs keeps a policy of its own" \
    sh -c "curl -sI '$FE_URL/docs' | grep -qi '^content-security-policy: .*unsafe-inline'"
# explain=true over plain HTTP: model_input is a 28x28 gray PNG.
curl -s -F "file=@tests/images/photo_paper0.jpg;type=image/jpeg" \
    "$FE_URL/predict?explain=true" >"$tmp/explain.json"
check "/predict?explain=true gives model_input, a 28x28 PNG" /usr/bin/python3 -c "
import base64, io, json, sys
from PIL import Image
d = json.load(open(sys.argv[1]))
im = Image.open(io.BytesIO(base64.b64decode(d['model_input'])))
im.load()
assert im.size == (28, 28) and im.mode == 'L', im
assert max(im.getdata()) > 200 and min(im.getdata()) < 20
" "$tmp/explain.json"
check "/predict without explain has no model_input" \
    sh -c "curl -s -F 'file=@tests/images/photo_paper0.jpg;type=image/jpeg' '$FE_URL/predict' | grep -qv model_input"

shots=${PAGE_SHOTS:-$tmp}
mkdir -p "$shots"
timeout -k 5 300 node tests/integration/page.mjs "$(cd "$tools" && pwd)" "$FE_URL" \
    tests/page/strokes.json tests/images "$shots" >"$tmp/page.tap" 2>"$tmp/page.err"
rc=$?
while IFS= read -r line; do
    case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "not ok - "*) not_ok "${line#not ok - }" ;;
        "#"*) echo "$line" ;;
    esac
done <"$tmp/page.tap"
[ -s "$tmp/page.err" ] && sed 's/^/# stderr: /' "$tmp/page.err" | head -20
check_eq "page.mjs exits 0" 0 "$rc"
check "the page's predictions reached the frontend" grep -q "POST /predict 200" "$tmp/fe.log"
fe_stop
check_eq "frontend exits 0 on SIGTERM" 0 $?
