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
[ -f "$weights" ] || weights=$B/model-random.safetensors

if make -s --no-print-directory install B="$B" DESTDIR="$root" PREFIX="$prefix" \
    WEIGHTS="$weights" >"$tmp/install.log" 2>&1; then
    ok "make install DESTDIR=... PREFIX=$prefix"
else
    not_ok "make install: $(tail -5 "$tmp/install.log")"
    exit 1
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
    check "worker has $k" grep -q "^$k" "$units/mnist-worker@.service"
done
check "worker reloads its weights on systemctl reload (SIGHUP)" \
    grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$wk"
check "worker has no network but its Unix socket" grep -q '^PrivateNetwork=yes' "$units/mnist-worker@.service"
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
# Logs "PID message" per datagram; the sender's pid comes from SCM_CREDENTIALS
# as systemd gets it, so the frontend's messages can be told from a worker's.
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + 60
with open(sys.argv[2], "a", buffering=1) as log:
    while time.time() < end:
        try:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            continue
        pid = 0
        for lvl, typ, data in anc:
            if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        log.write("%d %s\n" % (pid, msg.decode(errors="replace").replace("\n", " ")))
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
check "READY=1 sent by the frontend itself" wait_for 10 grep -q "^$fe READY=1" "$tmp/notify.log"
check "serving when READY=1 arrives" curl -sf -o /dev/null "http://127.0.0.1:$port/openapi.json"
check "WATCHDOG=1 keep-alives from the frontend" \
    wait_for 5 sh -c "[ \$(grep -c '^$fe .*WATCHDOG=1' '$tmp/notify.log') -ge 2 ]"
check "docs served from the installed tree" \
    curl -sf -o /dev/null "http://127.0.0.1:$port/redoc/redoc.standalone.js"
# A worker as mnist-worker@.service runs it: its own READY=1 and keep-alives.
NOTIFY_SOCKET=$sock WATCHDOG_USEC=1000000 RUNTIME_DIRECTORY=$tmp/run MNIST_WEIGHTS=$weights \
    "$B/mnist-worker" >"$tmp/worker.log" 2>&1 &
wk=$!
on_exit "kill -9 $wk"
check "READY=1 sent by the worker" wait_for 10 grep -q "^$wk READY=1" "$tmp/notify.log"
check "WATCHDOG=1 keep-alives from the worker" \
    wait_for 5 sh -c "[ \$(grep -c '^$wk .*WATCHDOG=1' '$tmp/notify.log') -ge 2 ]"
two() { curl -sf "http://127.0.0.1:$port/health" | grep -q '"workers":2'; }
check "the worker unit's process joins the frontend" wait_for 10 two
kill -TERM "$wk"
wait_exit 15 "$wk"
check_eq "worker exits 0 on SIGTERM" 0 $?
kill -TERM "$fe"
wait_exit 15 "$fe"
check_eq "frontend exits 0 on SIGTERM" 0 $?
