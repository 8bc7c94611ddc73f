#!/usr/bin/python3
"""Hostile-but-legal images for the image intake (issue 10).

    gen_hostile.py OUTDIR

Writes the files below into OUTDIR, deterministically (the same bytes on
every run with the same zlib and libjpeg-turbo). Each is a valid PNG or
JPEG whose header the limits accept (at most 20000 x 20000 and 40 MP), but
whose decode is expensive in time or memory when nothing else bounds it.
A "7"-like digit is drawn in each, so a decode that finishes has ink to
find.

  ztxt_bomb.png             256x256 gray, ~1,400 zTXt chunks that each
                            inflate to 7 MB (libpng caps one chunk, not
                            their total): ~9.5 MB of file
  jpeg_prog253_40mp.jpg     7000x5714 gray progressive JPEG with 253 scans
                            (every AC coefficient in its own band, four
                            successive-approximation passes each)
  jpeg_prog253_4mp.jpg      the same scans at 2000x2000 (small enough to
                            be held: the scan count must stop it)
  png16_rgba_40mp.png       8000x5000 RGBA, 16 bits per sample (320 MB raw)
  png_6000x6000.png         6000x6000 gray, 8 bits (36 MB raw, ~50 KB file)
  png_max_20000x2000.png    20000x2000 gray: the longest side the limits
                            accept, at 40 MP
  jpeg_max_20000x2000.jpg   the same shape as a baseline gray JPEG
  jpeg_40mp.jpg             7000x5714 baseline RGB JPEG
  jpeg_prog_4000x3000.jpg   an ordinary progressive RGB photo-sized JPEG
                            (libjpeg's default 10 scans): must be accepted
  png_adam7_6000x6000.png   6000x6000 gray, Adam7 interlaced

PNGs are written here chunk by chunk with zlib (Pillow writes no zTXt
bombs, 16-bit RGBA or Adam7); JPEGs by Pillow, and the 253-scan one is
re-encoded by jpegtran -scans (Debian package libjpeg-turbo-progs).
Needs /usr/bin/python3 with numpy and PIL.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def seven(w, h):
    """Boolean ink mask (40 x 48) of a '7', as in tests/unit/t_image.c."""
    m = np.zeros((48, 40), bool)
    m[8:14, 8:32] = True
    for y in range(8, 42):
        cx = 31 - (y - 8) // 2
        m[y, max(cx - 3, 0):cx + 2] = True
    return m


class Canvas:
    """Rows of a w x h image: paper (bright) with a dark '7' in the middle
    third, computed a row at a time so 40 MP never sits in memory."""

    def __init__(self, w, h):
        self.w, self.h = w, h
        self.mask = seven(w, h)
        side = min(w, h) // 3 or 1
        self.x0, self.y0, self.side = (w - side) // 2, (h - side) // 2, side
        xs = np.arange(w) - self.x0
        self.inx = (xs >= 0) & (xs < side)
        self.mx = np.clip(xs * 40 // side, 0, 39)

    def row(self, y):
        """Gray levels (uint8) of row y."""
        r = np.full(self.w, 235, np.uint8)
        yy = y - self.y0
        if 0 <= yy < self.side:
            ink = self.mask[yy * 48 // self.side][self.mx] & self.inx
            r[ink] = 20
        return r


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png_write(path, w, h, ctype, depth, rowbytes_of, interlace=False, extra=b""):
    """Stream a PNG: rowbytes_of(y, x0, dx) gives the raw bytes of the
    samples of row y at x0, x0 + dx, ... (filter type 0 is added here).
    extra is inserted before the IDATs."""
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0,
                                           1 if interlace else 0)))
        f.write(extra)
        z = zlib.compressobj(9)
        buf = []
        size = 0

        def put(data):
            nonlocal size
            c = z.compress(data)
            if c:
                buf.append(c)
                size += len(c)
            if size >= 1 << 16:
                f.write(chunk(b"IDAT", b"".join(buf)))
                buf.clear()
                size = 0

        passes = ADAM7 if interlace else [(0, 0, 1, 1)]
        for x0, y0, dx, dy in passes:
            if x0 >= w or y0 >= h:
                continue
            for y in range(y0, h, dy):
                put(b"\0" + rowbytes_of(y, x0, dx))
        buf.append(z.flush())
        f.write(chunk(b"IDAT", b"".join(buf)))
        f.write(chunk(b"IEND", b""))


def gray_png(path, w, h, interlace=False, extra=b""):
    c = Canvas(w, h)
    png_write(path, w, h, 0, 8, lambda y, x0, dx: c.row(y)[x0::dx].tobytes(),
              interlace, extra)


def rgba16_png(path, w, h):
    c = Canvas(w, h)

    def rowbytes(y, x0, dx):
        g = c.row(y)[x0::dx].astype(">u2") * 257
        a = np.full_like(g, 0xffff)
        return np.stack([g, g, g, a], axis=1).tobytes()
    png_write(path, w, h, 6, 16, rowbytes)


def ztxt_bomb(path, nchunks=1400, inflated=7_000_000):
    payload = zlib.compress(b"\0" * inflated, 9)
    one = chunk(b"zTXt", b"Comment\0\0" + payload)
    gray_png(path, 256, 256, extra=one * nchunks)


def gray_image(w, h):
    c = Canvas(w, h)
    return Image.fromarray(np.stack([c.row(y) for y in range(h)]), "L")


def jpeg_segments(data):
    """(marker, bytes) of each segment; an SOS carries its entropy data."""
    segs, i = [], 2
    while i < len(data):
        m = data[i + 1]
        if m == 0xD9:
            segs.append((m, data[i:i + 2]))
            break
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        j = i + 2 + n
        if m == 0xDA:  # entropy data up to the next marker that is not RSTn
            while not (data[j] == 0xFF and data[j + 1] != 0 and
                       not 0xD0 <= data[j + 1] <= 0xD7):
                j += 1
        segs.append((m, data[i:j]))
        i = j
    return segs


def scan_groups(data):
    """The file up to its SOF, and each scan with the tables before it."""
    segs = jpeg_segments(data)
    sof = next(k for k, (m, _) in enumerate(segs) if m in (0xC0, 0xC1, 0xC2))
    head = b"\xff\xd8" + b"".join(s for _, s in segs[:sof + 1])
    groups, cur = [], []
    for m, s in segs[sof + 1:]:
        if m == 0xD9:
            break
        cur.append(s)
        if m == 0xDA:
            groups.append(b"".join(cur))
            cur = []
    return head, groups


def prog_scans(path, w, h):
    """A gray progressive JPEG with 1 DC scan and 4 scans per AC band (253).
    jpegtran takes at most 100 scans per script, so three files that share
    the DC scan and split the AC bands are spliced: their scans are
    independent, each with its own Huffman tables."""
    jpegtran = shutil.which("jpegtran")
    if not jpegtran:
        sys.exit("gen_hostile.py: jpegtran not found (apt-get install libjpeg-turbo-progs)")
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base.jpg")
        gray_image(w, h).save(base, quality=75)
        for lo, hi in ((1, 24), (25, 48), (49, 63)):
            script = ["0: 0 0 0 0;"]
            for k in range(lo, hi + 1):
                script += ["0: %d %d 0 3;" % (k, k), "0: %d %d 3 2;" % (k, k),
                           "0: %d %d 2 1;" % (k, k), "0: %d %d 1 0;" % (k, k)]
            scans, part = os.path.join(tmp, "scans.txt"), os.path.join(tmp, "part.jpg")
            with open(scans, "w") as f:
                f.write("\n".join(script) + "\n")
            subprocess.run([jpegtran, "-scans", scans, "-outfile", part, base], check=True)
            with open(part, "rb") as f:
                parts.append(scan_groups(f.read()))
    out = parts[0][0] + b"".join(parts[0][1])
    for _, groups in parts[1:]:
        out += b"".join(groups[1:])  # their DC scan is already there
    with open(path, "wb") as f:
        f.write(out + b"\xff\xd9")


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)  # noqa: E731
    ztxt_bomb(p("ztxt_bomb.png"))
    prog_scans(p("jpeg_prog253_40mp.jpg"), 7000, 5714)
    prog_scans(p("jpeg_prog253_4mp.jpg"), 2000, 2000)
    rgba16_png(p("png16_rgba_40mp.png"), 8000, 5000)
    gray_png(p("png_6000x6000.png"), 6000, 6000)
    gray_png(p("png_max_20000x2000.png"), 20000, 2000)
    gray_image(20000, 2000).save(p("jpeg_max_20000x2000.jpg"), quality=75)
    gray_image(7000, 5714).convert("RGB").save(p("jpeg_40mp.jpg"), quality=75)
    gray_image(4000, 3000).convert("RGB").save(p("jpeg_prog_4000x3000.jpg"), quality=85,
                                               progressive=True)
    gray_png(p("png_adam7_6000x6000.png"), 6000, 6000, interlace=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
