"""Fixtures for tests/integration/test_worker.sh: images from the TEST split and raw
msgpack requests, written into a directory given on the command line.

    /usr/bin/python3 tests/python/worker_fixtures.py DATA_DIR OUT_DIR

Writes OUT/img_<i>_label_<d>.png (one per digit), OUT/bad/* (files the
worker must refuse, named after the code they must give) and OUT/raw/*.mp
(hand-packed msgpack requests, for mnist-client --raw). PNGs are written
with zlib alone so the test needs no imaging library.
"""
import os
import struct
import sys
import zlib

import numpy as np


def png(gray, w, h):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(gray[y * w:(y + 1) * w]) for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def huge_png():
    """A valid PNG header claiming 100000 x 100000 pixels, and no data."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes(100001))  # the first row only
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


# A tiny msgpack packer: just what the requests need.
def mp(v):
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        return bytes([v]) if 0 <= v < 128 else b"\xce" + struct.pack(">I", v)
    if isinstance(v, str):
        b = v.encode()
        return bytes([0xa0 | len(b)]) + b
    if isinstance(v, bytes):
        return b"\xc6" + struct.pack(">I", len(v)) + v
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


def main():
    data, out = sys.argv[1], sys.argv[2]
    x = np.fromfile(os.path.join(data, "test.images"), dtype="<f4").reshape(-1, 784)
    y = np.fromfile(os.path.join(data, "test.labels"), dtype="u1")
    for sub in ("", "bad", "raw"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    first = {}
    for d in range(10):
        i = int(np.nonzero(y == d)[0][0])
        g = (x[i] * 255).round().astype(np.uint8)
        first[d] = g
        with open(os.path.join(out, f"img_{i}_label_{d}.png"), "wb") as f:
            f.write(png(g, 28, 28))
    good = png(first[3], 28, 28)
    files = {
        "unsupported_type.txt": b"this is not an image\n",
        "invalid_image.png": good[:40],
        "too_large.png": huge_png(),
    }
    for name, body in files.items():
        with open(os.path.join(out, "bad", name), "wb") as f:
            f.write(body)
    raws = {
        "ping.mp": {"v": 1, "ping": True},
        "pixels_7.mp": {"v": 1, "pixels": bytes(first[7]), "width": 28, "height": 28},
        "bad_version.mp": {"v": 2, "image": good},
        "bad_both.mp": {"v": 1, "image": good, "pixels": bytes(first[7]), "width": 28,
                        "height": 28},
        "bad_length.mp": {"v": 1, "pixels": bytes(10), "width": 28, "height": 28},
        "bad_type.mp": {"v": 1, "image": "a string, not bin"},
    }
    for name, req in raws.items():
        with open(os.path.join(out, "raw", name), "wb") as f:
            f.write(mp(req))
    with open(os.path.join(out, "raw", "bad_garbage.mp"), "wb") as f:
        f.write(b"\xc1\x00garbage")
    with open(os.path.join(out, "raw", "bad_trailing.mp"), "wb") as f:
        f.write(mp({"v": 1, "ping": True}) + b"\x00")


if __name__ == "__main__":
    main()
