"""Train the photo-quality estimator (``model/estimator.py``) on ``../shared/corpus``.

    python -m retouch_studio.model.training.estimator_train --out resources/models/estimator [--epochs 60]

Data (``model.corpus``; train split only, dev for the report, test never):

* every corpus photo as it is (target: itself, so good photos are left alone) and six renderings
  of it with one or two degradations made in linear light (exposure, cast, fade, flat, dull);
  target: the photo;
* every SICE frame of a scene group with its best exposed frame as the target (real camera
  under- and over-exposures).

The network maps :func:`model.estimator.features` of the degraded image to parameters of
``model.params``; the loss is the Lab distance between the parameter renderer's output
(``render_torch``, differentiable) and the target, on a fixed random subset of pixels of a 48 px
copy, divided by the input's own distance plus 2 (every photo counts alike, and a photo that
needs nothing is pushed to be left alone), plus a small penalty on the size of the parameters.
A second output learns the distance that remains; the confidence is derived from it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

LOSS_EDGE = 48
N_PIXELS = 160


def _load(path: Path, edge: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((edge, edge), Image.Resampling.BOX)
        return np.asarray(im, np.float32) / 255.0


def _small(x: np.ndarray, edge: int = LOSS_EDGE) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray((np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8))
    im.thumbnail((edge, edge), Image.Resampling.BOX)
    return np.asarray(im, np.float32) / 255.0


def build_data(versions: int = 7, corpus_root=None):
    """(features, degraded pixels, target pixels, meta) for every training and dev sample."""
    from retouch_studio.model import corpus
    from retouch_studio.model.estimator import FEATURE_EDGE, features

    F, X, T, meta = [], [], [], []
    rs = np.random.default_rng(1)

    def add(img, tgt, m):
        a, b = _small(img).reshape(-1, 3), _small(tgt).reshape(-1, 3)
        sel = rs.choice(len(a), N_PIXELS, replace=len(a) < N_PIXELS)
        F.append(features(img))
        X.append(a[sel])
        T.append(b[sel])
        meta.append(m)

    for key, path in corpus.photo_keys(corpus_root):
        split = corpus.split_of(key)
        if split == "test":
            continue
        rng = np.random.default_rng(corpus.seed_of(key))
        x = _load(path, FEATURE_EDGE)
        add(x, x, {"split": split, "kind": "clean"})
        for _ in range(versions - 1):
            kinds = list(rng.choice(corpus.DEGRADATIONS, size=1 if rng.random() < 0.6 else 2, replace=False))
            y = x
            for k in kinds:
                y, _ = corpus.degrade(y, k, rng)
            add(y, x, {"split": split, "kind": "+".join(kinds)})
    for key, paths in corpus.sice_groups(corpus_root):
        split = corpus.split_of(key)
        if split == "test":
            continue
        frames = [_load(p, FEATURE_EDGE) for p in paths]
        if len({f.shape for f in frames}) > 1:
            continue
        ref_i = corpus.well_exposed(frames)
        ref = frames[ref_i]
        for i, f in enumerate(frames):
            if i == ref_i:
                add(f, f, {"split": split, "kind": "sice_ref"})
            elif corpus.same_scene(_small(f, 24), _small(ref, 24)) >= 0.8:
                add(f, ref, {"split": split, "kind": "sice"})
    return np.stack(F), np.stack(X), np.stack(T), meta


def train(F, X, T, meta, *, hidden: int = 64, epochs: int = 60, penalty: float = 0.3, seed: int = 0, log=print):
    import torch

    from retouch_studio.model.color import srgb_to_lab_torch
    from retouch_studio.model.estimator import OUTPUTS, SCALE
    from retouch_studio.model.params import PARAM_NAMES, SPECS, render_torch

    torch.manual_seed(seed)
    split = np.array([m["split"] for m in meta])
    tr, dv = np.flatnonzero(split == "train"), np.flatnonzero(split == "dev")
    mu, sd = F[tr].mean(0), F[tr].std(0) + 1e-6
    Fn = ((F - mu) / sd).astype(np.float32)
    idx = [PARAM_NAMES.index(n) for n in OUTPUTS]
    defaults = torch.tensor([SPECS[n].default for n in PARAM_NAMES], dtype=torch.float32)
    scale = torch.tensor(SCALE)
    Xt, Tt = torch.from_numpy(X.astype(np.float32)), torch.from_numpy(T.astype(np.float32))
    with torch.no_grad():
        lab_t = srgb_to_lab_torch(Tt)
        d_in = (srgb_to_lab_torch(Xt) - lab_t).pow(2).sum(-1).add(1e-6).sqrt().mean(1)
    net = torch.nn.Sequential(torch.nn.Linear(F.shape[1], hidden), torch.nn.GELU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.GELU(), torch.nn.Linear(hidden, len(OUTPUTS) + 1))
    with torch.no_grad():
        net[-1].weight.mul_(0.1)
        net[-1].bias.zero_()

    def step(ix):
        out = net(torch.from_numpy(Fn[ix]))
        p = torch.tanh(out[:, : len(OUTPUTS)]) * scale
        vals = defaults.repeat(len(ix), 1)
        vals[:, idx] = p
        de = (srgb_to_lab_torch(render_torch(Xt[ix], vals)) - lab_t[ix]).pow(2).sum(-1).add(1e-6).sqrt().mean(1)
        remaining = torch.nn.functional.softplus(out[:, -1])
        loss = 10 * (de / (d_in[ix] + 2.0)).mean() + penalty * ((p / scale) ** 2).mean() \
            + 0.1 * (remaining - de.detach()).pow(2).mean()
        return loss, de

    batch = 128
    opt = torch.optim.AdamW(net.parameters(), 3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * (len(tr) // batch))
    rng = np.random.default_rng(seed)
    t0 = time.time()
    for ep in range(epochs):
        perm = rng.permutation(tr)
        for i in range(0, len(perm) - batch + 1, batch):
            loss, _ = step(perm[i : i + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if ep % 10 == 9 or ep == epochs - 1:
            with torch.no_grad():
                _, de = step(dv)
            log(f"epoch {ep + 1}: dev mean Lab distance {float(de.mean()):.3f} (input {float(d_in[dv].mean()):.3f}), "
                f"{time.time() - t0:.0f} s")
    layers = [m for m in net if isinstance(m, torch.nn.Linear)]
    weights = {f"w{i}": m.weight.detach().numpy().T.copy() for i, m in enumerate(layers)}
    weights.update({f"b{i}": m.bias.detach().numpy().copy() for i, m in enumerate(layers)})
    return dict(mu=mu.astype(np.float32), sd=sd.astype(np.float32), scale=np.asarray(SCALE), outputs=np.array(OUTPUTS),
                **weights)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Train the photo-quality estimator on the corpus.")
    ap.add_argument("--out", type=Path, required=True, help="folder for estimator.npz")
    ap.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: ../shared/corpus)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--hidden", type=int, default=64)
    args = ap.parse_args(argv)
    t0 = time.time()
    F, X, T, meta = build_data(corpus_root=args.corpus)
    print(f"{len(F)} samples ({sum(m['split'] == 'train' for m in meta)} train) in {time.time() - t0:.0f} s")
    net = train(F, X, T, meta, hidden=args.hidden, epochs=args.epochs)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(args.out / "estimator.npz", **net)
    (args.out / "training.json").write_text(json.dumps({"epochs": args.epochs, "hidden": args.hidden,
                                                         "samples": len(F)}, indent=2))
    print(f"wrote {args.out / 'estimator.npz'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
