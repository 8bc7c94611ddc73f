#!/bin/sh
# Install the Debian packages the build, the service and the tests need.
# The top Makefile runs it while it is read, before anything asks
# pkg-config for link flags, so the first `make` on a bare machine works.
# Idempotent and silent when everything is present (one dpkg-query call);
# apt-get runs directly as root, through sudo otherwise.
# Usage: deps.sh [build|test]
#   build  compile and run the service: compiler, -dev packages, curl
#          (scripts/fetch-docs-assets.sh fetches the docs assets with it)
#   test   build + everything `make test`, `make bench`, `make fuzz` and
#          `make stress` run; podman for the container tests comes from
#          scripts/container-engine.sh, which the tests call themselves.
set -eu
build="gcc libc6-dev make pkg-config libh2o-evloop-dev libnng-dev libmsgpack-dev
 libjansson-dev libopenblas-dev libopenblas0-pthread libpng-dev
 libjpeg62-turbo-dev libsystemd-dev libssl-dev libmbedtls-dev openssl curl
 ca-certificates"
test="clang clang-format libclang-rt-14-dev libfuzzer-14-dev valgrind python3-torch
 python3-numpy python3-pil python3-yaml python3-jsonschema imagemagick fonts-dejavu-core wrk
 prometheus chromium systemd jq procps git npm libjpeg-turbo-progs haproxy iproute2
 nftables"
case "${1:-build}" in
build) want=$build ;;
test) want="$build $test" ;;
*) echo "usage: deps.sh [build|test]" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
installed=" $(dpkg-query -W -f='${Package} ${Status}\n' $want 2>/dev/null |
    sed -n 's/ install ok installed$//p' | tr '\n' ' ')"
missing=
for p in $want; do
    case "$installed" in *" $p "*) ;; *) missing="$missing $p" ;; esac
done
# npm may come with a non-Debian nodejs (which conflicts with Debian npm).
case "$missing" in *" npm"*) command -v npm >/dev/null 2>&1 &&
    missing=$(echo "$missing" | sed 's/ npm\b//') ;; esac
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
sudo=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "deps: not root and no sudo; install as root:$missing" >&2
        exit 1
    }
    sudo=sudo
fi
$sudo apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
