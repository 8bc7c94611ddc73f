"""Quantise the fp32 weights to the int8 engine's format, and the numpy
reference of that engine's arithmetic.

Usage: /usr/bin/python3 weights/quantize.py DATADIR IN.safetensors OUT.safetensors
       (make weights-int8: build/data, weights/model.safetensors ->
       weights/model-int8.safetensors)
       /usr/bin/python3 weights/quantize.py --compare DATADIR IN.safetensors
       (accuracy of the calibration choices on TEST; nothing written)

The scheme (worker/engine/model_int8.c runs it, forward() below is its
reference):
- conv2 and every linear layer (proj, in_proj, out_proj, linear1, linear2,
  fc1, fc2) in int8: weights per output channel, symmetric, round to
  nearest, scale max|w| / 127; activations per tensor, static scales
  calibrated on the TRAIN split (max |x| over all TRAIN images).
- An activation that follows a ReLU (conv2's, proj's, linear2's and fc2's
  inputs) is u8 with zero point 0 and scale max / 255; the others (layer
  norm, attention and mean-pool outputs) are u8 with zero point 128 and
  scale max|x| / 127. vpdpbusd multiplies u8 by s8; the zero point is
  removed by starting each int32 accumulator at -zp * sum_k w[n][k].
- int32 accumulation; the epilogue is one fused multiply-add per output,
  v = acc * sc[n] + off[n] (float32): the float output, or (ReLU layers
  whose output feeds another int8 layer: conv2, linear1, fc1) already the
  next layer's u8 input, rint(v) clamped to [0, 255].
- conv1, attention, softmax, layer norms, mean pool and the pos_embed add
  stay in float32; except that on CPUs with AVX-512 BF16 the attention's
  dot products run in bf16 (vdpbf16ps): q * (1 / sqrt(dh)), k, v and the
  softmax probabilities rounded to bf16, float32 sums (Net.bf16_attention).

The output file is self-contained: the float32 tensors of the fp32 parts
under their state-dict names, and per int8 layer NAME_q (I8, PyTorch's
shape), NAME_scale (F32 [n], the weight scales) and INPUT_scale (F32 [1],
the activation scale), NAME being the layer's weight tensor name.
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import MEAN, STD, load_safetensors, load_split  # noqa: E402

F = np.float32
LAYERS = 2
HEADS = 4


def qlayers():
    """(weight name, bias name, input-scale name, input zero point) per int8 layer."""
    out = [("conv2.weight", "conv2.bias", "conv2.input_scale", 0),
           ("proj.weight", "proj.bias", "proj.input_scale", 0)]
    for i in range(LAYERS):
        p = f"transformer.layers.{i}."
        out += [(p + "self_attn.in_proj_weight", p + "self_attn.in_proj_bias",
                 p + "self_attn.in_proj_input_scale", 128),
                (p + "self_attn.out_proj.weight", p + "self_attn.out_proj.bias",
                 p + "self_attn.out_proj.input_scale", 128),
                (p + "linear1.weight", p + "linear1.bias", p + "linear1.input_scale", 128),
                (p + "linear2.weight", p + "linear2.bias", p + "linear2.input_scale", 0)]
    out += [("fc1.weight", "fc1.bias", "fc1.input_scale", 128),
            ("fc2.weight", "fc2.bias", "fc2.input_scale", 0)]
    return out


ZERO = {w: zp for w, _, _, zp in qlayers()}


def quant_weight(w):
    """Per output channel (first axis), symmetric: (int8 weights, float32 scales)."""
    w = w.reshape(w.shape[0], -1).astype(np.float64)
    mx = np.abs(w).max(axis=1)
    scale = np.where(mx > 0, mx / 127.0, 1.0).astype(F)
    q = np.clip(np.rint(w / scale.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
    return q, scale


def act_scale(mx, zp):
    return F(max(float(mx), 1e-8) / (255.0 if zp == 0 else 127.0))


# ---- the forward pass, float or int8 ---------------------------------------


def quantise(x, scale, zp):
    """float32 -> u8 codes as the C kernel does: rint(x * (1 / s)) + zp, clamped."""
    inv = F(1) / F(scale)
    return np.clip(np.rint(x.astype(F) * inv) + zp, 0, 255).astype(np.int32)


def fma32(acc, sc, off):
    """float32 acc * sc + off with one rounding (through float64: the product is exact)."""
    return (acc.astype(np.float64) * sc.astype(np.float64) + off.astype(np.float64)).astype(F)


class Net:
    """Parameters in numpy; q is None for float32, else the int8 tensors."""

    def __init__(self, sd, q=None):
        self.p = {k: v.numpy() if hasattr(v, "numpy") else v for k, v in sd.items()}
        self.q = q
        self.record = None  # name -> running max |input|, when calibrating
        self.dynamic = False
        self.bf16_attention = False  # the int8 engine's attention on AVX-512 BF16

    def _see(self, wname, x):
        if self.record is not None:
            m = float(np.abs(x).max())
            self.record[wname] = max(self.record.get(wname, 0.0), m)

    def _epilogue(self, wname, acc, relu, next_w=None):
        """acc (int) -> float, or with next_w the u8 input codes of layer next_w."""
        s_in = F(self.q[wname]["in_scale"])
        sc = (s_in * self.q[wname]["w_scale"]).astype(F)
        off = self.p[self.q[wname]["bias"]].astype(F)
        if next_w is not None:
            inv = F(1) / F(self.q[next_w]["in_scale"])
            sc = (sc * inv).astype(F)
            off = (off * inv + F(ZERO[next_w])).astype(F)
        v = fma32(acc, sc, off)
        if next_w is not None:
            return np.clip(np.rint(v), 0, 255).astype(np.int32)
        return np.maximum(v, 0) if relu else v

    def linear(self, wname, bname, x, relu=False, next_w=None, xq=None):
        """x float (or xq: u8 codes already) -> y."""
        if self.q is None:
            self._see(wname, x)
            y = (x @ self.p[wname].T + self.p[bname]).astype(F)
            return np.maximum(y, 0) if relu else y
        zp = ZERO[wname]
        if xq is None:
            if self.dynamic:
                self.q[wname]["in_scale"] = act_scale(np.abs(x).max(), zp)
            xq = quantise(x, self.q[wname]["in_scale"], zp)
        w = self.q[wname]["w"].astype(np.int32)
        acc = xq @ w.T - zp * w.sum(axis=1)
        return self._epilogue(wname, acc, relu, next_w if not self.dynamic else None)

    def conv1(self, img):
        """img N x 28 x 28 normalised -> N x 14 x 14 x 32 (relu, pool)."""
        w, b = self.p["conv1.weight"], self.p["conv1.bias"]
        cols = im2col(img[..., None])  # N x 28 x 28 x 9
        y = np.maximum(cols @ w.reshape(32, 9).T + b, 0).astype(F)
        return pool(y)

    def conv2(self, x):
        """x N x 14 x 14 x 32 float -> tokens N x 49 x 64 (float, or u8 codes for proj)."""
        if self.q is None:
            self._see("conv2.weight", x)
            w = self.p["conv2.weight"].transpose(0, 2, 3, 1).reshape(64, -1)
            y = np.maximum(im2col(x) @ w.T + self.p["conv2.bias"], 0).astype(F)
            return pool(y).reshape(len(x), 49, 64)
        if self.dynamic:
            self.q["conv2.weight"]["in_scale"] = act_scale(x.max(), 0)
        xq = quantise(x, self.q["conv2.weight"]["in_scale"], 0)
        w = self.q["conv2.weight"]["w"].reshape(64, 32, 3, 3).transpose(0, 2, 3, 1)
        acc = im2col(xq) @ w.reshape(64, -1).astype(np.int32).T
        if self.dynamic:
            y = self._epilogue("conv2.weight", acc, True)
            return pool(y).reshape(len(x), 49, 64)
        y = self._epilogue("conv2.weight", acc, True, "proj.weight")
        return pool(y).reshape(len(x), 49, 64)

    def forward(self, pixels):
        """pixels N x 784 in [0, 1] -> N x 10 logits."""
        img = ((pixels.reshape(-1, 28, 28).astype(F) - F(MEAN)) / F(STD)).astype(F)
        tok = self.conv2(self.conv1(img))
        n, p = len(pixels), self.p
        if self.q is None or self.dynamic:
            x = self.linear("proj.weight", "proj.bias", tok.reshape(n * 49, 64))
        else:
            x = self.linear("proj.weight", "proj.bias", None, xq=tok.reshape(n * 49, 64))
        x = (x.reshape(n, 49, 128) + p["pos_embed"]).astype(F).reshape(n * 49, 128)
        for i in range(LAYERS):
            x = self.encoder_layer(f"transformer.layers.{i}.", x, n)
        pooled = x.reshape(n, 49, 128).mean(axis=1).astype(F)
        if self.q is None or self.dynamic:
            h = self.linear("fc1.weight", "fc1.bias", pooled, relu=True)
            return self.linear("fc2.weight", "fc2.bias", h)
        h = self.linear("fc1.weight", "fc1.bias", pooled, relu=True, next_w="fc2.weight")
        return self.linear("fc2.weight", "fc2.bias", None, xq=h)

    def encoder_layer(self, pre, x, n):
        a = pre + "self_attn."
        qkv = self.linear(a + "in_proj_weight", a + "in_proj_bias", x)
        att = attention(qkv.reshape(n, 49, 384), self.q is not None and self.bf16_attention)
        y = self.linear(a + "out_proj.weight", a + "out_proj.bias", att.reshape(n * 49, 128))
        x = layernorm(x + y, self.p[pre + "norm1.weight"], self.p[pre + "norm1.bias"])
        l1, l2 = pre + "linear1.", pre + "linear2."
        if self.q is None or self.dynamic:
            h = self.linear(l1 + "weight", l1 + "bias", x, relu=True)
            y = self.linear(l2 + "weight", l2 + "bias", h)
        else:
            h = self.linear(l1 + "weight", l1 + "bias", x, relu=True, next_w=l2 + "weight")
            y = self.linear(l2 + "weight", l2 + "bias", None, xq=h)
        return layernorm(x + y, self.p[pre + "norm2.weight"], self.p[pre + "norm2.bias"])


def im2col(x):
    """N x H x W x C -> N x H x W x 9C, taps (ky, kx) outer, channels inner, zero padded."""
    n, h, w, c = x.shape
    xp = np.zeros((n, h + 2, w + 2, c), dtype=x.dtype)
    xp[:, 1:-1, 1:-1] = x
    return np.concatenate([xp[:, ky:ky + h, kx:kx + w] for ky in range(3) for kx in range(3)],
                          axis=3)


def pool(y):
    n, h, w, c = y.shape
    return y.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def layernorm(x, g, b, eps=1e-5):
    m = x.mean(axis=1, keepdims=True)
    v = ((x - m) ** 2).mean(axis=1, keepdims=True)
    return ((x - m) / np.sqrt(v + F(eps)) * g + b).astype(F)


def bf16(x):
    """float32 x rounded to bfloat16 (to nearest even), as float32."""
    b = np.ascontiguousarray(x, dtype=F).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000).astype(np.uint32).view(F)


def attention(qkv, bf=False):
    """Self-attention; bf: the int8 engine's on AVX-512 BF16 (kern_q_attention):
    q * (1 / sqrt(dh)), k, v and the probabilities rounded to bf16."""
    n, t, _ = qkv.shape
    dh = 128 // HEADS
    q, k, v = (qkv[..., i * 128:(i + 1) * 128].reshape(n, t, HEADS, dh).transpose(0, 2, 1, 3)
               for i in range(3))
    if bf:
        q, k, v = bf16(q * (F(1) / np.sqrt(F(dh)))), bf16(k), bf16(v)
        s = q @ k.transpose(0, 1, 3, 2)
    else:
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(F(dh))
    s = np.exp(s - s.max(axis=-1, keepdims=True))
    s /= s.sum(axis=-1, keepdims=True)
    if bf:
        s = bf16(s)
    return (s @ v).transpose(0, 2, 1, 3).reshape(n, t, 128).astype(F)


def run(net, pixels, batch=256):
    return np.concatenate([net.forward(pixels[i:i + batch]) for i in range(0, len(pixels), batch)])


# ---- calibration and the file ----------------------------------------------


def calibrate(sd, pixels):
    """Max |input| of every int8 layer over pixels, from the float forward."""
    net = Net(sd)
    net.record = {}
    run(net, pixels)
    return net.record


def build_q(sd, maxes):
    q = {}
    for wname, bname, _, zp in qlayers():
        w, s = quant_weight(sd[wname].numpy())
        q[wname] = {"w": w.reshape(sd[wname].shape), "w_scale": s, "bias": bname,
                    "in_scale": act_scale(maxes[wname], zp)}
    return q


def int8_tensors(sd, q):
    """The self-contained int8 file: fp32 tensors of the fp32 parts plus the int8 layers."""
    out = {k: v.numpy().astype(F) for k, v in sd.items() if k not in q}
    for wname, _, sname, _ in qlayers():
        out[wname + "_q"] = q[wname]["w"]
        out[wname + "_scale"] = q[wname]["w_scale"]
        out[sname] = np.array([q[wname]["in_scale"]], dtype=F)
    return out


def load_q(path):
    """Read an int8 file back: (state dict of numpy arrays, q)."""
    t = read_safetensors(path)
    q = {}
    for wname, bname, sname, _ in qlayers():
        q[wname] = {"w": t.pop(wname + "_q"), "w_scale": t.pop(wname + "_scale"),
                    "bias": bname, "in_scale": F(t.pop(sname)[0])}
    return t, q


DTYPES = {np.dtype("<f4"): "F32", np.dtype("int8"): "I8"}


def write_safetensors(tensors, path, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        data = a.tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, base = json.loads(raw[8:8 + n]), 8 + n
    kinds = {"F32": "<f4", "I8": "i1"}
    out = {}
    for name, info in header.items():
        if name != "__metadata__":
            a, b = info["data_offsets"]
            out[name] = np.frombuffer(raw[base + a:base + b],
                                      dtype=kinds[info["dtype"]]).reshape(info["shape"]).copy()
    return out


def accuracy(logits, labels):
    return 100.0 * float((logits.argmax(1) == labels).mean())


def compare(datadir, src):
    """Accuracy on TEST of fp32, static (TRAIN max, TRAIN 99.99th pct.) and dynamic int8."""
    sd = load_safetensors(src)
    train, _ = load_split(datadir, "train")
    test, labels = load_split(datadir, "test")
    ref = run(Net(sd), test)
    print(f"fp32 (numpy): {accuracy(ref, labels):.2f}%")
    maxes = calibrate(sd, train)
    for label, m in [("static, TRAIN max", maxes)]:
        got = run(Net(sd, build_q(sd, m)), test)
        agree = 100.0 * float((got.argmax(1) == ref.argmax(1)).mean())
        print(f"int8 {label}: {accuracy(got, labels):.2f}%, agreement with fp32 {agree:.2f}%")
    net = Net(sd, build_q(sd, maxes))
    net.dynamic = True
    got = np.concatenate([net.forward(test[i:i + 1]) for i in range(len(test))])
    agree = 100.0 * float((got.argmax(1) == ref.argmax(1)).mean())
    print(f"int8 dynamic (per image): {accuracy(got, labels):.2f}%, agreement {agree:.2f}%")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        return compare(sys.argv[2], sys.argv[3])
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    datadir, src, dst = sys.argv[1:]
    sd = load_safetensors(src)
    train, _ = load_split(datadir, "train")
    q = build_q(sd, calibrate(sd, train))
    write_safetensors(int8_tensors(sd, q), dst,
                      {"format": "mnist-int8", "source": os.path.basename(src),
                       "calibration": f"max |x| over {len(train)} TRAIN images"})
    print(f"quantize: wrote {dst} ({len(q)} int8 layers, calibrated on {len(train)} TRAIN images)")


if __name__ == "__main__":
    main()
