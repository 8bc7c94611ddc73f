#!/bin/sh
# Install the Debian packages the build, the service and the tests need.
# Idempotent and silent when everything is present; apt-get runs through
# sudo when we are not root. Usage: deps.sh [build|test]
set -eu
build="gcc make pkg-config libh2o-evloop-dev libnng-dev libmsgpack-dev
 libjansson-dev libopenblas-dev libopenblas0-pthread libpng-dev
 libjpeg62-turbo-dev libsystemd-dev libssl-dev"
test="clang clang-format libclang-rt-14-dev libfuzzer-14-dev valgrind python3-torch
 python3-numpy python3-pil imagemagick fonts-dejavu-core wrk curl prometheus chromium
 systemd jq python3-yaml libjpeg-turbo-progs"
case "${1:-build}" in
build) want=$build ;;
test) want="$build $test" ;;
*) echo "usage: deps.sh [build|test]" >&2; exit 2 ;;
esac
missing=
for p in $want; do
    s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$s" = "install ok installed" ] || missing="$missing $p"
done
# npm may come with a non-Debian nodejs (which conflicts with Debian npm).
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
