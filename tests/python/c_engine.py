"""The C engine's logits through build/mnist-eval --raw, for the Python
tests that compare it with PyTorch or numpy (test_parity, test_int8,
test_calibration). Not a test itself: tests/run.sh runs test_*.py only."""
import os
import subprocess

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVAL = os.path.join(ROOT, os.environ.get("B", "build"), "mnist-eval")


def logits(precision, weights, pixels, batch, tmp, isa=None):
    """pixels (N x 784 float32 in [0, 1]) through the engine of `precision`
    (fp32 or int8) with `weights`, `batch` images at a time, the kernels of
    `isa` if given. Returns (N x 10 logits, "") or (None, mnist-eval's
    error)."""
    src, dst = os.path.join(tmp, "in.f32"), os.path.join(tmp, "out.f32")
    pixels.astype("<f4").tofile(src)
    cmd = [EVAL, "--precision", precision, "--weights", weights, "--batch", str(batch),
           "--raw", src, "--out", dst] + (["--isa", isa] if isa else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return np.fromfile(dst, dtype="<f4").reshape(-1, 10), ""
