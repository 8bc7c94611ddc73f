"""Train the CNN-Transformer on the TRAIN split and write model.safetensors.

Usage: /usr/bin/python3 weights/train.py DATADIR OUT.safetensors [--epochs N]
Deterministic for a given seed and thread count. Recipe in MODEL_CARD.md.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import MnistNet, normalise, load_split, save_safetensors  # noqa: E402


def augment(x, gen):
    """Random affine (rotation, scale, shear, shift) and stroke width.

    x: B x 1 x 28 x 28 in [0, 1]. Everything is drawn from gen so a run
    is reproducible.
    """
    b = x.shape[0]
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(b, generator=gen)  # noqa
    ang = u(-15, 15) * math.pi / 180
    scale = u(0.8, 1.2)
    shear = u(-0.2, 0.2)
    tx, ty = u(-0.15, 0.15) * 2, u(-0.15, 0.15) * 2
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([
        torch.stack([cos, -sin + shear * cos, tx], 1),
        torch.stack([sin, cos + shear * sin, ty], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    # Stroke width: thicken a quarter of the batch, thin another quarter.
    r = torch.rand(b, generator=gen)
    thick = F.max_pool2d(x, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-x, 2, stride=1, padding=0)
    thin = F.pad(thin, (0, 1, 0, 1))
    pick = r.view(b, 1, 1, 1)
    x = torch.where(pick < 0.2, 0.5 * (x + thick), x)
    x = torch.where((pick >= 0.2) & (pick < 0.3), torch.maximum(thin, 0.6 * x), x)
    return x.clamp(0, 1)


def evaluate(model, images, labels):
    model.eval()
    with torch.inference_mode():
        logits = model(normalise(images))
    pred = logits.argmax(1).numpy()
    return float((pred == labels).mean()), pred


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("out")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    tr_x, tr_y = load_split(args.datadir, "train")
    te_x, te_y = load_split(args.datadir, "test")
    tr_x = torch.from_numpy(tr_x).reshape(-1, 1, 28, 28)
    tr_y = torch.from_numpy(tr_y)

    model = MnistNet()
    bs = 64
    steps = args.epochs * math.ceil(len(tr_y) / bs)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(tr_y), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(perm), bs):
            idx = perm[i:i + bs]
            # Two blank images per batch, taught to answer with a uniform
            # distribution: the normaliser turns a blank upload into all
            # zeros, and its answer should carry a low confidence.
            x = torch.cat([augment(tr_x[idx], gen), torch.zeros(2, 1, 28, 28)])
            logits = model((x - 0.1307) / 0.3081)
            loss = F.cross_entropy(logits[:len(idx)], tr_y[idx], label_smoothing=0.05)
            loss = loss - 0.1 * F.log_softmax(logits[len(idx):], 1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            n += len(idx)
        acc, _ = evaluate(model, te_x, te_y)
        print(f"epoch {epoch:2d}/{args.epochs} loss {total / n:.4f} "
              f"test {acc * 100:.2f}% elapsed {time.time() - t0:.0f}s", flush=True)

    acc, pred = evaluate(model, te_x, te_y)
    with torch.inference_mode():
        blank = F.softmax(model(normalise(np.zeros((1, 784), np.float32))), 1).max().item()
    print(f"blank image: top probability {blank:.4f}")
    save_safetensors(model.state_dict(), args.out, {
        "format": "pt", "test_accuracy": f"{acc:.4f}",
        "epochs": args.epochs, "seed": args.seed})
    print(f"wrote {args.out}: test accuracy {acc * 100:.2f}%")
    conf = np.zeros((10, 10), dtype=int)
    for t, p in zip(te_y, pred):
        conf[t, p] += 1
    print("confusion (rows true, cols predicted):")
    for d in range(10):
        print(f"  {d}: " + " ".join(f"{v:4d}" for v in conf[d]) +
              f"   {conf[d, d] / conf[d].sum() * 100:.1f}%")


if __name__ == "__main__":
    main()
