"""Train the CNN-Transformer on the TRAIN split and write model.safetensors.

Usage: /usr/bin/python3 weights/train.py DATADIR OUT.safetensors [--stage 3] [--threads 1]
Deterministic for a given seed and thread count. Recipe in MODEL_CARD.md.

`make weights` runs stage 3, the recipe of the committed weights: from
scratch, affine + stroke-width + elastic distortion from the first step,
a 100-epoch one-cycle schedule, an exponential moving average of the
weights, on TRAIN minus every 20th image (index % 20 == 19, 400 images),
which is held out of the gradient steps: the softmax temperature is fitted
on those. TEST is only reported, never used for a choice. The averaged
weights are written with the fitted temperature folded into fc2 (weight
and bias divided by T), so the C engine's softmax is the calibrated one
without any change there.

Stages 1 and 2 are the earlier recipe (MODEL_CARD.md, history): stage 1
from scratch on all of TRAIN, 30 epochs; stage 2 a 5-epoch fine-tune of
stage 1 (`--init`) with elastic distortion, EMA and the temperature.
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
from model import MnistNet, normalise, load_split, load_model, save_safetensors  # noqa: E402

HOLDOUT_EVERY = 20


def gaussian_kernel(sigma):
    r = int(math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    return k / k.sum(), r


def augment(x, gen, elastic_alpha=34.0, elastic_sigma=4.0):
    """Random affine (rotation, scale, shear, shift), elastic distortion and
    stroke width, in one resampling.

    x: B x 1 x 28 x 28 in [0, 1]. Everything is drawn from gen so a run
    is reproducible. The elastic field is Simard et al. (2003): uniform
    noise in [-1, 1] per pixel, Gaussian-smoothed (sigma 4 px), scaled by
    alpha (here drawn per image in [0, 34] px, i.e. displacements up to
    about 2 px).
    """
    b, _, h, w = x.shape
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
    if elastic_alpha > 0:
        # Elastic displacement field, in pixels, then in grid units (2 / size).
        noise = torch.rand(b, 2, h, w, generator=gen) * 2 - 1
        k, r = gaussian_kernel(elastic_sigma)
        noise = F.conv2d(noise.reshape(2 * b, 1, h, w), k.view(1, 1, 1, -1), padding=(0, r))
        noise = F.conv2d(noise, k.view(1, 1, -1, 1), padding=(r, 0)).reshape(b, 2, h, w)
        alpha = u(0, elastic_alpha).view(b, 1, 1, 1)
        disp = noise * alpha * torch.tensor([2.0 / w, 2.0 / h]).view(1, 2, 1, 1)
        grid = grid + disp.permute(0, 2, 3, 1)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    # Stroke width: thicken a fifth of the batch, thin a tenth.
    r = torch.rand(b, generator=gen)
    thick = F.max_pool2d(x, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-x, 2, stride=1, padding=0)
    thin = F.pad(thin, (0, 1, 0, 1))
    pick = r.view(b, 1, 1, 1)
    x = torch.where(pick < 0.2, 0.5 * (x + thick), x)
    x = torch.where((pick >= 0.2) & (pick < 0.3), torch.maximum(thin, 0.6 * x), x)
    return x.clamp(0, 1)


def logits_of(model, images):
    model.eval()
    with torch.inference_mode():
        return torch.cat([model(normalise(images[i:i + 500]))
                          for i in range(0, len(images), 500)])


def ece(logits, labels, bins=15):
    """Expected calibration error (top-1 confidence, equal-width bins)."""
    p = F.softmax(logits, 1)
    conf, pred = p.max(1)
    right = (pred == torch.as_tensor(labels)).float()
    edges = torch.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.float().mean().item() * abs(conf[m].mean().item() - right[m].mean().item())
    return total


def fit_temperature(logits, labels):
    """Temperature minimising the NLL, by a fine grid search (deterministic)."""
    y = torch.as_tensor(labels)
    best = (float("inf"), 1.0)
    for t in np.exp(np.linspace(math.log(0.25), math.log(4.0), 401)):
        nll = F.cross_entropy(logits / float(t), y).item()
        best = min(best, (nll, float(t)))
    return best[1]


def fold_temperature(model, t):
    """Divide fc2's weight and bias by T: the model's logits become its
    logits / T, so a plain softmax of them is the calibrated one."""
    with torch.no_grad():
        model.fc2.weight.div_(t)
        model.fc2.bias.div_(t)


STAGES = {
    # The first recipe (99.00 % on TEST): from scratch on all of TRAIN.
    1: dict(epochs=30, bs=64, lr=2e-3, wd=0.01, pct=0.3, div=25.0, elastic=0.0,
            holdout=False, ema=0.0),
    # Fine-tuning the first stage's weights: elastic distortion on top of
    # the affine, a low one-cycle rate, batch 128, an exponential moving
    # average of the weights (decay 0.99 per step), TRAIN minus the
    # held-out twentieth, then the temperature.
    2: dict(epochs=5, bs=128, lr=5e-4, wd=0.01, pct=0.1, div=5.0, elastic=34.0,
            holdout=True, ema=0.99),
    # From scratch with everything at once: elastic distortion from the
    # first step, a long one-cycle schedule, weight averaging over the last
    # epochs (decay 0.999 per step, about eight epochs), TRAIN minus the
    # held-out twentieth, then the temperature.
    3: dict(epochs=100, bs=64, lr=2e-3, wd=0.05, pct=0.25, div=25.0, elastic=34.0,
            holdout=True, ema=0.999),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("out")
    ap.add_argument("--stage", type=int, default=3, choices=sorted(STAGES))
    ap.add_argument("--init", help="stage 2: the first stage's weights")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    cfg = dict(STAGES[args.stage])
    cfg["epochs"] = args.epochs or cfg["epochs"]
    if args.stage == 2 and not args.init:
        ap.error("stage 2 fine-tunes: --init FIRST_STAGE.safetensors")
    print(f"stage {args.stage}: {cfg}" + (f", from {args.init}" if args.init else ""), flush=True)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    all_x, all_y = load_split(args.datadir, "train")
    te_x, te_y = load_split(args.datadir, "test")
    hold = np.arange(len(all_y)) % HOLDOUT_EVERY == HOLDOUT_EVERY - 1
    if not cfg["holdout"]:
        hold[:] = False
    ho_x, ho_y = all_x[hold], all_y[hold]
    tr_x = torch.from_numpy(all_x[~hold]).reshape(-1, 1, 28, 28)
    tr_y = torch.from_numpy(all_y[~hold])
    print(f"TRAIN {len(all_y)}: {len(tr_y)} for gradient steps, {len(ho_y)} held out; "
          f"TEST {len(te_y)}", flush=True)

    model = load_model(args.init).train() if args.init else MnistNet()
    # A stage without averaging keeps one model: its "averaged" weights are the weights.
    ema = MnistNet() if cfg["ema"] else model
    ema.load_state_dict(model.state_dict())
    bs, epochs = cfg["bs"], cfg["epochs"]
    steps = epochs * math.ceil(len(tr_y) / bs)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg["lr"], total_steps=steps, pct_start=cfg["pct"], div_factor=cfg["div"])
    t0, step = time.time(), 0
    partial = args.out + ".partial"
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(tr_y), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(perm), bs):
            idx = perm[i:i + bs]
            # Two blank images per batch, taught to answer with a uniform
            # distribution: the normaliser turns a blank upload into all
            # zeros, and its answer should carry a low confidence.
            x = torch.cat([augment(tr_x[idx], gen, cfg["elastic"]), torch.zeros(2, 1, 28, 28)])
            logits = model((x - 0.1307) / 0.3081)
            loss = F.cross_entropy(logits[:len(idx)], tr_y[idx], label_smoothing=0.05)
            loss = loss - 0.1 * F.log_softmax(logits[len(idx):], 1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            d = min(cfg["ema"], (1 + step) / (10 + step))
            if ema is not model:
                with torch.no_grad():
                    for pe, pm in zip(ema.parameters(), model.parameters()):
                        pe.mul_(d).add_(pm, alpha=1 - d)
            total += loss.item() * len(idx)
            n += len(idx)
        line = f"epoch {epoch:3d}/{epochs} loss {total / n:.4f}"
        if epoch % 5 == 0 or epoch == epochs:  # evaluation costs a fifth of an epoch
            accs = [(logits_of(ema, xs).argmax(1).numpy() == ys).mean() * 100
                    for xs, ys in ((ho_x, ho_y), (te_x, te_y)) if len(ys)]
            line += " weights: " + " ".join(f"{a:.2f}%" for a in accs) + " (holdout test)"
        print(f"{line} elapsed {time.time() - t0:.0f}s", flush=True)
        # A usable result at every epoch, should the run be cut short.
        save_safetensors(ema.state_dict(), partial, {"format": "pt", "epoch": epoch})

    report(ema, args, cfg, ho_x, ho_y, te_x, te_y)
    os.remove(partial)


def report(model, args, cfg, ho_x, ho_y, te_x, te_y):
    """Fit the temperature on the held-out TRAIN images, fold it into fc2,
    print calibration, per-digit accuracy and confusion, write the file."""
    t = fit_temperature(logits_of(model, ho_x), ho_y) if len(ho_y) else 1.0
    te_logits = logits_of(model, te_x)
    before = ece(te_logits, te_y)
    nll_before = F.cross_entropy(te_logits, torch.as_tensor(te_y)).item()
    fold_temperature(model, t)
    te_logits = logits_of(model, te_x)
    after = ece(te_logits, te_y)
    nll_after = F.cross_entropy(te_logits, torch.as_tensor(te_y)).item()
    print(f"temperature {t:.4f} (fitted on the {len(ho_y)} held-out TRAIN images), "
          f"folded into fc2")
    print(f"TEST ECE (15 bins) before {before * 100:.2f}% after {after * 100:.2f}%; "
          f"NLL before {nll_before:.4f} after {nll_after:.4f}")
    pred = te_logits.argmax(1).numpy()
    acc = float((pred == te_y).mean())
    conf = F.softmax(te_logits, 1).max(1).values
    print(f"TEST mean confidence {conf.mean().item():.4f}, "
          f"on errors {conf[torch.as_tensor(pred != te_y)].mean().item():.4f}")
    with torch.inference_mode():
        blank = F.softmax(model(normalise(np.zeros((1, 784), np.float32))), 1).max().item()
    print(f"blank image: top probability {blank:.4f}")
    save_safetensors(model.state_dict(), args.out, {
        "format": "pt", "test_accuracy": f"{acc:.4f}", "temperature": f"{t:.4f}",
        "stage": args.stage, "epochs": cfg["epochs"], "seed": args.seed})
    print(f"wrote {args.out}: test accuracy {acc * 100:.2f}%")
    conf = np.zeros((10, 10), dtype=int)
    for y, p in zip(te_y, pred):
        conf[y, p] += 1
    print("confusion (rows true, cols predicted):")
    for d in range(10):
        print(f"  {d}: " + " ".join(f"{v:4d}" for v in conf[d]) +
              f"   {conf[d, d] / conf[d].sum() * 100:.1f}%")


if __name__ == "__main__":
    main()
