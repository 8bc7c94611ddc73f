#!/usr/bin/python3
"""weights_variant.py IN OUT MODE: write a variant of a safetensors file
(float32 or int8, both have a float32 fc2.bias) for the reload tests.

MODE
  shift     a valid model that answers differently: fc2.bias[1] += 3 (the
            logit of class 1), and a metadata note; same tensors, shapes
  nan       fc2.bias[0] = NaN: structurally valid, numerically broken
  truncate  the first half of the file
  header    the header's JSON replaced by garbage of the same length
Python standard library only: the header is JSON, the tensor a little-endian
float32 array at a known offset.
"""
import json
import struct
import sys


def main(src, dst, mode):
    data = bytearray(open(src, "rb").read())
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    lo, hi = header["fc2.bias"]["data_offsets"]
    bias = list(struct.unpack("<%df" % ((hi - lo) // 4), data[base + lo:base + hi]))
    if mode == "shift":
        bias[1] += 3.0
        meta = header.setdefault("__metadata__", {})
        meta["variant"] = "fc2.bias[1] += 3 (tests/integration/weights_variant.py)"
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * ((8 - len(text) % 8) % 8)
        body = data[base:]
        body[lo:hi] = struct.pack("<%df" % len(bias), *bias)
        data = struct.pack("<Q", len(text)) + text + body
    elif mode == "nan":
        bias[0] = float("nan")
        data[base + lo:base + hi] = struct.pack("<%df" % len(bias), *bias)
    elif mode == "truncate":
        data = data[:len(data) // 2]
    elif mode == "header":
        data[8:base] = b"{" * n
    else:
        sys.exit("unknown mode " + mode)
    open(dst, "wb").write(data)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
