#!/usr/bin/python3
"""msgpack_request.py OUT IMAGE [KEY=VALUE...]: write the msgpack request
{"v":1, "image": <bytes of IMAGE>, KEY: "VALUE", ...} (string values) to
OUT, for mnist-client --raw. Standard library only (fixmap, str8, bin32)."""
import struct
import sys


def s(text):
    b = text.encode()
    return bytes([0xd9, len(b)]) + b if len(b) < 256 else sys.exit("string too long")


def main(out, image, *pairs):
    img = open(image, "rb").read()
    body = s("v") + b"\x01" + s("image") + b"\xc6" + struct.pack(">I", len(img)) + img
    for p in pairs:
        k, v = p.split("=", 1)
        body += s(k) + s(v)
    open(out, "wb").write(bytes([0x80 | (2 + len(pairs))]) + body)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
