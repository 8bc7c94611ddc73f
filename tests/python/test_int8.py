"""The C int8 engine (build/mnist-eval --precision int8 --raw) against the
numpy reference of the same integer arithmetic (weights/quantize.py, Net).

For the shipped int8 weights and for a seeded random set (random fp32
weights with pos_embed and the layer norms moved off their defaults,
quantised by the same script, calibrated on 256 TRAIN images), both compute
logits for 224 TEST images; the C side in batches of 1, 7 and 32, and once
each with its AVX-VNNI and plain C int8 kernels. The integer parts are
exact on both sides; only the float32 parts (conv1, attention, layer norm)
round differently, and where that moves an activation across a rounding
boundary its u8 code differs by one. With its AVX-512 kernels on a CPU with
AVX-512 BF16 the engine's attention is bf16 (the reference rounds the same
operands); --isa avx2 / generic run the float32 attention, checked against
the float32 reference. So: max |diff| <= 0.05, at least 90 %
of the images within 1e-4 on every logit, and the same argmax for every
image. A wrong zero point, scale, packing or requantisation moves every
logit by far more.

Also: weights/model-int8.safetensors is what `make weights-int8` makes
(the int8 weights and weight scales byte for byte, the activation scales
within 1e-5; they come from a float32 forward over TRAIN whose summation
order may differ by BLAS build).
"""
import os
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "weights"))
from model import MnistNet, load_safetensors, load_split, save_safetensors  # noqa: E402
import quantize  # noqa: E402
import c_engine  # noqa: E402  (tests/python, the script's own folder)

B = os.environ.get("B", "build")
N = 224
failed = 0


def tap(ok, name):
    global failed
    failed += 0 if ok else 1
    print(("ok - " if ok else "not ok - ") + name, flush=True)


def cpu_bf16():
    """The C engine's attention is bf16 with its AVX-512 kernels on a CPU with
    AVX-512 BF16 (kern_q_attention_bf16), else float32."""
    with open("/proc/cpuinfo") as f:
        flags = set(next((l for l in f if l.startswith("flags")), "").split())
    return {"avx512f", "avx512bw", "avx512_bf16"} <= flags


def reference(tensors, q, pixels, bf):
    net = quantize.Net(tensors, q)
    net.bf16_attention = bf
    return quantize.run(net, pixels)


def check(label, path, pixels, tmp):
    tensors, q = quantize.load_q(path)
    bf = cpu_bf16()
    want_fp = reference(tensors, q, pixels, False)
    want_bf = reference(tensors, q, pixels, True) if bf else want_fp
    runs = [(b, None) for b in (1, 7, 32)] + [(7, "avx2"), (32, "generic")]
    for batch, isa in runs:
        want = want_bf if isa is None else want_fp
        got, err = c_engine.logits("int8", path, pixels, batch, tmp, isa)
        name = f"{label} batch {batch}" + (f" ({isa})" if isa else "")
        if got is None or got.shape != want.shape:
            tap(False, f"{name}: mnist-eval failed: {err}")
            continue
        d = np.abs(got - want)
        close = float((d.max(axis=1) <= 1e-4).mean())
        same = int((got.argmax(1) == want.argmax(1)).sum())
        tap(d.max() <= 0.05 and close >= 0.9,
            f"{name}: max |diff| {d.max():.2e} <= 0.05, {100 * close:.1f}% of images "
            f"within 1e-4 (>= 90%)")
        tap(same == len(want), f"{name}: argmax equal for {same}/{len(want)}")


def random_int8(tmp, train):
    torch.manual_seed(20240607)
    sd = MnistNet().state_dict()
    with torch.no_grad():
        for name, t in sd.items():
            if name == "pos_embed":
                t.copy_(torch.randn_like(t) * 0.5)
            elif "norm" in name and name.endswith("weight"):
                t.copy_(1.0 + 0.5 * torch.randn_like(t))
            elif "norm" in name or name.endswith("bias"):
                t.add_(0.2 * torch.randn_like(t))
    fp32 = os.path.join(tmp, "random.safetensors")
    save_safetensors(sd, fp32)
    sd = load_safetensors(fp32)
    q = quantize.build_q(sd, quantize.calibrate(sd, train[:256]))
    path = os.path.join(tmp, "random-int8.safetensors")
    quantize.write_safetensors(quantize.int8_tensors(sd, q), path, {"format": "mnist-int8"})
    return path


def check_reproducible(train):
    shipped = os.path.join(ROOT, "weights", "model-int8.safetensors")
    sd = load_safetensors(os.path.join(ROOT, "weights", "model.safetensors"))
    made = quantize.int8_tensors(sd, quantize.build_q(sd, quantize.calibrate(sd, train)))
    have = quantize.read_safetensors(shipped)
    tap(sorted(made) == sorted(have), f"committed int8 file has the script's {len(made)} tensors")
    bad = []
    for name, a in made.items():
        b = have.get(name)
        if b is None or a.shape != b.shape or a.dtype != b.dtype:
            bad.append(name)
        elif name.endswith("input_scale"):
            if abs(float(a[0]) - float(b[0])) > 1e-5 * abs(float(a[0])):
                bad.append(name)
        elif not np.array_equal(a, b):
            bad.append(name)
    tap(not bad, f"committed int8 file equals `make weights-int8` output (differing: {bad[:4]})")


def main():
    torch.set_num_threads(1)
    pixels, _ = load_split(os.path.join(ROOT, B, "data"), "test")
    train, _ = load_split(os.path.join(ROOT, B, "data"), "train")
    pixels = pixels[:N]
    with tempfile.TemporaryDirectory(prefix="mnist-int8.") as tmp:
        check("shipped int8", os.path.join(ROOT, "weights", "model-int8.safetensors"), pixels,
              tmp)
        check("random int8", random_int8(tmp, train), pixels, tmp)
    check_reproducible(train)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
