#!/bin/sh
# The Docker image, for real, with podman (scripts/container-engine.sh
# makes it work on these machines; there is no Docker engine here):
#   build docker/Dockerfile, run it (--network=host, a free port), wait for
#   its HEALTHCHECK to pass, predict an example, check user and workers,
#   stop it and check it exited 0; then the compose topology (frontend and
#   workers as separate containers sharing the socket volume), run with
#   plain podman because compose cannot use host networking here.
# Prints "# image size: N MB". DOCKER_TEST=0 skips (no container engine).
. tests/lib.sh
tmp=$(tmpdir_make)
img=mnist-api
name=mnist-test-$$
if [ "${DOCKER_TEST:-1}" = 0 ]; then ok "docker # SKIP DOCKER_TEST=0"; exit 0; fi

check "container engine ready" sh -c "sh scripts/container-engine.sh >'$tmp/engine.log' 2>&1"
if ! command -v podman >/dev/null 2>&1; then not_ok "podman is not available"; exit 1; fi

# compose.yaml: the services and the shared socket volume.
check "compose.yaml: frontend and worker share /run/mnist, workers not spawned" \
    /usr/bin/python3 - docker/compose.yaml <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
fe, wk = s["frontend"], s["worker"]
assert "run:/run/mnist" in fe["volumes"] and "run:/run/mnist" in wk["volumes"]
assert str(fe["environment"]["MNIST_WORKERS"]) == "0"
assert wk["command"] == ["mnist-worker"] and "ports" not in wk
assert fe["build"]["dockerfile"] == "docker/Dockerfile" and "8000:8000" in fe["ports"]
assert "run" in c["volumes"]
PY

# One package list: the build stage installs through scripts/deps.sh.
check "Dockerfile build stage runs scripts/deps.sh build" \
    grep -q '^RUN sh scripts/deps.sh build' docker/Dockerfile
check "Dockerfile lists no -dev package itself" sh -c "! grep -qE 'lib[a-z0-9.+-]+-dev' docker/Dockerfile"

# A TLS-intercepting proxy's CA (as on these machines) reaches the build's
# curl through a read-only mount; elsewhere the system CAs do.
ca=
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    ca="-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg CA_BUNDLE=/run/host-ca.crt"
fi
start=$(date +%s)
# shellcheck disable=SC2086
if podman build --network=host --format docker $ca -f docker/Dockerfile -t "$img" . \
    >"$tmp/build.log" 2>&1; then
    ok "podman build -f docker/Dockerfile ($(( $(date +%s) - start )) s)"
else
    not_ok "podman build: $(tail -5 "$tmp/build.log")"
    exit 1
fi
size=$(podman image inspect --format '{{.Size}}' "$img")
echo "# image size: $((size / 1000000)) MB ($size bytes)"
base=$(podman image inspect --format '{{.Size}}' debian:bookworm-slim 2>/dev/null || echo 0)
[ "$base" -gt 0 ] && echo "# over debian:bookworm-slim: $(( (size - base) / 1000000 )) MB"
check "the runtime image carries no curl" podman run --rm --network=host --entrypoint /bin/sh "$img" \
    -c '! command -v curl && ! ls /usr/lib/x86_64-linux-gnu/libcurl* 2>/dev/null'
check "every shared library of the binaries is in the image" podman run --rm --network=host \
    --entrypoint /bin/sh "$img" -c '! ldd /usr/local/bin/mnist-* | grep -q "not found"' 
# ...and the other way round: every library package the runtime stage
# installs (docker/Dockerfile) is loaded by one of the binaries.
pkgs=$(sed -n '/^FROM debian:bookworm-slim$/,/rm -rf/p' docker/Dockerfile | tr ' \\' '\n\n' |
    grep -E '^lib[a-z0-9.+-]+$')
check "every library package of the runtime stage is loaded by a binary ($(echo $pkgs))" \
    podman run --rm --network=host --entrypoint /bin/sh "$img" -c '
    deps=$(ldd /usr/local/bin/mnist-* 2>/dev/null)
    for p in '"$(echo $pkgs)"'; do
        used=
        for f in $(dpkg -L "$p" | grep "\.so"); do
            case "$deps" in *"/${f##*/} "*) used=1 ;; esac
        done
        [ -n "$used" ] || { echo "$p: installed but no binary loads it"; exit 1; }
    done'
