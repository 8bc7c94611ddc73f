#!/usr/bin/python3
"""Deterministic test images for the image pipeline (issue 4).

    gen-test-images.py fixtures DATADIR OUTDIR   small committed set + MANIFEST
    gen-test-images.py large DATADIR OUTDIR      big photos (tests, bench)
    gen-test-images.py evalset DATADIR OUTDIR KIND N
                                                  KIND paper|canvas|shadow|
                                                  shadow-hard: N images +
                                                  labels.txt, for accuracy

The fixtures include the framed photos of scripts/gen-frame-images.py
(issue 15). Digits come from the TEST split in DATADIR (build/data, `make data`), so the
model has never trained on them. PNGs are written by the small encoder
below (every colour type, bit depth, palette+tRNS, Adam7), JPEGs by Pillow
(Debian's python3-pil). Every random choice comes from a seeded numpy
generator: the same inputs give the same bytes.

MANIFEST lines are "FILE EXPECTED", EXPECTED being a digit, "any" (a valid
image without a digit: any answer), or the error code the pipeline must
give (invalid_image, unsupported_type, too_large).
"""
import importlib.util
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageFilter

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


# TEST samples whose label a person would doubt (the second 9 looks like an
# 8; the second 1, thresholded to 1 bit, grows a foot like a 2): fixtures
# must test the pipeline, not the model's guess.
AMBIGUOUS = {(9, 1), (1, 1)}


# ---- data -------------------------------------------------------------------

def load_test(datadir):
    x = np.fromfile(f"{datadir}/test.images", dtype="<f4").reshape(-1, 28, 28)
    y = np.fromfile(f"{datadir}/test.labels", dtype=np.uint8)
    return x, y


def sample(x, y, digit, k):
    """The k-th TEST sample of a digit, as 8-bit light-on-dark."""
    idx = np.nonzero(y == digit)[0][k]
    return (x[idx] * 255).round().astype(np.uint8)


def upscale(d, size):
    return np.asarray(Image.fromarray(d).resize((size, size), Image.BICUBIC))


# ---- PNG encoder ------------------------------------------------------------

def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def pack_rows(a, depth):
    """a: h x w x ch samples -> list of packed scanlines."""
    h, w, ch = a.shape
    if depth == 16:
        return [a[r].astype(">u2").tobytes() for r in range(h)]
    if depth == 8:
        return [a[r].astype(np.uint8).tobytes() for r in range(h)]
    shifts = np.arange(depth - 1, -1, -1)
    rows = []
    for r in range(h):
        bits = (a[r].reshape(-1)[:, None] >> shifts) & 1
        rows.append(np.packbits(bits.reshape(-1).astype(np.uint8)).tobytes())
    return rows


def png_bytes(a, depth, ctype, plte=None, trns=None, interlace=False):
    """a: h x w x ch integer samples already in [0, 2^depth)."""
    if a.ndim == 2:
        a = a[:, :, None]
    h, w, _ = a.shape
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for xs, ys, xd, yd in passes:
        sub = a[ys::yd, xs::xd]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        raw += b"".join(b"\0" + row for row in pack_rows(sub, depth))
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if plte is not None:
        out += chunk(b"PLTE", bytes(np.asarray(plte, np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    out += chunk(b"IDAT", zlib.compress(raw, 9))
    return out + chunk(b"IEND", b"")


def jpeg_bytes(img, **kw):
    b = io.BytesIO()
    img.save(b, "JPEG", **kw)
    return b.getvalue()


# ---- synthetic photos and canvases ------------------------------------------

def smooth_noise(rng, h, w, scale, amp):
    """Low-frequency texture: coarse noise upsampled."""
    gh, gw = max(2, h // scale), max(2, w // scale)
    n = rng.normal(0, 1, (gh, gw)).astype(np.float32)
    im = Image.fromarray(n, mode="F").resize((w, h), Image.BICUBIC)
    return np.asarray(im) * amp


def paper_photo(rng, d, w, h, digit_frac=(0.25, 0.6), angle=8):
    """A dark-on-light photo of digit d (28x28 light-on-dark) on paper with
    uneven lighting, texture, noise, slight rotation, margins; RGB image."""
    size = int(min(w, h) * rng.uniform(*digit_frac))
    ink = Image.fromarray(d).resize((size, size), Image.BICUBIC)
    ink = ink.rotate(rng.uniform(-angle, angle), Image.BICUBIC, expand=True)
    ink = np.asarray(ink).astype(np.float32) / 255
    ih, iw = ink.shape
    y0 = int(rng.integers(0, max(1, h - ih)))
    x0 = int(rng.integers(0, max(1, w - iw)))
    alpha = np.zeros((h, w), np.float32)
    alpha[y0:y0 + ih, x0:x0 + iw] = ink[:h - y0, :w - x0]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(170, 230)
    gx, gy = rng.uniform(-50, 50, 2)
    light = base + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    light += smooth_noise(rng, h, w, 16, 6) + rng.normal(0, 3, (h, w))
    strength = rng.uniform(0.55, 0.9)
    gray = light * (1 - strength * alpha)
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 1.0)], np.float32)
    ink_tint = np.array([rng.uniform(0.6, 1), rng.uniform(0.6, 1), 1.0], np.float32)
    rgb = gray[:, :, None] * tint * (1 - alpha[:, :, None] * (1 - ink_tint))
    rgb += rng.normal(0, 2, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def shadowed(rng, img, hard):
    """A shadow across part of the page (a hand, the phone): a straight
    edge at a random angle, soft (40 px) or hard (1 px), 55-80 % light."""
    a = np.asarray(img).astype(np.float32)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    k = rng.uniform(-1, 1)
    dist = (yy - h / 2 - k * (xx - w / 2)) - rng.uniform(-h / 3, h / 3)
    m = 0.5 * (1 + np.tanh(dist / (2 * (1 if hard else 40))))
    a *= (1 - m * (1 - rng.uniform(0.55, 0.8)))[:, :, None]
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5)))


