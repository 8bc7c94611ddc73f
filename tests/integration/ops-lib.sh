# Helpers for the operations tests (docs, metrics, postman): start the real
# frontend on loopback with a temporary run directory. Source after lib.sh.
#   fe_start DIR WORKERS [ARGS...]  sets FE_PID, FE_URL; logs to DIR/fe.log
#   fe_stop                         SIGTERM, wait (at most 15 s); returns the exit status
#   have_frontend                   true when the binaries are built
B=${B:-build}
FE_WEIGHTS=weights/model.safetensors
have_frontend() { [ -x "$B/mnist-frontend" ] && [ -x "$B/mnist-worker" ]; }
fe_start() {
    dir=$1; workers=$2; shift 2
    mkdir -p "$dir/run"
    FE_PORT=$(free_port)
    FE_URL=http://127.0.0.1:$FE_PORT
    MNIST_WWW=${MNIST_WWW:-$B/www} MNIST_WEIGHTS=$FE_WEIGHTS PATH="$B:$PATH" \
        "$B/mnist-frontend" --listen "127.0.0.1:$FE_PORT" --rundir "$dir/run" \
        --spawn-workers "$workers" --weights "$FE_WEIGHTS" "$@" >>"$dir/fe.log" 2>&1 &
    FE_PID=$!
    on_exit "kill -9 $FE_PID"
    if [ "$workers" -gt 0 ]; then
        wait_for 20 curl -sf "$FE_URL/health"
    else
        wait_for 20 curl -s -o /dev/null "$FE_URL/openapi.json"
    fi
}
fe_stop() {
    kill -TERM "$FE_PID" 2>/dev/null
    wait_exit 15 "$FE_PID"
}
