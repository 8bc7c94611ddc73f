#!/bin/sh
# kubernetes/ checked offline (issue 11): every object against the
# Kubernetes API schemas (kubernetes-models, pinned in tests/node) and the
# objects against each other and the code (k8s-check.cjs). Broken copies
# prove that the checker fails: a schema error, a probe on a path the
# frontend does not serve, a selector that matches nothing, an image that
# docker/ does not build, a NetworkPolicy open to any pod.
. tests/lib.sh
B=${B:-build}
tools=$(sh tests/node/node-tools.sh "$B/node-tools") || tools=
check "node tools installed (npm ci, integrity-checked)" test -n "$tools"
[ -n "$tools" ] || exit 1
tools=$(cd "$tools" && pwd)
d=$(tmpdir_make)
run() { node tests/integration/k8s-check.cjs "$tools" "$1" . >"$d/out" 2>&1; }

if run kubernetes; then
    ok "kubernetes/ validates and hangs together ($(grep -c '^ok' "$d/out") checks)"
else
    grep '^not ok' "$d/out" | head -20
    not_ok "kubernetes/ validates and hangs together"
fi
check "every manifest object was schema-checked" \
    sh -c "[ \"\$(grep -c 'validates against the API schema' '$d/out')\" -ge 11 ]"

# broken NAME FILE SED-EXPR EXPECTED-LINE: the checker must fail, naming it
broken() {
    rm -rf "$d/k" && cp -r kubernetes "$d/k" && sed -i "$3" "$d/k/$2"
    if run "$d/k"; then
        not_ok "the checker catches $1"
    elif grep -q "^not ok.*$4" "$d/out"; then
        ok "the checker catches $1"
    else
        not_ok "the checker catches $1 (not named: $(grep '^not ok' "$d/out" | head -3))"
    fi
}
broken "a schema error" frontend.yaml 's/replicas: 2/replicas: two/' "validates against the API schema"
broken "a probe on a path the frontend does not serve" frontend.yaml \
    's|path: /health/ready|path: /healthz|' "probe path /healthz"
broken "a Service selecting no pods" frontend-services.yaml \
    '0,/component: frontend/! s/component: frontend/component: frontned/' "selects one Deployment"
broken "an image docker/ does not build" worker.yaml 's/image: mnist-api/image: mnist/' "image mnist is"
broken "a worker link open to any pod" networkpolicy.yaml \
    '0,/- from:/ s/- from:/- fromX:/' "only worker pods may reach"
broken "a flag the program does not have" worker.yaml 's/- --connect/- --dial/' "flag --dial"
broken "a TLS file missing from the Secret" worker.yaml 's|/etc/mnist/tls/worker.key|/etc/mnist/tls/w.key|' \
    "MNIST_TLS_KEY"
