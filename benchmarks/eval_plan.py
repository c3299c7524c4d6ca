"""Evaluate instruction understanding (issue 4) and print the numbers.

    python benchmarks/eval_plan.py              # plan accuracy + matcher speed
    python benchmarks/eval_plan.py --auto       # + auto mode on degraded / original photos
    python benchmarks/eval_plan.py --parity     # + param-mode grid vs renderer CIEDE2000 table

Plan accuracy uses the held-out paraphrases of tests/data/instr_paraphrases.json (never used for
tuning): for each expected (attribute, direction) pair, is it in the plan? Reported overall and per
attribute, with attribute-only accuracy (right attribute, any direction) beside it.
Speed: median / 95th percentile time per plan() call on new instructions after the first load,
against the time of one bare MiniLM encode of the same text in the same run (the ratio is the
matcher's overhead on top of the embedding).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def eval_plan() -> None:
    from retouch_studio.model.instructions import plan
    from retouch_studio.model.text_encoder import clear_cache, encode

    cases = json.loads((ROOT / "tests/data/instr_paraphrases.json").read_text())["cases"]
    t0 = time.perf_counter()
    plan("warm")
    print(f"first plan() call (loads MiniLM + bank embeddings): {time.perf_counter() - t0:.2f} s")
    per = defaultdict(lambda: [0, 0, 0])  # total, attribute right, attribute+direction right
    misses = []
    for case in cases:
        got = [(i["attribute"], i["direction"]) for i in plan(case["text"])]
        for attr, direction in case["expect"]:
            per[attr][0] += 1
            per[attr][1] += any(a == attr for a, _ in got)
            ok = (attr, direction) in got
            per[attr][2] += ok
            if not ok:
                misses.append((case["text"], (attr, direction), got))
    total = sum(v[0] for v in per.values())
    print(f"\nheld-out paraphrases: {len(cases)} instructions, {total} expected (attribute, direction) pairs")
    print(f"{'attribute':24} {'n':>3} {'attr acc':>9} {'dir acc':>8}")
    for attr in sorted(per):
        n, a, d = per[attr]
        print(f"{attr:24} {n:3d} {a / n:9.2f} {d / n:8.2f}")
    print(f"{'ALL':24} {total:3d} {sum(v[1] for v in per.values()) / total:9.2f} "
          f"{sum(v[2] for v in per.values()) / total:8.2f}")
    for text, want, got in misses:
        print(f"  miss: {text!r}: wanted {want}, got {got}")

    # Speed on instructions the caches have not seen.
    texts = [f"{c['text']} please {i}" for i, c in enumerate(cases)]
    plan_ms, enc_ms = [], []
    for t in texts:
        t1 = time.perf_counter()
        plan(t)
        plan_ms.append((time.perf_counter() - t1) * 1000)
    cached_ms = []
    for t in texts:
        t1 = time.perf_counter()
        plan(t)  # clause embeddings now cached: the matcher's own cost
        cached_ms.append((time.perf_counter() - t1) * 1000)
    clear_cache()
    for t in texts:
        t1 = time.perf_counter()
        encode([t + " x"])
        enc_ms.append((time.perf_counter() - t1) * 1000)
    print(f"\nplan() with cached embeddings (matcher alone): median {np.median(cached_ms):.2f} ms")
    print(f"plan() on new text: median {np.median(plan_ms):.1f} ms, p95 {np.percentile(plan_ms, 95):.1f} ms; "
          f"bare MiniLM encode median {np.median(enc_ms):.1f} ms; ratio {np.median(plan_ms) / np.median(enc_ms):.2f}")


def _photos(size: int):
    from PIL import Image

    files = sorted(Path("/work/shared/photos").glob("*.jpg")) or sorted((ROOT / "tests/data").glob("*.jpg"))
    out = {}
    for f in files:
        im = Image.open(f)
        im.draft("RGB", (2 * size, 2 * size))
        im = im.convert("RGB")
        im.thumbnail((size, size))
        out[f.name] = np.asarray(im).astype(np.float32) / 255.0
    return out


def _slice(grid, x):
    import torch

    from retouch_studio.model.grid.ops import bilateral_apply

    t = torch.from_numpy(x).permute(2, 0, 1)[None]
    return bilateral_apply(torch.from_numpy(grid)[None], t).clamp(0, 1)[0].permute(1, 2, 0).numpy()


def eval_auto(size: int, split: str = "all") -> None:
    from retouch_studio.model.color import mean_delta_e
    from retouch_studio.model.instructions import auto_params
    from retouch_studio.model.params import params_to_grid, render_pixels

    photos = _photos(size)
    if split != "all":
        # "dev": every other photo (sorted by name) from the first; "holdout": the rest.
        keep = 0 if split == "dev" else 1
        photos = {k: v for i, (k, v) in enumerate(sorted(photos.items())) if i % 2 == keep}
    degr = {"under -1.5EV": {"exposure": -1.5}, "over +1EV": {"exposure": 1.0}, "warm cast": {"temperature": 50},
            "cool cast": {"temperature": -50}, "green cast": {"tint": -40}, "faded": {"fade": 40, "contrast": -40}}

    def auto(x):
        return _slice(params_to_grid(auto_params(x), (8, 16, 16), proxy=x), x)

    good = np.array([mean_delta_e(auto(x), x) for x in photos.values()])
    print(f"\nauto mode on {len(photos)} photos ({size} px), mean CIEDE2000 to the original photo")
    print(f"original photos, change made by auto: mean {good.mean():.2f}, median {np.median(good):.2f}, "
          f"share < 1: {np.mean(good < 1):.2f}")
    for name, d in degr.items():
        b, a = [], []
        for x in photos.values():
            y = render_pixels(x, d)
            b.append(mean_delta_e(y, x))
            a.append(mean_delta_e(auto(y), x))
        b, a = np.array(b), np.array(a)
        print(f"{name:14} degraded {b.mean():5.2f} -> after auto {a.mean():5.2f}  "
              f"(ratio {a.mean() / b.mean():.2f}, improved {np.mean(a < b):.0%} of photos)")


def eval_parity(size: int) -> None:
    """Grid vs renderer at every parameter's limits, fitted as the app fits it: on a proxy (here
    half the photo's size) and measured on the photo itself. "probe fit" is the grid made without
    a photo (params_grid_torch, training targets)."""
    from PIL import Image

    from retouch_studio.model.color import mean_delta_e
    from retouch_studio.model.params import HUES, SPECS, params_to_grid, render_pixels

    photos = list(_photos(size).values())
    proxies = []
    for x in photos:
        im = Image.fromarray((x * 255).round().astype(np.uint8))
        im.thumbnail((size // 2, size // 2), Image.BILINEAR)
        proxies.append(np.asarray(im).astype(np.float32) / 255.0)
    names = ["exposure", "contrast", "highlights", "shadows", "whites", "blacks", "temperature", "tint",
             "saturation", "vibrance", "s_curve", "fade", "bw", "vignette", "split_shadow_amount"]
    names += [f"{h}_{k}" for h in HUES for k in ("hue", "sat", "lum")]
    print(f"\nparam mode: grid (8x16x16, luminance guide) vs render_pixels, mean CIEDE2000 per photo, "
          f"{len(photos)} photos at {size} px (proxy {size // 2} px)")
    print(f"{'parameter':22} {'value':>6} {'probe fit':>10} {'proxy fit':>10} {'worst photo':>12}")
    worst = 0.0
    for name in names:
        spec = SPECS[name]
        values = (spec.lo, spec.hi) if spec.lo < 0 else (spec.hi,)
        for v in values:
            p = {name: v}
            if name.startswith("split_"):
                p["split_shadow_hue"] = 200
            refs = [render_pixels(x, p) for x in photos]
            probe = params_to_grid(p, (8, 16, 16))
            e1 = [mean_delta_e(_slice(probe, x), r) for x, r in zip(photos, refs)]
            e2 = [mean_delta_e(_slice(params_to_grid(p, (8, 16, 16), proxy=q), x), r)
                  for x, q, r in zip(photos, proxies, refs)]
            worst = max(worst, max(e2))
            print(f"{name:22} {v:+6g} {np.mean(e1):10.2f} {np.mean(e2):10.2f} {np.max(e2):12.2f}")
    print(f"worst photo over every parameter and limit (proxy fit): {worst:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--auto", action="store_true", help="also evaluate auto mode")
    ap.add_argument("--parity", action="store_true", help="also print the param-mode parity table")
    ap.add_argument("--size", type=int, default=200, help="long edge of the photos for --auto/--parity")
    ap.add_argument("--split", choices=("all", "dev", "holdout"), default="all",
                    help="--auto on every photo, or on the dev / holdout half (alternate photos by name)")
    args = ap.parse_args()
    eval_plan()
    if args.auto:
        eval_auto(args.size, args.split)
    if args.parity:
        eval_parity(args.size)


if __name__ == "__main__":
    main()
