#!/bin/sh
# api.sock is reachable by the callers' group only: the frontend creates it
# mode 0660, so a user in the socket's group can call it and another user
# cannot. Runs mnist-client as two temporary users (created here, removed
# at exit); needs root, useradd and setpriv.
. tests/lib.sh
. tests/integration/ops-lib.sh
tmp=$(tmpdir_make)
if ! have_frontend || [ ! -x "$B/mnist-client" ]; then
    ok "socket permissions # SKIP no $B/mnist-frontend or mnist-client yet"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
    ok "socket permissions # SKIP needs root, useradd and setpriv"
    exit 0
fi
tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
grp=mnt$tag
uin=mnti$tag
uout=mnto$tag
on_exit "userdel $uin; userdel $uout; groupdel $grp"
groupadd "$grp" && useradd -M -N -s /usr/sbin/nologin -G "$grp" "$uin" &&
    useradd -M -N -s /usr/sbin/nologin "$uout"
check "temporary group $grp and users $uin (member), $uout (not) created" \
    sh -c "id -u '$uin' >/dev/null && id -u '$uout' >/dev/null"

# A run directory outside the test's private temp dir, owned by root, group
# $grp, setgid (the socket inherits the group, as systemd's Group= gives
# group mnist), and open for traversal so that only the socket mode decides.
base=$(mktemp -d /tmp/mnist-perms.XXXXXX)
on_exit "rm -rf '$base'"
chmod 0755 "$base"
mkdir "$base/run" && chgrp "$grp" "$base/run" && chmod 2755 "$base/run"
cp "$B/mnist-client" tests/images/png_gray8.png "$base/"
chmod 0755 "$base/mnist-client"
chmod 0644 "$base/png_gray8.png"

FE_PORT=$(free_port)
FE_URL=http://127.0.0.1:$FE_PORT
MNIST_WEIGHTS=$FE_WEIGHTS "$B/mnist-frontend" --listen "127.0.0.1:$FE_PORT" --rundir "$base/run" \
    --spawn-workers 1 --worker-bin "$B/mnist-worker" --weights "$FE_WEIGHTS" >"$tmp/fe.log" 2>&1 &
FE_PID=$!
on_exit "kill -9 $FE_PID"
check "frontend healthy" wait_for 20 curl -sf "$FE_URL/health"
mode=$(stat -c '%a %G' "$base/run/api.sock")
check_eq "api.sock is mode 0660, group $grp" "660 $grp" "$mode"

as() {
    u=$1; shift
    setpriv --reuid="$u" --regid=users --init-groups "$@"
}
as "$uin" "$base/mnist-client" --url "ipc://$base/run/api.sock" --timeout-ms 5000 \
    "$base/png_gray8.png" >"$tmp/in.out" 2>"$tmp/in.err"
check "a member of $grp gets a prediction through api.sock ($(head -c 120 "$tmp/in.err"))" \
    grep -q "png_gray8.png [0-9] " "$tmp/in.out"
as "$uout" "$base/mnist-client" --url "ipc://$base/run/api.sock" --timeout-ms 5000 \
    "$base/png_gray8.png" >"$tmp/out.out" 2>"$tmp/out.err"
rc=$?
check_eq "a user outside $grp is refused (exit 2)" 2 "$rc"
check "  with permission denied ($(head -c 120 "$tmp/out.err"))" grep -qi 'permission denied' "$tmp/out.err"
fe_stop
