#!/bin/sh
# The first command on a fresh machine: a bare Debian bookworm container
# (scripts/container-engine.sh's base, --network=host) with only make and
# git added gets a clean copy of the committed tree (git archive of
# FRESH_REF, default HEAD: commit first) and runs `make run` once, as root.
# That single command must install the packages, build, fetch the docs
# assets and serve: /health answers on a free loopback port and the example
# saved_images/img_2_label_7.png is read as 7.
# The host's CA bundle (for a TLS-intercepting proxy) and ~/.npmrc are
# mounted read-only; downloaded .deb files and apt lists are kept in
# FRESH_CACHE (default ~/.cache/mnist-service/fresh-apt, outside the clone,
# so that every clone on this machine reuses them) so a second run is faster. Bounded by FRESH_TIMEOUT
# seconds (default 540); the container is removed even on failure.
# FRESH_TEST=0 or DOCKER_TEST=0 skips.
. tests/lib.sh
# Kept under build/, not /tmp: the container reads the tree from here for
# minutes, and nothing else on the machine should clean it away meanwhile.
mkdir -p build
tmp=$(mktemp -d "$(pwd)/build/fresh-machine.XXXXXX")
on_exit "rm -rf '$tmp'"
name=mnist-fresh-$$
base=docker.io/library/debian:bookworm-slim
ref=${FRESH_REF:-HEAD}
limit=${FRESH_TIMEOUT:-540}
if [ "${FRESH_TEST:-1}" = 0 ] || [ "${DOCKER_TEST:-1}" = 0 ]; then
    ok "fresh machine # SKIP FRESH_TEST=0 or DOCKER_TEST=0"
    exit 0
fi
start=$(date +%s)
if ! sh scripts/container-engine.sh >"$tmp/engine.log" 2>&1; then
    not_ok "container engine: $(tail -3 "$tmp/engine.log")"
    exit 1
fi

sha=$(git rev-parse --short "$ref")
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
    echo "# uncommitted changes are not tested: this runs commit $sha"
mkdir -p "$tmp/src"
check "clean tree of $ref ($sha)" sh -c "git archive '$ref' | tar -x -C '$tmp/src'"

cache=${FRESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mnist-service/fresh-apt}
mkdir -p "$cache/apt-archives/partial" "$cache/apt-lists/partial"
port=$(free_port)
mounts="-v $tmp/src:/src -v $cache/apt-archives:/var/cache/apt/archives -v $cache/apt-lists:/var/lib/apt/lists"
envs="-e MNIST_LISTEN=127.0.0.1:$port"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mounts="$mounts -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro"
    envs="$envs -e CURL_CA_BUNDLE=/run/host-ca.crt -e NODE_EXTRA_CA_CERTS=/run/host-ca.crt -e npm_config_cafile=/run/host-ca.crt"
fi
[ -f "$HOME/.npmrc" ] && mounts="$mounts -v $HOME/.npmrc:/root/.npmrc:ro"
reg=$(npm config get registry 2>/dev/null) && [ -n "$reg" ] && envs="$envs -e NPM_REGISTRY=${reg%/}"

# The machine: bookworm + make + git. Everything else is make's job. dpkg
# is told to skip fsync and docs, as in the official slim image (speed only).
setup='set -e
echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/unsafe-io
printf "path-exclude /usr/share/%s/*\n" doc man info locale >/etc/dpkg/dpkg.cfg.d/slim
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make git >/dev/null
echo "fresh: $(dpkg-query -W -f=. | wc -c) packages before make run"
cd /src && exec make run'
on_exit "podman rm -f -t 0 $name"
# shellcheck disable=SC2086
check "container started" sh -c "podman run -d --network=host --name $name $mounts $envs \
    $base sh -c '$setup' >/dev/null 2>'$tmp/podman.err'"

running() { [ "$(podman inspect --format '{{.State.Running}}' "$name" 2>/dev/null)" = true ]; }
url=http://127.0.0.1:$port
settled() { curl -sf -o /dev/null --max-time 2 "$url/health" || ! running; }
wait_for "$limit" settled
podman logs "$name" >"$tmp/make.log" 2>&1
elapsed=$(( $(date +%s) - start ))
if curl -sf --max-time 5 "$url/health" | grep -q '"status":"ok"'; then
    ok "make run serves /health on a bare bookworm ($elapsed s)"
else
    state=$(running && echo "still running after $limit s" || echo "exited")
    not_ok "make run serves /health on a bare bookworm: $state; make said: $(tail -5 "$tmp/make.log" | tr '\n' ' ')"
    exit 1
fi
ex=saved_images/img_2_label_7.png
got=$(curl -sf --max-time 10 -F "file=@$ex" "$url/predict" | sed -n 's/.*"digit":\([0-9]\).*/\1/p')
check_eq "predicts $ex" 7 "$got"
check "make run installed the build packages itself" grep -q '^deps: installing.*libjansson-dev' "$tmp/make.log"
check "docs assets fetched" curl -sf -o /dev/null --max-time 10 "$url/redoc/redoc.standalone.js"
echo "# fresh machine: $elapsed s from start to a healthy service ($(du -sh "$cache/apt-archives" | cut -f1) of .deb cached)"
# Where the time went, from podman's timestamps of make's output.
podman logs -t "$name" 2>&1 | awk -v t0="$start" '
    function secs(ts) { split(ts, a, /[T:.+Z-]/); return a[4] * 3600 + a[5] * 60 + a[6] }
    NR == 1 { first = secs($1) }
    /packages before make run/ && !setup { setup = secs($1) }
    / deps: installing/ && !deps { deps = secs($1) }
    / cc / && !cc { cc = secs($1) }
    /mnist-frontend --spawn-workers/ { fe = secs($1) }
    END { printf "# phases: base setup (make, git) %d s, packages %d s, build and docs assets %d s\n",
          setup - first, cc - deps, fe - cc }'
