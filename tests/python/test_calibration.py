"""Calibration of the shipped model (issue 15): the confidence means what it says.

- weights/train.py's pieces, on inputs whose answer is known: ece() on
  hand-made confidences, fit_temperature() recovering the temperature
  that generated its labels, fold_temperature() turning the logits into
  logits / T.
- The shipped weights: their metadata names the temperature that
  train.py folded into fc2; multiplying the logits by it gives back the
  model before scaling. On TEST the folded model's expected calibration
  error is at most 1 % and lower than before scaling, its NLL too, and
  the ECE, NLL, accuracy, per-digit accuracy and confusion matrix are the
  ones weights/MODEL_CARD.md shows.
- The C engine (build/mnist-eval --raw, fp32 and int8, the engines the
  service runs) gives the same calibration: its ECE on TEST is at most 1 %
  and within 0.2 points of PyTorch's.

Prints TAP lines.
"""
import math
import os
import re
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "weights"))
from model import MnistNet, load_model, load_split, normalise, safetensors_header  # noqa: E402
import train  # noqa: E402
import c_engine  # noqa: E402  (tests/python, the script's own folder)

B = os.environ.get("B", "build")
SHIPPED = os.path.join(ROOT, "weights", "model.safetensors")
SHIPPED_INT8 = os.path.join(ROOT, "weights", "model-int8.safetensors")
CARD = os.path.join(ROOT, "weights", "MODEL_CARD.md")
MAX_ECE = 1.0  # % on TEST, for the shipped model in PyTorch and in the C engine
failed = 0


def tap(ok, name):
    global failed
    failed += 0 if ok else 1
    print(("ok - " if ok else "not ok - ") + name, flush=True)


def logits_with_confidence(conf):
    """One row of 10 logits per confidence c: class 0 gets probability c,
    the nine others (1 - c) / 9 each."""
    rows = torch.zeros(len(conf), 10, dtype=torch.float64)
    for i, c in enumerate(conf):
        rows[i, 0] = math.log(c * 9 / (1 - c))
    return rows


def test_ece():
    # Four answers at 0.9, three right: one bin, |0.9 - 0.75| = 0.15.
    got = train.ece(logits_with_confidence([0.9] * 4), [0, 0, 0, 1])
    tap(abs(got - 0.15) < 1e-9, f"ece: four at 0.9, three right: {got:.6f} = 0.15")
    # Two bins of equal weight: 0.5 (all right, gap 0.5) and 0.95 (all
    # right, gap 0.05): (0.5 + 0.05) / 2.
    got = train.ece(logits_with_confidence([0.5, 0.5, 0.95, 0.95]), [0, 0, 0, 0])
    tap(abs(got - 0.275) < 1e-9, f"ece: two bins: {got:.6f} = 0.275")
    # Calibrated by construction: 10 of 10 right at confidence 1 - 1e-9.
    got = train.ece(logits_with_confidence([1 - 1e-9] * 10), [0] * 10)
    tap(got < 1e-6, f"ece: all right at confidence ~1: {got:.2e} ~ 0")


def test_fit_temperature():
    # Labels drawn from softmax(z / T0): the NLL-minimising temperature of
    # z is T0, up to sampling noise (10,000 samples) and the grid's step.
    g = torch.Generator().manual_seed(15)
    z = 3 * torch.randn(10000, 10, generator=g)
    for t0 in (0.5, 1.0, 2.0):
        y = torch.multinomial(F.softmax(z / t0, 1), 1, generator=g).squeeze(1)
        t = train.fit_temperature(z, y.numpy())
        tap(abs(t - t0) / t0 < 0.05, f"fit_temperature recovers T0 = {t0}: {t:.4f}")


def test_fold():
    torch.manual_seed(15)
    model = MnistNet().eval()
    x = np.random.default_rng(15).random((8, 784), dtype=np.float32)
    with torch.inference_mode():
        before = model(normalise(x))
    train.fold_temperature(model, 0.66)
    with torch.inference_mode():
        after = model(normalise(x))
    diff = float((after - before / 0.66).abs().max())
    tap(diff < 1e-5, f"fold_temperature: logits become logits / T (max |diff| {diff:.1e})")


