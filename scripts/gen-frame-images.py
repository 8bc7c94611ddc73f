#!/usr/bin/python3
"""Deterministic photos of digits written in printed frames (issue 15).

    gen-frame-images.py evalset DATADIR OUTDIR N   N framed photos + labels.txt
    gen-frame-images.py formset DATADIR OUTDIR N   N printed forms + labels.txt
    gen-frame-images.py ruledset DATADIR OUTDIR N  N digits between printed rules + labels.txt
    gen-frame-images.py fixtures DATADIR OUTDIR    the framed fixtures only

A digit of the TEST split (DATADIR, `make data`) written inside a printed
box, circle or open frame, photographed: the frame's margins are 4-12 % of
the photo on each side (a fifth of the photos have a side at or past the
photo's edge), its line 0.8-2.5 % of the photo thick and darker than the
paper, the whole frame turned by up to 4 degrees; paper texture, a lighting
gradient, tinted paper and ink, sensor noise, a slight blur and JPEG
quality 60-90. A fifth of the digits touch their frame. The fixtures
(written into tests/images by gen-test-images.py fixtures, which imports
this file) add a frame with nothing in it and a form with several boxes of
which one is filled; the form set has N such forms of 2-6 boxes, the
digit in any one of them; the ruled set and the fixture frame_rules.jpg
have the digit between two printed rules. Every random choice comes from a seeded numpy
generator: the same inputs give the same bytes.
"""
import importlib.util
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SS = 4  # supersampling of the drawn frame lines
KINDS = ("box", "circle", "open", "gap", "box", "circle")


