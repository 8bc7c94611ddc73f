"""Accuracy of the image pipeline on generated uploads (issue 4).

Generates a "paper" set (dark digits photographed on paper: texture,
uneven light, noise, slight rotation, JPEG), a "canvas" set (strokes on
a transparent background, dark and light), and "shadow" sets (smaller
digits, more rotation, blur, a soft or a hard-edged shadow across the
page; the hard one is a known weakness with a low floor) from the TEST
split with scripts/gen-test-images.py, and with scripts/gen-frame-images.py
a "framed" set (digits written in printed boxes, circles and open frames,
some touching the frame or the photo's edge; issue 15, floor 98 %) and a
"form" set (a row of 2-6 printed boxes, the digit in one of them; floor
98 %) and a "ruled" set (the digit between two printed rules; floor 98 %). Runs them through build/mnist-predict (the worker's pipeline) and
asserts accuracy floors: at the default sizes, no set may read more than
0.3 points below its figure from before issue 15. The original service's
pipeline (Pillow: convert("L"), resize to 28x28, no inversion, the same
model in PyTorch) is measured on the same files for comparison. Also: the
TEST split itself encoded as PNG must score within 0.3 points of
build/mnist-eval's raw-pixel accuracy.

    /usr/bin/python3 tests/python/test_images_accuracy.py [--markdown]

IMG_EVAL_N sets the size of the paper, canvas and framed sets (default 300); the
shadow sets are half as big (their photos are larger), the form set a sixth,
the ruled set a third.
"""
import importlib.util
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "weights"))
import model as mnist_model  # noqa: E402

B = os.environ.get("B", "build")
DATA = os.path.join(B, "data")
WEIGHTS = os.environ.get("WEIGHTS", "weights/model.safetensors")
N = int(os.environ.get("IMG_EVAL_N", "300"))
FLOOR = 90.0
# Issue 15's rule: no set reads more than 0.3 points below what it read
# before that issue (docs/images.md at 3ef8865: the first weights, no
# frame stage; the sets are generated the same way since). Applies to the
# documented set sizes (IMG_EVAL_N unset or 300); other sizes keep the
# floors above.
BEFORE_ISSUE_15 = {"paper": 99.3, "canvas": 99.3, "shadow": 98.0, "shadow-hard": 85.3,
                   "TEST split as PNG": 99.00}
REGRESSION = 0.3
failed = 0


def tap(ok, name):
    global failed
    print(("ok - " if ok else "not ok - ") + name, flush=True)
    failed += not ok


def generator(name="gen-test-images.py"):
    spec = importlib.util.spec_from_file_location("gen", os.path.join(ROOT, "scripts", name))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def predict(files):
    """file -> digit through build/mnist-predict."""
    r = subprocess.run([os.path.join(B, "mnist-predict"), "--weights", WEIGHTS] + files,
                       capture_output=True, text=True)
    out = {}
    for line in r.stdout.splitlines():
        f, d, _ = line.rsplit(" ", 2)
        out[f] = int(d)
    return out


def original_pipeline(net, files):
    """The replaced service: grayscale, plain resize, no inversion."""
    x = np.stack([np.asarray(Image.open(f).convert("L").resize((28, 28)), np.float32) / 255
                  for f in files])
    with torch.inference_mode():
        logits = net(mnist_model.normalise(x.reshape(len(files), 784)))
    return dict(zip(files, logits.argmax(1).tolist()))


def accuracy(pred, labels):
    return 100.0 * sum(pred.get(f) == y for f, y in labels.items()) / len(labels)


def evalset(gen, tmp, kind, n):
    d = os.path.join(tmp, kind)
    if kind == "framed":
        generator("gen-frame-images.py").evalset(DATA, d, n)
    elif kind == "form":
        generator("gen-frame-images.py").formset(DATA, d, n)
    elif kind == "ruled":
        generator("gen-frame-images.py").ruledset(DATA, d, n)
    else:
        gen.evalset(DATA, d, kind, n)
    labels = {}
    with open(os.path.join(d, "labels.txt")) as f:
        for line in f:
            name, y = line.split()
            labels[os.path.join(d, name)] = int(y)
    return labels


