#!/usr/bin/python3
"""make_heavy_png.py OUT_PREFIX COUNT [WIDTH HEIGHT]

Writes COUNT large 16-bit RGBA PNGs (default 8000 x 5000 = 40 MP, the
worker's pixel limit) that compress to ~350 KB: white rows with a dark bar
across the middle half. The pixel data is compressed once; each file gets
its own tEXt chunk, so the files differ (distinct hashes in the worker's
decode log) while costing the same to decode. Prints nothing.
"""
import struct
import sys
import zlib

prefix, count = sys.argv[1], int(sys.argv[2])
w, h = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (8000, 5000)
white = b"\x00" + b"\xff" * (w * 8)
bar0, bar1 = (w // 2 - w // 20) * 8, (w // 2 + w // 20) * 8
ink = bytearray(white)
for x in range(bar0, bar1, 8):
    ink[1 + x:1 + x + 6] = b"\x00" * 6  # RGB black, alpha stays opaque
ink = bytes(ink)
co = zlib.compressobj(6)
parts = [co.compress(white * (h // 4)), co.compress(ink * (h // 2)),
         co.compress(white * (h - h // 4 - h // 2)), co.flush()]
idat = b"".join(parts)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0))
body = chunk(b"IDAT", idat) + chunk(b"IEND", b"")
for i in range(count):
    with open("%s%03d.png" % (prefix, i), "wb") as f:
        f.write(head + chunk(b"tEXt", b"Comment\x00copy %d" % i) + body)
