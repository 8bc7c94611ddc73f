#!/bin/sh
# Only the service's own user may serve: a process of another user that can
# reach workers.sock must never become a worker (issue 10). Uses a temporary
# Unix user (useradd, removed at exit even on failure; skipped when not run
# as root) and setpriv.
#  A. frontend as root under a permissive umask (000): workers.sock is
#     still 0600, so a worker run as the temporary user cannot connect.
#  B. frontend and its worker as the temporary user, an impostor worker as
#     root (root ignores file modes): the frontend refuses the pipe by peer
#     uid, logs it, never counts it (the count stays exactly 1 while the
#     impostor keeps redialing) and never sends it a request.
. tests/lib.sh
B=${B:-build}
FE=$(realpath "$B/mnist-frontend")
WK=$(realpath "$B/mnist-worker")
W=$(realpath weights/model.safetensors)
IMG=saved_images/img_0_label_6.png

[ -x "$FE" ] && [ -x "$WK" ] || { not_ok "binaries built"; exit 1; }
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null; then
    ok "impostor test # SKIP needs root, useradd and setpriv"
    exit 0
fi
user=mnimp$$
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
    { not_ok "useradd $user"; exit 1; }
on_exit "userdel -f '$user'"
uid=$(id -u "$user")
gid=$(id -g "$user")
# A command prefix, not a function: "$!" must be the process itself.
as_user="setpriv --reuid=$uid --regid=$gid --clear-groups"
d=$(tmpdir_make)
chmod 711 "$T_TMP" "$d" # the user may pass through, not list

health() { curl -s "$url/health" | jq -r '"\(.status) \(.workers)"'; }
health_is() { [ "$(health)" = "$1" ]; }
# served_by_only LOG N PID: N predictions, all 200, each answered by PID (per LOG).
served_by_only() {
    i=0
    while [ $i -lt "$2" ]; do
        curl -s -o /dev/null -D "$d/hdr" -w '%{http_code}\n' -F "file=@$IMG" "$url/predict"
        i=$((i + 1))
    done >"$d/codes"
    [ "$(grep -c '^200$' "$d/codes")" = "$2" ] || { echo "# codes: $(sort "$d/codes" | uniq -c)"; return 1; }
    # The access log names the worker that answered each prediction.
    grep 'POST /predict 200' "$1" | grep -v "worker=$3\$" >"$d/others"
    [ ! -s "$d/others" ] || { echo "# answered by others: $(head -3 "$d/others")"; return 1; }
}
start_frontend() { # LOG RUNDIR [PREFIX...]
    log=$1 rundir=$2; shift 2
    port=$(free_port)
    url=http://127.0.0.1:$port
    "$@" "$FE" --listen "127.0.0.1:$port" --rundir "$rundir" >"$log" 2>&1 &
    fe=$!
    on_exit "kill -9 $fe"
    wait_for 10 curl -s -o /dev/null "$url/health"
}
start_worker() { # LOG RUNDIR [PREFIX...]; sets wk
    log=$1 rundir=$2; shift 2
    MNIST_LOG_LEVEL=debug "$@" "$WK" --connect "ipc://$rundir/workers.sock" --weights "$W" \
        >"$log" 2>&1 &
    wk=$!
    on_exit "kill -9 $wk"
}

# ---- A. another user cannot reach the socket -------------------------------
mkdir -m 711 "$d/a"
(umask 000 && start_frontend "$d/fe-a.log" "$d/a" && echo "$fe $port" >"$d/a.fe") 
read -r fe port <"$d/a.fe"
url=http://127.0.0.1:$port
on_exit "kill -9 $fe"
check_eq "workers.sock is 0600 even under umask 000" 600 "$(stat -c %a "$d/a/workers.sock")"
start_worker "$d/wa.log" "$d/a"
legit=$wk
check "the service user's worker joins" wait_for 10 health_is 'ok 1'
start_worker "$d/imp-a.log" "$d/a" $as_user
imp=$wk
sleep 1.5 # the impostor redials every 20-300 ms
check_eq "another user's worker is not counted" 'ok 1' "$(health)"
check "predictions all answered by the service's worker" served_by_only "$d/fe-a.log" 10 "$legit"
check_eq "the impostor received no request" 0 "$(grep -c 'decode [0-9a-f]*: ' "$d/imp-a.log")"
check "the impostor never connected" sh -c "! grep -q 'connected to' '$d/imp-a.log'"
kill -9 "$imp" "$fe" 2>/dev/null

# ---- B. root dials a socket of another user: refused by peer uid ------------
mkdir -m 700 "$d/b"
chown "$uid:$gid" "$d/b"
start_frontend "$d/fe-b.log" "$d/b" $as_user
start_worker "$d/wb.log" "$d/b" $as_user
legit=$wk
check "the service user's worker joins (service run as $user)" wait_for 10 health_is 'ok 1'
start_worker "$d/imp-b.log" "$d/b"
imp=$wk
check "the frontend logs the refused uid" wait_for 10 grep -q 'refused a worker connection from uid 0' "$d/fe-b.log"
stable=1
for i in 1 2 3 4 5 6 7 8 9 10; do
    h=$(health)
    [ "$h" = 'ok 1' ] || { stable=0; echo "# /health said '$h'"; }
    sleep 0.2
done
check_eq "the count stays exactly 1 while the impostor keeps redialing" 1 "$stable"
check "predictions all answered by the service's worker" served_by_only "$d/fe-b.log" 10 "$legit"
check_eq "the impostor received no request" 0 "$(grep -c 'decode [0-9a-f]*: ' "$d/imp-b.log")"
echo "# impostor warnings logged: $(grep -c 'refused a worker connection' "$d/fe-b.log") (one per 10 s)"
kill -9 "$imp"
sleep 0.5
check_eq "after the impostor left, still 1 worker" 'ok 1' "$(health)"