def base_module():
    spec = importlib.util.spec_from_file_location(
        "gen_base", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen-test-images.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


G = base_module()


def draw_frame(rng, w, h, box, kind, lw, angle):
    """Alpha (0..1, h x w) of a printed frame around box (x0, y0, x1, y1):
    'box', 'circle' (the ellipse in box), 'open' (one side left out) or
    'gap' (a gap of a quarter to a half of one side), turned by angle."""
    im = Image.new("L", (w * SS, h * SS), 0)
    dr = ImageDraw.Draw(im)
    x0, y0, x1, y1 = (c * SS for c in box)
    width = max(1, int(round(lw * SS)))
    if kind == "circle":
        dr.ellipse((x0, y0, x1, y1), outline=255, width=width)
    else:
        sides = [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)),
                 ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))]
        skip = int(rng.integers(0, 4))
        for i, (a, b) in enumerate(sides):
            if kind == "open" and i == skip:
                continue
            if kind == "gap" and i == skip:
                f0 = rng.uniform(0.15, 0.4)
                f1 = f0 + rng.uniform(0.25, 0.45)
                pa = (a[0] + (b[0] - a[0]) * f0, a[1] + (b[1] - a[1]) * f0)
                pb = (a[0] + (b[0] - a[0]) * f1, a[1] + (b[1] - a[1]) * f1)
                dr.line([a, pa], fill=255, width=width)
                dr.line([pb, b], fill=255, width=width)
                continue
            dr.line([a, b], fill=255, width=width)
        for p in (sides[0][0], sides[1][0], sides[2][0], sides[3][0]):  # square corners
            dr.rectangle((p[0] - width // 2, p[1] - width // 2,
                          p[0] + (width - 1) // 2, p[1] + (width - 1) // 2), fill=255)
    im = im.rotate(angle, Image.BICUBIC, center=((x0 + x1) / 2, (y0 + y1) / 2))
    return np.asarray(im.resize((w, h), Image.BOX)).astype(np.float32) / 255


def ink_box(d):
    ys, xs = np.nonzero(d > 40)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def draw_digit(d, w, h, size, cx, cy):
    """Alpha of digit d (28x28 light-on-dark) scaled so its ink box's long
    side is size px, the ink box centred at (cx, cy)."""
    bx0, by0, bx1, by1 = ink_box(d)
    scale = size / max(bx1 - bx0, by1 - by0)
    s = max(1, int(round(28 * scale)))
    a = np.asarray(Image.fromarray(d).resize((s, s), Image.BICUBIC)).astype(np.float32) / 255
    ox = int(round(cx - (bx0 + bx1) / 2 * scale))
    oy = int(round(cy - (by0 + by1) / 2 * scale))
    out = np.zeros((h, w), np.float32)
    xa, ya, xb, yb = max(0, ox), max(0, oy), min(w, ox + s), min(h, oy + s)
    if xb > xa and yb > ya:
        out[ya:yb, xa:xb] = a[ya - oy:yb - oy, xa - ox:xb - ox]
    return out, (bx1 - bx0) * scale, (by1 - by0) * scale


def photograph(rng, alphas, w, h):
    """Paper photo of the dark marks alphas [(alpha, strength)]: lighting
    gradient, texture, tint, noise, slight blur; RGB image."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-50, 50, 2)
    light = rng.uniform(170, 230) + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    light += G.smooth_noise(rng, h, w, 16, 6) + rng.normal(0, 3, (h, w))
    dark = np.ones((h, w), np.float32)
    for a, strength in alphas:
        dark *= 1 - strength * a
    gray = light * dark
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 1.0)], np.float32)
    ink = 1 - dark[:, :, None]
    ink_tint = np.array([rng.uniform(0.6, 1), rng.uniform(0.6, 1), 1.0], np.float32)
    rgb = gray[:, :, None] * tint * (1 - ink * (1 - ink_tint))
    rgb += rng.normal(0, 2, rgb.shape)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8)))


def framed_photo(rng, d, kind, touch=False, edge=False, empty=False):
    """One framed digit photo (RGB image)."""
    w, h = int(rng.integers(240, 560)), int(rng.integers(240, 560))
    m = rng.uniform(0.04, 0.12, 4) * np.array([w, h, w, h])
    if edge:  # one or two sides at or just past the photo's edge
        for i in rng.choice(4, int(rng.integers(1, 3)), replace=False):
            m[i] = rng.uniform(-0.03, 0.0) * (w if i % 2 == 0 else h)
    box = (m[0], m[1], w - m[2], h - m[3])
    lw = max(1.5, rng.uniform(0.008, 0.025) * min(w, h))
    angle = rng.uniform(-4, 4)
    frame = draw_frame(rng, w, h, box, kind, lw, angle)
    marks = [(frame, rng.uniform(0.45, 0.85))]
    if not empty:
        iw, ih = box[2] - box[0] - 2 * lw, box[3] - box[1] - 2 * lw
        inner = min(iw, ih) * (0.7 if kind == "circle" else 1.0)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if touch:  # the ink box reaches the frame's line on one side
            size = inner * rng.uniform(0.8, 0.95)
            a, dw, dh = draw_digit(d, w, h, size, cx, cy)
            side = int(rng.integers(0, 4))
            shift = [(-(iw - dw) / 2 - lw, 0), (0, -(ih - dh) / 2 - lw),
                     ((iw - dw) / 2 + lw, 0), (0, (ih - dh) / 2 + lw)][side]
            a, _, _ = draw_digit(d, w, h, size, cx + shift[0], cy + shift[1])
        else:
            size = inner * rng.uniform(0.45, 0.8)
            jx, jy = rng.uniform(-0.1, 0.1, 2) * inner
            a, _, _ = draw_digit(d, w, h, size, cx + jx, cy + jy)
        marks.append((a, rng.uniform(0.55, 0.9)))
    return photograph(rng, marks, w, h)


def form_photo(rng, d, boxes=5, filled=2):
    """A printed form: a row of separate boxes, one filled with digit d, a
    heading rule far above them; the photo shows the whole form."""
    w, h = int(rng.integers(560, 700)), int(rng.integers(300, 380))
    side = w * 0.13
    gap = (w * 0.9 - boxes * side) / (boxes - 1)
    y0 = h * 0.5
    lw = max(1.5, 0.006 * w)
    angle = rng.uniform(-2, 2)
    marks = []
    for i in range(boxes):
        x0 = w * 0.05 + i * (side + gap)
        box = (x0, y0, x0 + side, y0 + side)
        marks.append((draw_frame(rng, w, h, box, "box", lw, angle), rng.uniform(0.6, 0.8)))
        if i == filled:
            a, _, _ = draw_digit(d, w, h, side * 0.7, x0 + side / 2, y0 + side / 2)
            marks.append((a, 0.85))
    return photograph(rng, marks, w, h)


def ruled_photo(rng, d):
    """The digit written between two printed rules (lined paper when they
    run off the photo, a form's writing line when they stop short)."""
    w, h = int(rng.integers(300, 520)), int(rng.integers(200, 320))
    lw = max(1.5, rng.uniform(0.006, 0.015) * h)
    y0, y1 = h * rng.uniform(0.1, 0.2), h * rng.uniform(0.8, 0.9)
    off = rng.uniform(0.03, 0.12, 2) * w if rng.random() < 0.5 else (-lw, -lw)
    im = Image.new("L", (w * SS, h * SS), 0)
    dr = ImageDraw.Draw(im)
    for y in (y0, y1):
        dr.line([(off[0] * SS, y * SS), ((w - off[1]) * SS, y * SS)], fill=255,
                width=max(1, int(round(lw * SS))))
    im = im.rotate(rng.uniform(-2, 2), Image.BICUBIC, center=(w * SS / 2, h * SS / 2))
    rules = np.asarray(im.resize((w, h), Image.BOX)).astype(np.float32) / 255
    size = (y1 - y0) * rng.uniform(0.55, 0.8)
    a, _, _ = draw_digit(d, w, h, size, w * rng.uniform(0.3, 0.7), (y0 + y1) / 2)
    return photograph(rng, [(rules, rng.uniform(0.45, 0.85)), (a, rng.uniform(0.55, 0.9))], w, h)


def photoset(datadir, outdir, n, seed, first, prefix, photo):
    """n TEST digits, in order from index `first`, each photographed by
    photo(rng, digit, i); JPEG files PREFIX_NNNN.jpg and labels.txt."""
    x, y = G.load_test(datadir)
    rng = np.random.default_rng(seed)
    os.makedirs(outdir, exist_ok=True)
    step = max(1, len(y) // n)
    with open(os.path.join(outdir, "labels.txt"), "w") as lab:
        for i in range(n):
            idx = (i * step + first) % len(y)
            img = photo(rng, (x[idx] * 255).round().astype(np.uint8), i)
            name = f"{prefix}_{i:04d}.jpg"
            img.save(os.path.join(outdir, name), "JPEG", quality=int(rng.integers(60, 90)))
            lab.write(f"{name} {y[idx]}\n")


def evalset(datadir, outdir, n):
    """n digits, each in a frame of the kinds above."""
    photoset(datadir, outdir, n, 15, 7, "framed", lambda rng, d, i: framed_photo(
        rng, d, KINDS[i % len(KINDS)], touch=i % 5 == 2, edge=i % 5 == 4))


def formset(datadir, outdir, n):
    """n digits, each in one box of a printed form of 2-6 boxes, the filled
    box anywhere in the row."""
    def photo(rng, d, i):
        boxes = int(rng.integers(2, 7))
        return form_photo(rng, d, boxes=boxes, filled=int(rng.integers(0, boxes)))
    photoset(datadir, outdir, n, 151, 3, "form", photo)


def ruledset(datadir, outdir, n):
    """n digits, each between two printed rules."""
    photoset(datadir, outdir, n, 152, 5, "ruled", lambda rng, d, i: ruled_photo(rng, d))


def fixture_items(x, y):
    """(name, expected, bytes) for tests/images."""
    rng = np.random.default_rng(16)
    out = []
    for i, (name, kind, dg, kw) in enumerate([
            ("frame_box.jpg", "box", 4, {}),
            ("frame_circle.jpg", "circle", 7, {}),
            ("frame_open.jpg", "open", 2, {}),
            ("frame_gap.jpg", "gap", 5, {}),
            ("frame_edge.jpg", "box", 9, {"edge": True}),
            ("frame_touch_box.jpg", "box", 0, {"touch": True}),
            ("frame_touch_box2.jpg", "box", 3, {"touch": True}),
            ("frame_touch_circle.jpg", "circle", 6, {"touch": True}),
            ("frame_only_box.jpg", "box", 1, {"empty": True}),
            ("frame_only_circle.jpg", "circle", 1, {"empty": True})]):
        img = framed_photo(rng, G.sample(x, y, dg, 90 + i), kind, **kw)
        out.append((name, "any" if kw.get("empty") else dg, G.jpeg_bytes(img, quality=80)))
    img = form_photo(rng, G.sample(x, y, 8, 100))
    out.append(("frame_form.jpg", 8, G.jpeg_bytes(img, quality=85)))
    img = ruled_photo(rng, G.sample(x, y, 2, 115))
    out.append(("frame_rules.jpg", 2, G.jpeg_bytes(img, quality=85)))
    return out


def main(argv):
    if len(argv) >= 5 and argv[1] == "evalset":
        evalset(argv[2], argv[3], int(argv[4]))
    elif len(argv) >= 5 and argv[1] == "formset":
        formset(argv[2], argv[3], int(argv[4]))
    elif len(argv) >= 5 and argv[1] == "ruledset":
        ruledset(argv[2], argv[3], int(argv[4]))
    elif len(argv) >= 4 and argv[1] == "fixtures":
        x, y = G.load_test(argv[2])
        G.write_set(argv[3], fixture_items(x, y))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
