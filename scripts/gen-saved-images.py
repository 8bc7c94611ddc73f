#!/usr/bin/python3
"""Write the example images of saved_images/ from the TEST split.

usage: /usr/bin/python3 scripts/gen-saved-images.py [DATADIR] [OUTDIR] [COUNT]
       (defaults: build/data saved_images 20; run `make data` first)

The examples are the first COUNT samples of a seeded shuffle of the TEST
split (as a shuffled test loader would give them), saved as 28x28 8-bit
grayscale PNGs, white ink on black like MNIST itself, and named
img_<i>_label_<d>.png with i the position in that shuffle and d the label.
The seed is the smallest one whose shuffle starts with a 6 and shows every
digit among the examples, so that img_0_label_6.png, the README's example,
exists. The output is deterministic: re-running rewrites the same bytes.
"""
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "weights"))
from model import load_split  # noqa: E402


def png_gray(pixels):
    """Encode an HxW uint8 array as a grayscale PNG (no extra package)."""
    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def pick_seed(labels, count):
    for seed in range(1000):
        order = np.random.default_rng(seed).permutation(len(labels))[:count]
        if labels[order[0]] == 6 and len(set(labels[order].tolist())) == 10:
            return seed, order
    raise SystemExit("no seed found")


def main():
    datadir = sys.argv[1] if len(sys.argv) > 1 else "build/data"
    outdir = sys.argv[2] if len(sys.argv) > 2 else "saved_images"
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    images, labels = load_split(datadir, "test")
    seed, order = pick_seed(labels, count)
    os.makedirs(outdir, exist_ok=True)
    for i, k in enumerate(order):
        pixels = np.clip(np.rint(images[k] * 255.0), 0, 255).astype(np.uint8).reshape(28, 28)
        path = os.path.join(outdir, f"img_{i}_label_{labels[k]}.png")
        with open(path, "wb") as f:
            f.write(png_gray(pixels))
    print(f"{count} examples from seed {seed} in {outdir}/")


if __name__ == "__main__":
    main()
