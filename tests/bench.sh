#!/bin/sh
# make bench: performance figures, never part of make test. Each section
# prints its own figures; docs/BENCHMARKS.md records them with this command.
# BENCH="pattern" limits the run to sections whose name contains pattern.
B=${B:-build}
export B
section() {
    case "$1" in *"${BENCH:-}"*) ;; *) return 1 ;; esac
    echo "== $1"
}

# Engine: C forward vs PyTorch on one thread, and the OpenBLAS sgemm peak.
if section engine; then
    W=${WEIGHTS:-weights/model.safetensors}
    OPENBLAS_NUM_THREADS=1 "$B/tests/bench_engine" --weights "$W"
    # The same with the AVX2 kernels, as on a host without AVX-512.
    OPENBLAS_NUM_THREADS=1 "$B/tests/bench_engine" --weights "$W" --isa avx2 --no-sgemm
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/bench_engine.py "$W"
fi

# Serving: HTTP -> h2o frontend -> nng -> 2 workers, with wrk (frontend/).
if section serving; then
    sh tests/bench_serving.sh
fi