def mnist_roundtrip(tmp):
    """TEST split -> PNG -> pipeline, against mnist-eval's raw accuracy."""
    x, y = mnist_model.load_split(DATA, "test")
    d = os.path.join(tmp, "mnist")
    os.makedirs(d)
    labels = {}
    for i in range(len(y)):
        f = os.path.join(d, f"{i:04d}.png")
        Image.fromarray((x[i].reshape(28, 28) * 255).round().astype(np.uint8)).save(f)
        labels[f] = int(y[i])
    png = accuracy(predict(sorted(labels)), labels)
    r = subprocess.run([os.path.join(B, "mnist-eval"), "--weights", WEIGHTS, "--data", DATA],
                       capture_output=True, text=True)
    m = re.search(r"accuracy ([0-9.]+)%", r.stdout)
    raw = float(m.group(1)) if m else float("nan")
    return png, raw


def make_set(args):
    """One generated set (a process of the pool below)."""
    tmp, kind, n = args
    return evalset(generator(), tmp, kind, n)


def main():
    torch.set_num_threads(1)
    net = mnist_model.load_model(WEIGHTS)
    rows = []
    sets = (("paper", FLOOR, N), ("canvas", FLOOR, N), ("shadow", FLOOR, N // 2),
            ("shadow-hard", 70.0, N // 2), ("framed", 98.0, N),
            ("form", 98.0, N // 6), ("ruled", 98.0, N // 3))
    if N == 300:
        sets = tuple((kind, max(floor, round(BEFORE_ISSUE_15.get(kind, 0) - REGRESSION, 2)), n)
                     for kind, floor, n in sets)
    with tempfile.TemporaryDirectory() as tmp:
        # Generating the photos is most of the time and one thread each:
        # two processes, one per core (each set's seed is its own, so the
        # sets are the same whichever process makes them).
        with multiprocessing.get_context("fork").Pool(2) as pool:
            made = pool.map(make_set, [(tmp, kind, n) for kind, _, n in sets], chunksize=1)
        for (kind, floor, n), labels in zip(sets, made):
            files = sorted(labels)
            pred = predict(files)
            ours = accuracy(pred, labels)
            if kind == "framed":
                # Every fifth framed digit (index % 5 == 2) is pushed onto
                # its frame's line (gen-frame-images.py): it must stay
                # readable as well as the rest.
                touching = {f: y for f, y in labels.items()
                            if int(os.path.basename(f)[7:11]) % 5 == 2}
                t = accuracy(pred, touching)
                tap(len(touching) == n // 5 and t >= floor,
                    f"framed set, digits touching their frame: {t:.1f}% >= {floor}% "
                    f"({len(touching)} images)")
            orig = accuracy(original_pipeline(net, files), labels)
            rows.append((kind, len(files), ours, orig))
            tap(ours >= floor, f"{kind} set: {ours:.1f}% >= {floor}% "
                f"(original pipeline {orig:.1f}%, {len(files)} images)")
        png, raw = mnist_roundtrip(tmp)
        tap(abs(png - raw) <= 0.3, f"TEST split as PNG {png:.2f}% within 0.3 of raw {raw:.2f}%")
        before = BEFORE_ISSUE_15["TEST split as PNG"]
        tap(png >= before - REGRESSION,
            f"TEST split as PNG {png:.2f}% >= {before - REGRESSION:.2f}% (before issue 15: {before}%)")
    if "--markdown" in sys.argv:
        print("| set | images | this pipeline | original pipeline |")
        print("|---|---:|---:|---:|")
        for kind, n, ours, orig in rows:
            print(f"| {kind} | {n} | {ours:.1f}% | {orig:.1f}% |")
        print(f"| TEST split as PNG | 1996 | {png:.2f}% | raw pixels (mnist-eval): {raw:.2f}% |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
