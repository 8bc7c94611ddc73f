#!/bin/sh
# The site's assets (frontend/static.h): gzip made at build time
# (build/www/FILE.gz) and served with Content-Encoding: gzip when the client
# accepts it, the same bytes as the file once decompressed; a strong ETag
# from the content, 304 for a matching If-None-Match, Cache-Control; plain
# bytes for clients without gzip (or gzip;q=0).
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend; then
    ok "static caching # SKIP no $B/mnist-frontend yet"
    exit 0
fi
www=$B/www
for f in app.js style.css index.html openapi.json docs/swagger-ui-bundle.js redoc/redoc.standalone.js; do
    check "build made $f.gz, and it decompresses to $f" sh -c "gzip -dc '$www/$f.gz' | cmp -s - '$www/$f'"
done
fe_start "$tmp" 0
u=$FE_URL
# get PATH OUT ARGS...: body into OUT, headers (lowercase names) into OUT.h
get() {
    p=$1; o=$2; shift 2
    curl -s -o "$o" -D - "$@" "$u$p" | tr -d '\r' | sed 's/^\([^:]*\):/\L\1:/' >"$o.h"
}
hdr() { sed -n "s/^$1: //p" "$2.h"; }

for p in /app.js /docs/swagger-ui-bundle.js /redoc/redoc.standalone.js /openapi.json /; do
    f=$p
    [ "$p" = / ] && f=/index.html
    get "$p" "$tmp/gz" -H 'Accept-Encoding: gzip, deflate, br'
    check "$p: Content-Encoding gzip" test "$(hdr content-encoding "$tmp/gz")" = gzip
    check "$p: the gzip body is the file" sh -c "gzip -dc '$tmp/gz' | cmp -s - '$www$f'"
    check "$p: Vary: Accept-Encoding" test "$(hdr vary "$tmp/gz")" = Accept-Encoding
    get "$p" "$tmp/plain"
    check "$p: without Accept-Encoding, the plain file" cmp -s "$tmp/plain" "$www$f"
    check "$p: and no Content-Encoding" test -z "$(hdr content-encoding "$tmp/plain")"
    e=$(hdr etag "$tmp/plain")
    ez=$(hdr etag "$tmp/gz")
    check "$p: strong ETags, one per encoding ($e, $ez)" sh -c \
        "echo '$e' | grep -Eqx '\"[0-9a-f]{16}\"' && test '$ez' = '$(echo "$e" | sed 's/"$/-gz"/')'"
    get "$p" "$tmp/nm" -H "If-None-Match: $e"
    check "$p: If-None-Match with its ETag -> 304, no body" sh -c \
        "head -1 '$tmp/nm.h' | grep -q ' 304 ' && test ! -s '$tmp/nm' && test '$(hdr etag "$tmp/nm")' = '$e'"
    get "$p" "$tmp/nmz" -H "If-None-Match: $ez" -H 'Accept-Encoding: gzip'
    check "$p: the gzip ETag revalidates the gzip variant" sh -c "head -1 '$tmp/nmz.h' | grep -q ' 304 '"
    get "$p" "$tmp/other" -H 'If-None-Match: "0000000000000000"'
    check "$p: another ETag -> 200" sh -c "head -1 '$tmp/other.h' | grep -q ' 200 '"
done
get /app.js "$tmp/q0" -H 'Accept-Encoding: gzip;q=0, br'
check "gzip;q=0: the plain file" cmp -s "$tmp/q0" "$www/app.js"
get /app.js "$tmp/c"
check_eq "the page's files revalidate every time" no-cache "$(hdr cache-control "$tmp/c")"
get /docs/swagger-ui-bundle.js "$tmp/c"
check_eq "pinned docs assets are cached a day" "public, max-age=86400" "$(hdr cache-control "$tmp/c")"
get /docs "$tmp/c"
check_eq "the docs page itself revalidates" no-cache "$(hdr cache-control "$tmp/c")"
curl -s -o /dev/null -w '%{http_code}' "$u/app.js.gz" >"$tmp/code"
check_eq "FILE.gz is not served as a path of its own" 404 "$(cat "$tmp/code")"
curl -s -I -H 'Accept-Encoding: gzip' "$u/app.js" | tr -d '\r' >"$tmp/head"
check "HEAD: gzip headers, the gzip length" sh -c \
    "grep -qi '^content-encoding: gzip' '$tmp/head' && grep -qi '^content-length: $(wc -c <"$www/app.js.gz")\$' '$tmp/head'"
big=$(wc -c <"$www/docs/swagger-ui-bundle.js")
small=$(wc -c <"$www/docs/swagger-ui-bundle.js.gz")
echo "# swagger-ui-bundle.js: $big bytes, $small gzipped"
fe_stop
