"""PyTorch reference timing for make bench: the same model and weights as the
C engine, 1 thread, eval mode, inference_mode; median of repeated runs at
batch 1, 8 and 32. Usage: bench_engine.py WEIGHTS [RUNS]"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "weights"))
from model import load_model  # noqa: E402

FLOP_PER_IMAGE = 36.6e6


def main():
    weights = sys.argv[1] if len(sys.argv) > 1 else "weights/model.safetensors"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    torch.set_num_threads(1)
    model = load_model(weights)
    torch.manual_seed(0)
    print(f"pytorch {torch.__version__}: 1 thread, eval, inference_mode, median of {runs} runs")
    with torch.inference_mode():
        for batch in (1, 8, 32):
            x = torch.randn(batch, 1, 28, 28)
            iters = max(8, 256 // batch)
            for _ in range(iters):
                model(x)
            times, cpu = [], []
            for _ in range(runs):
                t0, c0 = time.perf_counter(), time.thread_time()
                for _ in range(iters):
                    model(x)
                times.append((time.perf_counter() - t0) / iters)
                cpu.append((time.thread_time() - c0) / iters)
            s = statistics.median(times)
            print(f"pytorch batch {batch:2d}: {s * 1e3:7.3f} ms/batch {batch / s:8.0f} images/s "
                  f"{batch * FLOP_PER_IMAGE / s * 1e-9:6.1f} GFLOP/s "
                  f"(best run {min(times) * 1e3:.3f} ms, "
                  f"median CPU time {statistics.median(cpu) * 1e3:.3f} ms)")


if __name__ == "__main__":
    main()