def canvas(rng, d, size, light):
    """A canvas drawing: stroke colour with alpha = the digit, transparent
    background (its RGB zero, as browsers export it); RGBA image."""
    frac = rng.uniform(0.5, 0.9)
    s = int(size * frac)
    a = np.asarray(Image.fromarray(d).resize((s, s), Image.BICUBIC))
    alpha = np.zeros((size, size), np.uint8)
    y0, x0 = rng.integers(0, size - s + 1, 2)
    alpha[y0:y0 + s, x0:x0 + s] = a
    if light:
        col = rng.integers(200, 256, 3)
    else:
        col = rng.integers(0, 90, 3)
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[:, :, :3] = col
    rgba[:, :, 3] = alpha
    rgba[alpha == 0, :3] = 0
    return Image.fromarray(rgba, "RGBA")


# ---- fixtures ---------------------------------------------------------------

def png_variants(x, y):
    """Every colour type x bit depth x interlace the decoder supports."""
    out = []
    k = 0

    def nxt():
        nonlocal k
        dg = k % 10
        kk = 1 + k // 10
        if (dg, kk) in AMBIGUOUS:
            kk += 50
        d = sample(x, y, dg, kk)
        k += 1
        return dg, upscale(d, 56)

    for depth in (1, 2, 4, 8, 16):
        for il in (False, True):
            dg, d = nxt()
            g = 255 - d  # dark on light
            v = (g.astype(np.uint32) * ((1 << depth) - 1) + 127) // 255
            out.append((f"png_gray{depth}{'_adam7' if il else ''}.png", dg,
                        png_bytes(v, depth, 0, interlace=il)))
    for depth in (8, 16):
        m = (1 << depth) - 1
        dg, d = nxt()
        v = d.astype(np.uint32) * m // 255
        ga = np.stack([np.zeros_like(v), v], -1)  # black strokes, alpha = ink
        out.append((f"png_ga{depth}_dark_on_transparent.png", dg, png_bytes(ga, depth, 4)))
        dg, d = nxt()
        g = (255 - d).astype(np.uint32) * m // 255
        rgb = np.stack([g, g, g * 3 // 4], -1)
        out.append((f"png_rgb{depth}.png", dg, png_bytes(rgb, depth, 2)))
        dg, d = nxt()
        v = d.astype(np.uint32) * m // 255
        rgba = np.stack([np.full_like(v, m)] * 3 + [v], -1)  # white strokes
        out.append((f"png_rgba{depth}_light_on_transparent.png", dg,
                    png_bytes(rgba, depth, 6, interlace=depth == 16)))
    for depth in (1, 2, 4, 8):
        dg, d = nxt()
        levels = 1 << depth
        idx = (d.astype(np.uint32) * (levels - 1) + 127) // 255
        pal = [(0, 0, 160)] * levels  # blue ink, alpha by index via tRNS
        trns = [int(i * 255 / (levels - 1)) for i in range(levels)]
        out.append((f"png_palette{depth}_trns.png", dg,
                    png_bytes(idx, depth, 3, plte=pal, trns=trns, interlace=depth == 4)))
    # a single transparent colour (tRNS) in gray and RGB images: the paper
    dg, d = nxt()
    g = 255 - d
    out.append(("png_gray8_trns.png", dg, png_bytes(g, 8, 0, trns=[0, 255])))
    dg, d = nxt()
    g = (255 - d).astype(np.uint32)
    rgb = np.stack([g, g, g], -1)
    out.append(("png_rgb8_trns.png", dg, png_bytes(rgb, 8, 2, trns=[0, 255, 0, 255, 0, 255])))
    dg, d = nxt()
    out.append(("png_light_on_dark_mnist.png", dg, png_bytes(sample(x, y, dg, 1 + k // 10), 8, 0)))
    return out


def jpeg_variants(x, y, rng):
    out = []
    for i, (name, mode, kw) in enumerate([
            ("jpg_gray.jpg", "L", {}),
            ("jpg_ycbcr444.jpg", "RGB", {"subsampling": 0}),
            ("jpg_ycbcr420.jpg", "RGB", {"subsampling": 2}),
            ("jpg_progressive.jpg", "RGB", {"progressive": True}),
            ("jpg_cmyk.jpg", "CMYK", {}),
            ("jpg_light_on_dark.jpg", "L", {})]):
        dg = (3 * i + 1) % 10
        d = upscale(sample(x, y, dg, 20 + i), 84)
        g = d if "light" in name else 255 - d
        img = Image.fromarray(g).convert(mode)
        out.append((name, dg, jpeg_bytes(img, quality=90, **kw)))
    # EXIF orientation o: store the image so that turning it by o makes it upright
    inverse = {1: None, 2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180,
               4: Image.FLIP_TOP_BOTTOM, 5: Image.TRANSPOSE, 6: Image.ROTATE_90,
               7: Image.TRANSVERSE, 8: Image.ROTATE_270}
    for o in range(1, 9):
        dg = [2, 4, 7, 3, 5, 6, 9, 1][o - 1]  # asymmetric digits
        d = 255 - upscale(sample(x, y, dg, 30 + o), 64)
        img = Image.fromarray(np.pad(d, ((0, 0), (0, 24)), constant_values=255))
        if inverse[o] is not None:
            img = img.transpose(inverse[o])
        ex = Image.Exif()
        ex[0x0112] = o
        out.append((f"jpg_exif_orientation{o}.jpg", dg, jpeg_bytes(img, quality=90, exif=ex.tobytes())))
    return out


def photo_variants(x, y, rng):
    out = []
    for i in range(4):
        dg = (7 * i + 2) % 10
        img = paper_photo(rng, sample(x, y, dg, 40 + i), 320, 240)
        out.append((f"photo_paper{i}.jpg", dg, jpeg_bytes(img, quality=80)))
    for i in range(2):  # chalk on a blackboard: light on dark, same troubles
        dg = (3 * i + 5) % 10
        img = paper_photo(rng, sample(x, y, dg, 45 + i), 300, 220)
        img = Image.fromarray(255 - np.asarray(img))
        out.append((f"photo_board{i}.jpg", dg, jpeg_bytes(img, quality=80)))
    for i, light in enumerate((False, True)):
        dg = (5 * i + 3) % 10
        img = canvas(rng, sample(x, y, dg, 50 + i), 200, light)
        b = io.BytesIO()
        img.save(b, "PNG")
        out.append((f"canvas_{'light' if light else 'dark'}_on_transparent.png", dg, b.getvalue()))
    # tiny images
    dg = 8
    d = np.asarray(Image.fromarray(sample(x, y, dg, 60)).resize((12, 12), Image.BOX))
    out.append(("tiny_12x12.png", dg, png_bytes(d, 8, 0)))
    out.append(("one_pixel.png", "any", png_bytes(np.array([[0]], np.uint8), 8, 0)))
    out.append(("blank_white.png", "any", png_bytes(np.full((40, 40), 255, np.uint8), 8, 0)))
    out.append(("one_pixel.jpg", "any", jpeg_bytes(Image.new("L", (1, 1), 128))))
    return out


def bad_files(x, y, rng):
    d = upscale(sample(x, y, 3, 70), 56)
    good_png = png_bytes(255 - d, 8, 0)
    good_jpg = jpeg_bytes(Image.fromarray(255 - d), quality=85)
    out = [("bad_empty.png", "invalid_image", b""),
           ("bad_truncated.png", "invalid_image", good_png[:len(good_png) * 2 // 3]),
           ("bad_truncated.jpg", "invalid_image", good_jpg[:len(good_jpg) * 2 // 3])]
    crc = bytearray(good_png)
    crc[-13] ^= 0xff  # last byte of the IDAT CRC (IEND is the last 12 bytes)
    out.append(("bad_crc.png", "invalid_image", bytes(crc)))
    for name, fmt in (("bad_gif.gif", "GIF"), ("bad_bmp.bmp", "BMP"), ("bad_webp.webp", "WEBP")):
        b = io.BytesIO()
        Image.fromarray(d).save(b, fmt)
        out.append((name, "unsupported_type", b.getvalue()))
    out.append(("bad_text.png", "unsupported_type", b"this is not an image, only a name\n"))
    huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
    huge += chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    out.append(("bad_huge_100000x100000.png", "too_large", huge))
    j = bytearray(good_jpg)
    sof = j.find(b"\xff\xc0")
    j[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
    out.append(("bad_huge_65500x65500.jpg", "too_large", bytes(j)))
    out.append(("bad_random.bin", "unsupported_type", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()))
    out.append(("bad_random_png_header.png", "invalid_image",
                b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()))
    out.append(("bad_random_jpeg_header.jpg", "invalid_image",
                b"\xff\xd8\xff" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()))
    return out


def write_set(outdir, items):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "MANIFEST"), "w") as m:
        m.write("# file expected (digit | any | error code); made by scripts/gen-test-images.py\n")
        for name, expected, data in items:
            with open(os.path.join(outdir, name), "wb") as f:
                f.write(data)
            m.write(f"{name} {expected}\n")


def frame_module():
    """scripts/gen-frame-images.py (digits in printed frames, issue 15)."""
    spec = importlib.util.spec_from_file_location(
        "gen_frame", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen-frame-images.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fixtures(datadir, outdir):
    x, y = load_test(datadir)
    rng = np.random.default_rng(4)
    items = png_variants(x, y) + jpeg_variants(x, y, rng) + photo_variants(x, y, rng)
    items += frame_module().fixture_items(x, y)
    write_set(outdir, items + bad_files(x, y, rng))


def large(datadir, outdir):
    """Big photos: too big to commit, generated at test/bench time."""
    x, y = load_test(datadir)
    rng = np.random.default_rng(5)
    items = []
    for name, dg, w, h, frac in (("photo_4000x3000.jpg", 6, 4000, 3000, (0.2, 0.3)),
                                 ("photo_1000x1000.jpg", 4, 1000, 1000, (0.3, 0.5)),
                                 ("photo_small_digit_3000x2000.jpg", 2, 3000, 2000, (0.1, 0.12))):
        img = paper_photo(rng, sample(x, y, dg, 80), w, h, frac)
        items.append((name, dg, jpeg_bytes(img, quality=85)))
    img = paper_photo(rng, sample(x, y, 7, 81), 3000, 4000, (0.3, 0.4))
    ex = Image.Exif()
    ex[0x0112] = 6
    items.append(("photo_exif6_4000x3000.jpg", 7,
                  jpeg_bytes(img.transpose(Image.ROTATE_90), quality=85, exif=ex.tobytes())))
    img = paper_photo(rng, sample(x, y, 5, 82), 2000, 1500, (0.3, 0.5))
    b = io.BytesIO()
    img.save(b, "PNG")
    items.append(("photo_2000x1500.png", 5, b.getvalue()))
    d = sample(x, y, 0, 83)
    items.append(("mnist_28x28.png", 0, png_bytes(d, 8, 0)))
    write_set(outdir, items)


def evalset(datadir, outdir, kind, n):
    """n digits of the TEST split, in order, as paper photos or canvases."""
    x, y = load_test(datadir)
    rng = np.random.default_rng({"paper": 11, "canvas": 12, "shadow": 13, "shadow-hard": 14}[kind])
    os.makedirs(outdir, exist_ok=True)
    step = max(1, len(y) // n)
    with open(os.path.join(outdir, "labels.txt"), "w") as lab:
        for i in range(n):
            idx = (i * step) % len(y)
            d = (x[idx] * 255).round().astype(np.uint8)
            if kind in ("shadow", "shadow-hard"):
                w, h = int(rng.integers(300, 800)), int(rng.integers(300, 800))
                img = paper_photo(rng, d, w, h, digit_frac=(0.12, 0.35), angle=15)
                img = shadowed(rng, img, kind == "shadow-hard")
                name = f"{kind}_{i:04d}.jpg"
                img.save(os.path.join(outdir, name), "JPEG", quality=int(rng.integers(50, 85)))
            elif kind == "paper":
                w, h = int(rng.integers(240, 640)), int(rng.integers(240, 640))
                img = paper_photo(rng, d, w, h)
                name = f"{kind}_{i:04d}.jpg"
                img.save(os.path.join(outdir, name), "JPEG", quality=int(rng.integers(60, 92)))
            else:
                img = canvas(rng, d, int(rng.integers(140, 400)), bool(i % 2))
                name = f"{kind}_{i:04d}.png"
                img.save(os.path.join(outdir, name), "PNG")
            lab.write(f"{name} {y[idx]}\n")


def main(argv):
    if len(argv) >= 4 and argv[1] == "fixtures":
        fixtures(argv[2], argv[3])
    elif len(argv) >= 4 and argv[1] == "large":
        large(argv[2], argv[3])
    elif len(argv) >= 6 and argv[1] == "evalset":
        evalset(argv[2], argv[3], argv[4], int(argv[5]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