def card_figures():
    """What MODEL_CARD.md says of the shipped weights."""
    text = open(CARD).read()
    out = {}
    m = re.search(r"^\| before \(T = 1\) \| ([0-9.]+) % \| ([0-9.]+) \|", text, re.M)
    if m:
        out["ece_before"], out["nll_before"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"^\| after \(T = ([0-9.]+), folded into fc2\) \| \*\*([0-9.]+) %\*\* \| "
                  r"\*\*([0-9.]+)\*\* \|", text, re.M)
    if m:
        out["t"], out["ece_after"], out["nll_after"] = map(float, m.groups())
    m = re.search(r"^PyTorch: \*\*([0-9.]+) %\*\* \(([0-9,]+) / ([0-9,]+);", text, re.M)
    if m:
        out["accuracy"] = float(m.group(1))
        out["right"] = int(m.group(2).replace(",", ""))
    m = re.search(r"^\| accuracy % \|((?: [0-9.]+ \|){10})$", text, re.M)
    if m:
        out["per_digit"] = [float(v) for v in m.group(1).split("|") if v.strip()]
    m = re.search(r"Confusion matrix \(rows true.*?```\n.*?\n((?:\d: .*\n){10})```", text, re.S)
    if m:
        out["confusion"] = [[int(v) for v in line.split(":")[1].split()]
                            for line in m.group(1).splitlines()]
    return out


def test_shipped():
    x, y = load_split(os.path.join(ROOT, B, "data"), "test")
    meta = safetensors_header(SHIPPED)[0].get("__metadata__", {})
    t = float(meta.get("temperature", "nan"))
    tap(0.25 <= t <= 4.0, f"shipped weights name their folded temperature: T = {t}")
    after = train.logits_of(load_model(SHIPPED), x)
    before = after * t  # fc2 was divided by T: undo it
    yt = torch.as_tensor(y)
    ece_b, ece_a = 100 * train.ece(before, y), 100 * train.ece(after, y)
    nll_b, nll_a = F.cross_entropy(before, yt).item(), F.cross_entropy(after, yt).item()
    tap(ece_a <= MAX_ECE, f"TEST ECE after scaling {ece_a:.2f}% <= {MAX_ECE}%")
    tap(ece_a < ece_b, f"TEST ECE: scaling lowers it ({ece_b:.2f}% -> {ece_a:.2f}%)")
    tap(nll_a < nll_b, f"TEST NLL: scaling lowers it ({nll_b:.4f} -> {nll_a:.4f})")

    pred = after.argmax(1).numpy()
    right = int((pred == y).sum())
    conf = np.zeros((10, 10), dtype=int)
    for a, b in zip(y, pred):
        conf[a, b] += 1
    per_digit = [round(100 * conf[d, d] / conf[d].sum(), 1) for d in range(10)]

    card = card_figures()
    tap(len(card) == 9, f"MODEL_CARD.md shows all the figures checked here ({sorted(card)})")
    if "t" in card:
        tap(abs(card["t"] - t) < 5e-5, f"card's T {card['t']} = metadata's {t}")
    for key, got, tol in (("ece_before", ece_b, 0.01), ("ece_after", ece_a, 0.01),
                          ("nll_before", nll_b, 1e-4), ("nll_after", nll_a, 1e-4)):
        if key in card:
            tap(abs(card[key] - got) <= tol, f"card's {key} {card[key]} = computed {got:.4f}")
    if "right" in card:
        tap(card["right"] == right and abs(card["accuracy"] - 100 * right / len(y)) < 0.006,
            f"card's TEST accuracy {card['accuracy']}% ({card['right']}) = computed "
            f"{100 * right / len(y):.2f}% ({right})")
    if "per_digit" in card:
        tap(card["per_digit"] == per_digit,
            f"card's per-digit accuracy = computed {per_digit}")
    if "confusion" in card:
        tap(card["confusion"] == conf.tolist(), "card's confusion matrix = computed")

    with tempfile.TemporaryDirectory(prefix="mnist-calib.") as tmp:
        for precision, weights in (("fp32", SHIPPED), ("int8", SHIPPED_INT8)):
            got, err = c_engine.logits(precision, weights, x, 32, tmp)
            if got is None or got.shape != after.shape:
                tap(False, f"C engine {precision}: mnist-eval failed: {err}")
                continue
            e = 100 * train.ece(torch.from_numpy(got), y)
            tap(e <= MAX_ECE and abs(e - ece_a) <= 0.2,
                f"C engine {precision}: TEST ECE {e:.2f}% <= {MAX_ECE}%, "
                f"within 0.2 of PyTorch's {ece_a:.2f}%")


def main():
    torch.set_num_threads(1)
    test_ece()
    test_fit_temperature()
    test_fold()
    test_shipped()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
