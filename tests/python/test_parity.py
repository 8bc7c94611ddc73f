"""Parity: the C engine (through build/mnist-eval --raw) against PyTorch.

For the shipped weights and for a seeded random set (with pos_embed and the
layer-norm parameters moved away from their defaults, so that nothing
passes by accident), both compute logits for 224 TEST images; the C side
runs them in batches of 1, 7 and 32 (and forced to its AVX2 and plain C
kernels once each). Pass: max |diff| <= 1e-4 and the same
argmax for every image. On the whole TEST split, the shipped weights score
the same in the C engine (mnist-eval's accuracy line) as in PyTorch, and at
least 99.3 % (issue 15). Prints TAP lines.
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "weights"))
from model import MnistNet, load_model, load_split, normalise, save_safetensors  # noqa: E402
import c_engine  # noqa: E402  (tests/python, the script's own folder)

B = os.environ.get("B", "build")
EVAL = os.path.join(ROOT, B, "mnist-eval")
N = 224
TOL = 1e-4
MIN_ACCURACY = 99.3  # % on TEST for the shipped float32 weights (issue 15)
failed = 0


def tap(ok, name):
    global failed
    failed += 0 if ok else 1
    print(("ok - " if ok else "not ok - ") + name, flush=True)


def torch_logits(model, pixels):
    out = []
    with torch.inference_mode():
        for i in range(0, len(pixels), 32):
            out.append(model(normalise(pixels[i:i + 32])).numpy())
    return np.concatenate(out)


def check(label, weights, pixels, tmp):
    want = torch_logits(load_model(weights), pixels)
    # The best kernels this CPU has at every batch size, then each slower
    # variant once (a CPU without them runs the best it has instead).
    runs = [(b, None) for b in (1, 7, 32)] + [(7, "avx2"), (32, "generic")]
    for batch, isa in runs:
        got, err = c_engine.logits("fp32", weights, pixels, batch, tmp, isa)
        if isa:
            batch = f"{batch} ({isa})"
        if got is None or got.shape != want.shape:
            tap(False, f"{label} batch {batch}: mnist-eval failed: {err}")
            continue
        diff = float(np.abs(got - want).max())
        same = int((got.argmax(1) == want.argmax(1)).sum())
        tap(diff <= TOL, f"{label} batch {batch}: max |diff| {diff:.2e} <= {TOL:g}")
        tap(same == len(want), f"{label} batch {batch}: argmax equal for {same}/{len(want)}")


def test_accuracy(weights, pixels, labels):
    """The whole TEST split: PyTorch's count of right answers, then the C
    engine's (best kernels, mnist-eval reading the split itself)."""
    want = int((torch_logits(load_model(weights), pixels).argmax(1) == labels).sum())
    r = subprocess.run([EVAL, "--precision", "fp32", "--weights", weights, "--data",
                        os.path.join(ROOT, B, "data")], capture_output=True, text=True)
    m = re.search(r"^accuracy ([0-9.]+)% \((\d+)/(\d+)\)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        tap(False, f"shipped weights TEST accuracy: mnist-eval failed: {r.stderr.strip()}")
        return
    got, n = int(m.group(2)), int(m.group(3))
    tap(n == len(labels) and got == want,
        f"shipped weights TEST: C engine {got}/{n} right, PyTorch {want}/{len(labels)}")
    pct = 100.0 * got / len(labels)
    tap(pct >= MIN_ACCURACY, f"shipped weights TEST accuracy {pct:.2f}% >= {MIN_ACCURACY}%")


def random_weights(path):
    torch.manual_seed(20240607)
    sd = MnistNet().state_dict()
    with torch.no_grad():
        for name, t in sd.items():
            if name == "pos_embed":
                t.copy_(torch.randn_like(t) * 0.5)
            elif "norm" in name and name.endswith("weight"):
                t.copy_(1.0 + 0.5 * torch.randn_like(t))
            elif "norm" in name:
                t.copy_(0.5 * torch.randn_like(t))
            elif name.endswith("bias"):
                t.add_(0.1 * torch.randn_like(t))
    save_safetensors(sd, path)
    # Nothing left at its default: a C engine that ignored any of these
    # tensors would fail the comparison.
    return sd


def main():
    torch.set_num_threads(1)
    all_pixels, labels = load_split(os.path.join(ROOT, B, "data"), "test")
    pixels = all_pixels[:N]
    tap(len(pixels) == N, f"{N} TEST images")
    with tempfile.TemporaryDirectory(prefix="mnist-parity.") as tmp:
        shipped = os.path.join(ROOT, "weights", "model.safetensors")
        tap(os.path.exists(shipped), "shipped weights exist")
        check("shipped weights", shipped, pixels, tmp)
        test_accuracy(shipped, all_pixels, labels)
        rw = os.path.join(tmp, "random.safetensors")
        random_weights(rw)
        check("random weights", rw, pixels, tmp)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
