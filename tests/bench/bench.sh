#!/bin/sh
# make bench: performance figures, never part of make test. Each section
# prints its own figures; docs/BENCHMARKS.md records them with this command.
# BENCH="pattern" limits the run to sections whose name contains pattern.
B=${B:-build}
export B
wanted() { case "$1" in *"${BENCH:-}"*) return 0 ;; esac; return 1; }
section() { wanted "$1" && echo "== $1"; }

# Engine: C forward, fp32 and int8 in the same run (int8 / fp32 speedups),
# vs PyTorch on one thread, and the OpenBLAS sgemm, FMA and VNNI peaks.
if section engine; then
    W=${WEIGHTS:-weights/model.safetensors}
    # Other work on the machine skews every figure: say how busy it was.
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    OPENBLAS_NUM_THREADS=1 "$B/tests/bench_engine" --weights "$W"
    # The same with the AVX2 / AVX-VNNI kernels, as on a host without AVX-512.
    OPENBLAS_NUM_THREADS=1 "$B/tests/bench_engine" --weights "$W" --isa avx2 --no-sgemm
    # mnist-eval's own throughput line for each precision (whole TEST split).
    for p in fp32 int8; do
        "$B/mnist-eval" --weights "$W" --precision $p | grep -E '^(weights|accuracy|throughput)'
    done
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/bench/bench_engine.py "$W"
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

# Serving: HTTP -> h2o frontend -> nng -> 2 workers, with wrk (frontend/).
if section serving; then
    sh tests/bench/bench_serving.sh
fi

# Before / after (issue 14): BASE_REV (default 9f96897, main before the bf16
# attention and the leaner request path) built in a temporary git worktree
# ($B/bench-base, removed afterwards) and measured in the same run as this
# tree: instructions per request around the model (callgrind, "path") and
# serving (1-client p50, 32-client predictions/s, CPU per request: "compare").
base_build() {
    base=$B/bench-base
    git worktree remove --force "$base" 2>/dev/null
    rm -rf "$base"
    git worktree add --detach "$base" "${BASE_REV:-9f96897}" >/dev/null 2>&1 &&
        make -C "$base" -j2 build/mnist-frontend build/mnist-worker >"$B/bench-base.log" 2>&1 &&
        echo "before: ${BASE_REV:-9f96897} ($(git -C "$base" log -1 --format=%s | cut -c1-60)...)"
}
base_drop() { git worktree remove --force "$B/bench-base" 2>/dev/null; rm -rf "$B/bench-base"; }
if wanted path || wanted compare; then
    base_build || { echo "cannot build ${BASE_REV:-9f96897}: $B/bench-base.log"; base_drop; exit 1; }
    if section path; then
        sh tests/bench/bench_path.sh "$B/bench-base/build" before
        sh tests/bench/bench_path.sh "$B" after
    fi
    if section compare; then
        sh tests/bench/bench_compare.sh before="$B/bench-base/build" after="$B" \
            after-fp32="$B:fp32" before-fp32="$B/bench-base/build:fp32"
    fi
    base_drop
fi

# Images: decode + normalise per image (img_to_mnist, no model), median of
# repeats, for a 28x28 PNG, 1000x1000 and 4000x3000 JPEG photos and a
# 2000x1500 PNG photo; then the original service's Pillow preprocessing
# (open, convert("L"), resize to 28x28) on the same files for scale; then
# the hostile files of tests/stress/gen_hostile.py with their peak RSS.
if section images; then
    dir=$B/bench-images
    /usr/bin/python3 scripts/gen-test-images.py large "$B/data" "$dir"
    set -- "$dir/mnist_28x28.png" "$dir/photo_1000x1000.jpg" "$dir/photo_4000x3000.jpg" \
        "$dir/photo_2000x1500.png"
    "$B/mnist-predict" --bench 50 "$@"
    /usr/bin/python3 -c '
import io, sys, time
from PIL import Image
for f in sys.argv[1:]:
    data = open(f, "rb").read()
    t = []
    for _ in range(20):
        a = time.perf_counter()
        Image.open(io.BytesIO(data)).convert("L").resize((28, 28))
        t.append((time.perf_counter() - a) * 1e3)
    t.sort()
    print(f"{f}: Pillow open+convert+resize median {t[len(t) // 2]:.3f} ms (20 runs)")
' "$@"
    # Hostile-but-legal files (tests/stress/gen_hostile.py, issue 10): each
    # in its own process, so the peak RSS is that file's (process included).
    # A refused file prints its error; the CPU time is then one attempt's.
    hdir=$B/hostile
    [ -e "$hdir/png_adam7_6000x6000.png" ] || /usr/bin/python3 tests/stress/gen_hostile.py "$hdir"
    for f in "$hdir"/*; do
        /usr/bin/time -f "$f: process peak RSS %M KB, CPU %U s user + %S s sys" \
            "$B/mnist-predict" --bench 5 "$f" 2>&1
    done
fi