check_eq "image user" appuser "$(podman image inspect --format '{{.Config.User}}' "$img")"
check "image exposes 8000" sh -c "podman image inspect --format '{{json .Config.ExposedPorts}}' $img | grep -q 8000/tcp"
hc=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$img")
check "healthcheck interval 30s, timeout 10s, retries 3" sh -c \
    "echo '$hc' | grep -q '\"Interval\":30000000000' && echo '$hc' | grep -q '\"Timeout\":10000000000' && echo '$hc' | grep -q '\"Retries\":3'"

# One container: the frontend spawns one worker per CPU.
port=$(free_port)
on_exit "podman rm -f $name"
check "podman run" sh -c "podman run -d --network=host --name $name -e MNIST_LISTEN=127.0.0.1:$port $img >/dev/null 2>>$tmp/podman.err"
healthy() { podman healthcheck run "$name" >/dev/null 2>&1; }
check "HEALTHCHECK reports healthy" wait_for 60 healthy
check_eq "health status" healthy "$(podman inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null)"
ex=$(ls saved_images/*label_*.png 2>/dev/null | head -1)
want=$(echo "$ex" | sed -n 's/.*label_\([0-9]\).png/\1/p')
got=$(curl -sf -F "file=@$ex" "http://127.0.0.1:$port/predict" |
    sed -n 's/.*"digit":\([0-9]\).*/\1/p')
check_eq "predicts $ex" "$want" "$got"
check_eq "runs as uid 1000" 1000 "$(podman exec "$name" id -u)"
cpus=$(podman exec "$name" nproc)
check_eq "workers = CPUs" "{\"status\":\"ok\",\"workers\":$cpus}" "$(curl -sf "http://127.0.0.1:$port/health")"
check "docs served in the image" curl -sf -o /dev/null "http://127.0.0.1:$port/redoc/redoc.standalone.js"
check "access log reaches podman logs" sh -c "podman logs $name 2>&1 | grep -q 'POST /predict 200'"
check "podman stop" sh -c "podman stop -t 20 $name >/dev/null 2>&1"
check_eq "clean exit on SIGTERM" "0 exited" "$(podman inspect --format '{{.State.ExitCode}} {{.State.Status}}' "$name")"
check "workers stopped cleanly" sh -c "podman logs $name 2>&1 | grep -q 'exited with status 0'"
podman rm -f "$name" >/dev/null 2>&1

# The compose topology: frontend (MNIST_WORKERS=0) + 2 worker containers
# that dial ipc:///run/mnist/workers.sock on a shared named volume.
vol=mnist-test-run-$$
port=$(free_port)
on_exit "podman volume rm -f $vol"
on_exit "podman rm -f $name-fe $name-w1 $name-w2"
podman volume create "$vol" >/dev/null
check "frontend container" sh -c "podman run -d --network=host --name $name-fe -v $vol:/run/mnist \
    -e MNIST_WORKERS=0 -e MNIST_LISTEN=127.0.0.1:$port $img >/dev/null 2>>$tmp/podman.err"
for w in w1 w2; do
    check "worker container $w" sh -c "podman run -d --network=host --name $name-$w -v $vol:/run/mnist $img mnist-worker >/dev/null 2>>$tmp/podman.err"
done
two() { curl -sf "http://127.0.0.1:$port/health" | grep -q '"workers":2'; }
check "frontend sees 2 worker containers" wait_for 60 two
got=$(curl -sf -F "file=@$ex" "http://127.0.0.1:$port/predict" | sed -n 's/.*"digit":\([0-9]\).*/\1/p')
check_eq "predicts through a worker container" "$want" "$got"
podman stop -t 20 "$name-w1" >/dev/null 2>&1
one() { curl -sf "http://127.0.0.1:$port/health" | grep -q '"workers":1'; }
check "scaled down to 1 worker, still healthy" wait_for 20 one
check_eq "worker container exits 0" 0 "$(podman inspect --format '{{.State.ExitCode}}' "$name-w1")"
podman stop -t 20 "$name-w2" "$name-fe" >/dev/null 2>&1
check_eq "frontend container exits 0" 0 "$(podman inspect --format '{{.State.ExitCode}}' "$name-fe")"
