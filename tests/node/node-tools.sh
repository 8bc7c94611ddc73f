#!/bin/sh
# Install the test-time Node tools (swagger-parser, newman, playwright-core) pinned by
# tests/node/package-lock.json into DIR (default build/node-tools) with
# `npm ci`, which checks every package's integrity against the lockfile.
# Idempotent: reinstalls only when the lockfile changed. Prints DIR.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-build/node-tools}
mkdir -p "$dir"
if ! cmp -s "$here/package-lock.json" "$dir/package-lock.json" || [ ! -d "$dir/node_modules" ]; then
    cp "$here/package.json" "$here/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) || {
        echo "node-tools: npm ci failed in $dir" >&2
        rm -f "$dir/package-lock.json"
        exit 1
    }
fi
echo "$dir"
