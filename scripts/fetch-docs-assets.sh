#!/bin/sh
# Build the site that the frontend serves (frontend/static.h):
#   WWW/{index.html,app.js,style.css,favicon.svg}   the drawing page (frontend/www)
#   WWW/openapi.json  WWW/docs/{index.html,init.js,swagger-ui assets}
#   WWW/redoc/{index.html,redoc.standalone.js}
# The Swagger UI and ReDoc bundles come from npm packages at pinned versions,
# fetched once with `npm pack` (or curl from the registry when npm is absent,
# as in the Docker build stage), checked against their sha512 (the hex form
# of the registry's "integrity"), and cached in CACHE. Never a CDN at run time.
# Usage: fetch-docs-assets.sh WWW [CACHE]
set -eu
www=${1:?usage: fetch-docs-assets.sh WWW [CACHE]}
cache=${2:-build/cache}
here=$(cd "$(dirname "$0")/.." && pwd)
registry=${NPM_REGISTRY:-https://registry.npmjs.org}

# name version sha512(hex of the .tgz)
pkgs="swagger-ui-dist 5.35.0 534eaba4cb56f55dd73c638179a993512af4674f63317e0826e00da44fc465b021c341bc0a0c2bcd4e18997927fe1d3008336c5dd19aad334d1c2dec53cc9551
redoc 2.5.2 b1325f22dbd191c0d3a2307ac1d2cde0cf946ba9a5670125576d537fc327ec86d017fd4eb3a1af810a59c8b58f1996476e1cbb182d4eaf58533077f3d6f2a1e4"

verified() { [ -s "$1" ] && echo "$2  $1" | sha512sum -c --status; }

# fetch NAME VERSION SHA512: leaves $cache/NAME-VERSION.tgz verified.
fetch() {
    tgz="$cache/$1-$2.tgz"
    verified "$tgz" "$3" && return 0
    rm -f "$tgz"
    if command -v npm >/dev/null 2>&1; then
        (cd "$cache" && npm pack --silent "$1@$2" >/dev/null)
    else
        curl -fsSL --retry 3 -o "$tgz" "$registry/$1/-/$1-$2.tgz"
    fi
    if ! verified "$tgz" "$3"; then
        echo "fetch-docs-assets: checksum mismatch for $1@$2" >&2
        rm -f "$tgz"
        exit 1
    fi
}

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
echo "$pkgs" | while read -r name ver sha; do fetch "$name" "$ver" "$sha"; done

# Assemble into a fresh directory, then swap it in, so a failure never
# leaves a half-built site behind.
tmp="$www.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/redoc" "$tmp/unpack"
tar -C "$tmp/unpack" -xzf "$cache/swagger-ui-dist-5.35.0.tgz" \
    package/swagger-ui.css package/swagger-ui-bundle.js package/LICENSE \
    package/favicon-16x16.png package/favicon-32x32.png
mv "$tmp/unpack/package/"* "$tmp/docs/"
rm -rf "$tmp/unpack/package"
tar -C "$tmp/unpack" -xzf "$cache/redoc-2.5.2.tgz" \
    package/bundles/redoc.standalone.js package/LICENSE
mv "$tmp/unpack/package/bundles/redoc.standalone.js" "$tmp/unpack/package/LICENSE" "$tmp/redoc/"
rm -rf "$tmp/unpack"
cp "$here/frontend/www/swagger.html" "$tmp/docs/index.html"
cp "$here/frontend/www/swagger-init.js" "$tmp/docs/init.js"
cp "$here/frontend/www/redoc.html" "$tmp/redoc/index.html"
cp "$here/docs/openapi.json" "$tmp/openapi.json"
for f in index.html app.js style.css favicon.svg; do
    cp "$here/frontend/www/$f" "$tmp/$f"
done
# Precompressed copies for Content-Encoding: gzip (frontend/static.h): every
# text file that gzip makes smaller gets FILE.gz beside it (-n: no name or
# time inside, so a rebuild gives the same bytes and the same ETag).
find "$tmp" -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.json' \
    -o -name '*.svg' -o -name '*.map' -o -name '*.txt' -o -name LICENSE \) | while read -r f; do
    gzip -9 -n -c "$f" >"$f.gz"
    [ "$(wc -c <"$f.gz")" -lt "$(wc -c <"$f")" ] || rm -f "$f.gz"
done
chmod -R u=rwX,go=rX "$tmp"
rm -rf "$www"
mv "$tmp" "$www"
trap - EXIT
touch "$www/.stamp"
