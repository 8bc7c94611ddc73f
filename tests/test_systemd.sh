#!/bin/sh
# systemd units: `make install` into a temporary DESTDIR puts binaries,
# weights, docs site, units and the sysusers file in place; the installed
# units pass `systemd-analyze verify` (strict: any warning fails) and keep
# their hardening; and the frontend speaks the notify protocol that
# Type=notify and WatchdogSec rely on (READY=1, WATCHDOG=1), checked
# against a fake NOTIFY_SOCKET since no systemd runs as PID 1 here.
. tests/lib.sh
B=${B:-build}
tmp=$(tmpdir_make)
root=$tmp/root
prefix=/usr/local
units=$root$prefix/lib/systemd/system

# Weights: the committed ones, or what a build/test run made.
weights=weights/model.safetensors
[ -f "$weights" ] || weights=$B/model-trained.safetensors
[ -f "$weights" ] || weights=$B/model-random.safetensors

if make -s --no-print-directory install B="$B" DESTDIR="$root" PREFIX="$prefix" \
    WEIGHTS="$weights" >"$tmp/install.log" 2>&1; then
    ok "make install DESTDIR=... PREFIX=$prefix"
else
    not_ok "make install: $(tail -5 "$tmp/install.log")"
fi
for f in bin/mnist-frontend bin/mnist-worker share/mnist/model.safetensors \
    share/mnist/www/openapi.json share/mnist/www/docs/index.html \
    share/mnist/www/docs/swagger-ui-bundle.js share/mnist/www/redoc/index.html \
    share/mnist/www/redoc/redoc.standalone.js share/doc/mnist/operations.md \
    lib/systemd/system/mnist-frontend.service lib/systemd/system/mnist-worker@.service \
    lib/systemd/system/mnist.target lib/sysusers.d/mnist.conf; do
    check "installed $f" test -s "$root$prefix/$f"
done
check "no dotfiles in the installed site" \
    test -z "$(find "$root$prefix/share/mnist/www" -name '.*')"
check "binaries are executable" test -x "$root$prefix/bin/mnist-frontend"
check "installed units name installed paths" \
    grep -q "^ExecStart=$prefix/bin/mnist-frontend\$" "$units/mnist-frontend.service"
check "no placeholder left in units" sh -c "! grep -q '@[A-Z]*@' '$units'/*"

# systemd-analyze checks that ExecStart= exists, so verify copies whose
# paths point into the DESTDIR tree.
mkdir -p "$tmp/verify"
for u in mnist-frontend.service mnist-worker@.service mnist.target; do
    sed "s|$prefix/|$root$prefix/|g" "$units/$u" >"$tmp/verify/$u"
done
if systemd-analyze verify --man=no --generators=no "$tmp/verify/mnist-frontend.service" \
    "$tmp/verify/mnist-worker@1.service" "$tmp/verify/mnist-worker@4.service" \
    "$tmp/verify/mnist.target" >"$tmp/verify.log" 2>&1 && [ ! -s "$tmp/verify.log" ]; then
    ok "systemd-analyze verify: no errors, no warnings"
else
    not_ok "systemd-analyze verify: $(head -5 "$tmp/verify.log")"
fi
# A broken unit must fail, or the check above proves nothing.
sed 's|^ExecStart=.*|ExecStart=/nonexistent/mnist-frontend|' "$tmp/verify/mnist-frontend.service" \
    >"$tmp/verify/broken.service"
check "verify rejects a unit with a missing binary" \
    sh -c "! systemd-analyze verify --man=no --generators=no '$tmp/verify/broken.service' >/dev/null 2>&1"

fe=$units/mnist-frontend.service
wk=$units/mnist-worker@.service
for k in Type=notify WatchdogSec= NotifyAccess=main; do
    check "frontend has $k" grep -q "^$k" "$fe"
done
for u in "$fe" "$wk"; do
    unit=$(basename "$u")
    for k in User=mnist Group=mnist RuntimeDirectory=mnist RuntimeDirectoryMode=0750 \
        RuntimeDirectoryPreserve=yes UMask=0007 NoNewPrivileges=yes ProtectSystem=strict \
        ProtectHome=yes PrivateTmp=yes PrivateDevices=yes MemoryMax= \
        RestrictAddressFamilies=AF_UNIX CapabilityBoundingSet= SystemCallFilter=@system-service; do
        check "$unit has $k" grep -q "^$k" "$u"
    done
    # systemd's own exposure score (0 safe .. 10 unsafe); ours is about 1.5.
    score=$(systemd-analyze security --offline=yes "$tmp/verify/$unit" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    check "$unit exposure $score below 2.5" awk "BEGIN{exit !(\"$score\" != \"\" && $score < 2.5)}"
done
check "target pulls in the frontend" grep -q '^Wants=.*mnist-frontend.service' \
    "$units/mnist.target"
check "worker is a template that joins the target" grep -q '^WantedBy=mnist.target' "$wk"
check "sysusers creates user mnist" grep -q '^u mnist ' "$root$prefix/lib/sysusers.d/mnist.conf"

# The notify protocol, against a fake NOTIFY_SOCKET.
fe_bin=$B/mnist-frontend
if [ ! -x "$fe_bin" ] || [ ! -x "$B/mnist-worker" ]; then
    ok "sd_notify # SKIP no $fe_bin yet"
    exit 0
fi
sock=$tmp/notify.sock
/usr/bin/python3 - "$sock" "$tmp/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + 60
with open(sys.argv[2], "a", buffering=1) as log:
    while time.time() < end:
        try:
            log.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
        except socket.timeout:
            pass
PY
listener=$!
on_exit "kill $listener"
wait_for 5 test -S "$sock" || not_ok "notify listener did not start"
port=$(free_port)
mkdir -p "$tmp/run"
NOTIFY_SOCKET=$sock WATCHDOG_USEC=1000000 RUNTIME_DIRECTORY=$tmp/run \
    MNIST_WWW=$root$prefix/share/mnist/www MNIST_WEIGHTS=$weights \
    "$fe_bin" --listen "127.0.0.1:$port" --spawn-workers 1 >"$tmp/fe.log" 2>&1 &
fe=$!
on_exit "kill -9 $fe"
check "READY=1 sent" wait_for 10 grep -q 'READY=1' "$tmp/notify.log"
check "serving when READY=1 arrives" curl -sf -o /dev/null "http://127.0.0.1:$port/openapi.json"
check "WATCHDOG=1 keep-alives" wait_for 5 sh -c "[ \$(grep -c 'WATCHDOG=1' '$tmp/notify.log') -ge 2 ]"
check "docs served from the installed tree" \
    curl -sf -o /dev/null "http://127.0.0.1:$port/redoc/redoc.standalone.js"
kill -TERM "$fe"
wait "$fe"
check_eq "frontend exits 0 on SIGTERM" 0 $?
