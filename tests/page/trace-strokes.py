#!/usr/bin/python3
"""Trace pen strokes from real handwritten TEST digits, for the page test.

For each digit 0-9 this takes one sample of the TEST split (build/data,
made by scripts/fetch-data.sh: N x 784 float32 in [0, 1] and N uint8
labels), thins its ink to a one-pixel skeleton (Zhang-Suen) on a 4x
upscaled copy, and walks the skeleton into polylines: from each end point
(one neighbour) along unvisited pixels, then what is left (loops). Short
spurs are dropped and each polyline is simplified (Ramer-Douglas-Peucker).
Coordinates are fractions of the 28x28 frame, so the test can draw them at
any canvas size. The first sample of each digit (in file order) is used,
unless --index D=K picks the K-th sample of digit D.

Usage: trace-strokes.py [DATA_DIR] > tests/page/strokes.json
"""
import json
import sys

import numpy as np
from PIL import Image

SCALE = 4


def load(data_dir):
    images = np.fromfile(f"{data_dir}/test.images", dtype="<f4").reshape(-1, 28, 28)
    labels = np.fromfile(f"{data_dir}/test.labels", dtype=np.uint8)
    return images, labels


def thin(mask):
    """Zhang-Suen thinning of a boolean image (border must be background)."""
    img = mask.astype(np.uint8).copy()
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = np.pad(img, 1)
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:],
                 p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]  # P2..P9
            b = sum(n)
            a = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                c = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                c = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            kill = (img == 1) & (b >= 2) & (b <= 6) & (a == 1) & c
            if kill.any():
                img[kill] = 0
                changed = True
    return img.astype(bool)


NEIGH = [(-1, 0), (0, 1), (1, 0), (0, -1), (-1, 1), (1, 1), (1, -1), (-1, -1)]


def neighbours(sk, y, x):
    h, w = sk.shape
    for dy, dx in NEIGH:
        yy, xx = y + dy, x + dx
        if 0 <= yy < h and 0 <= xx < w and sk[yy, xx]:
            yield yy, xx


def trace(sk):
    """Greedy walk of skeleton pixels into polylines."""
    visited = np.zeros_like(sk)
    pts = list(zip(*np.nonzero(sk)))
    degree = {p: len(list(neighbours(sk, *p))) for p in pts}
    lines = []

    def walk(start):
        line = [start]
        visited[start] = True
        cur = start
        while True:
            nxt = [q for q in neighbours(sk, *cur) if not visited[q]]
            if not nxt:
                return line
            # prefer 4-neighbours, then keep direction
            nxt.sort(key=lambda q: abs(q[0] - cur[0]) + abs(q[1] - cur[1]))
            cur = nxt[0]
            visited[cur] = True
            line.append(cur)

    for p in sorted(pts, key=lambda p: (degree[p] != 1, p)):
        if not visited[p]:
            lines.append(walk(p))
    return lines


def rdp(points, eps):
    if len(points) < 3:
        return points
    a, b = np.array(points[0], float), np.array(points[-1], float)
    ab = b - a
    norm = np.hypot(*ab)
    best, idx = -1.0, 0
    for i in range(1, len(points) - 1):
        p = np.array(points[i], float) - a
        d = abs(ab[0] * p[1] - ab[1] * p[0]) / norm if norm else np.hypot(*p)
        if d > best:
            best, idx = d, i
    if best <= eps:
        return [points[0], points[-1]]
    return rdp(points[: idx + 1], eps)[:-1] + rdp(points[idx:], eps)


def strokes_for(img):
    big = Image.fromarray((img * 255).astype(np.uint8)).resize((28 * SCALE, 28 * SCALE),
                                                                 Image.BILINEAR)
    mask = np.pad(np.asarray(big) >= 100, 2)
    lines = [l for l in trace(thin(mask)) if len(l) >= 2 * SCALE]
    out = []
    for l in lines:
        l = rdp(l, 0.6)
        # (row, col) in the padded upscaled frame -> (x, y) fractions of 28x28
        out.append([[round((x - 2 + 0.5) / (28 * SCALE), 4), round((y - 2 + 0.5) / (28 * SCALE), 4)]
                    for y, x in l])
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--index")]
    pick = {}
    for a in sys.argv[1:]:
        if a.startswith("--index"):
            d, k = a.split("=", 1)[1].split("=")
            pick[int(d)] = int(k)
    images, labels = load(args[0] if args else "build/data")
    result = {"source": "build/data/test.images (TEST split); made by tests/page/trace-strokes.py",
              "digits": []}
    for d in range(10):
        idx = np.nonzero(labels == d)[0]
        i = int(idx[pick.get(d, 0)])
        result["digits"].append({"digit": d, "test_index": i, "strokes": strokes_for(images[i])})
    json.dump(result, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
