"""How well a learned style reproduces a photographer's style on photos it did not see.

    python benchmarks/eval_style.py                       # all house styles, 10/20/50 pairs, 100 test photos
    python benchmarks/eval_style.py --styles airy --pairs 20 --test 30

There are no real before/after pairs of one retoucher in this project, so the photographers are
**stand-ins, and this script says so**: each "house style" is the parameter renderer
(``model.params``) with a photo-dependent normalisation of the kind a photographer does by eye --
exposure pulled towards a target brightness (measured as the geometric mean of linear luminance,
like a camera's meter), white balance neutralised partly (grey world or white patch) -- plus fixed
tone settings and a smooth random colour grade (a 3D LUT: a random colour matrix, per-channel
gammas and low-frequency wiggles). The learner does not know these formulas: it sees only the
before/after pictures and its own photo statistics (percentiles of encoded luma, grey-world and
grey-edge casts), which are related to the stand-ins' measures but not the same. ``fixed`` is a
style that does not depend on the photo (a LUT can represent it exactly).

Split (decided before any result was looked at, and not changed since): all photos of
``shared/corpus/photos`` sorted by path, shuffled with ``numpy.random.default_rng(18)``; the first
100 are the test photos, the next 50 the training pool. 10 and 20 pairs are the first 10 and 20 of
that pool, so every size learns from a superset of the smaller ones. The same split for every style.

Per style and number of pairs, mean over the test photos of CIEDE2000 and PSNR (sRGB) to the
style's own rendering, for:

* ``input``: the unedited photo;
* ``avg LUT``: one 33³ LUT fitted on all pixels of the same training pairs (``model.lut.fit_lut``);
* ``auto+LUT``: the project's auto mode first (``model.instructions.auto_params``), then one LUT
  fitted on the auto-corrected training pairs, i.e. the style applied with auto mode in front;
* ``learned``: the learned style through the real apply path (grid predicted from the proxy,
  ``model.grid.cpu_slice.slice_apply``).

Learning time is measured on the same pairs, wall clock and CPU seconds of the process (the
learner runs torch on one thread), with the load average printed, since the machine is shared.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The corpus sits beside the repository (../shared); worktrees one level deeper look further up.
CORPUS = next((p / "shared" / "corpus" / "photos" for p in ROOT.parents if (p / "shared" / "corpus" / "photos").is_dir()),
              ROOT.parent / "shared" / "corpus" / "photos")

STYLES = {
    "airy": dict(target=0.30, k_ev=0.8, wb="greyworld", k_wb=0.7, grade=1,
                 base={"shadows": 25, "highlights": -30, "saturation": -10, "vibrance": 15}),
    "moody": dict(target=0.08, k_ev=0.7, wb="whitepatch", k_wb=0.6, grade=2, temperature_offset=-12,
                  base={"contrast": 25, "blacks": -20, "saturation": -25}),
    "film": dict(target=0.16, k_ev=0.4, wb=None, k_wb=0.0, grade=3,
                 base={"fade": 25, "s_curve": 20, "split_shadow_hue": 200, "split_shadow_amount": 40,
                       "split_highlight_hue": 40, "split_highlight_amount": 35}),
    "fixed": dict(target=None, k_ev=0.0, wb=None, k_wb=0.0, grade=4,
                  base={"contrast": 15, "temperature": 12, "saturation": 10}),
}  # fmt: skip


def split(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """(test 100, training pool 50): see the module docstring."""
    order = np.random.default_rng(18).permutation(len(files))
    return [files[i] for i in order[:100]], [files[i] for i in order[100:150]]


def random_grade(seed: int, size: int = 33) -> np.ndarray:
    from retouch_studio.model.lut import identity_lut

    r = np.random.default_rng(seed)
    c = identity_lut(size).astype(np.float64)
    out = c @ (np.eye(3) + r.normal(0, 0.06, (3, 3))).T + r.normal(0, 0.02, 3)
    out = np.clip(out, 0, 1) ** np.exp(r.normal(0, 0.12, 3))
    for _ in range(3):
        k = r.integers(-1, 2, 3)
        out += 0.025 * r.normal(size=3) * np.sin(np.pi * (c @ k) + r.uniform(0, 2 * np.pi))[..., None]
    return np.clip(out, 0, 1).astype(np.float32)


def _linear(x: np.ndarray):
    lin = np.clip(x, 0, 1).reshape(-1, 3).astype(np.float64) ** 2.2
    return lin, lin @ np.array([0.2126, 0.7152, 0.0722])


def style_params(x: np.ndarray, st: dict) -> dict:
    """The stand-in photographer's settings for photo ``x``."""
    p = dict(st["base"])
    lin, Y = _linear(x)
    if st["target"]:
        geo = math.exp(np.log(Y + 1e-3).mean())
        p["exposure"] = float(np.clip(st["k_ev"] * math.log2(st["target"] / geo), -2.5, 2.5))
    if st["wb"]:
        m = (lin.mean(0) if st["wb"] == "greyworld" else lin[Y >= np.percentile(Y, 97)].mean(0)) + 1e-4
        rb = math.log(m[0] / m[2]) / 2.2 * st["k_wb"]
        g = math.log(2 * m[1] / (m[0] + m[2])) / 2.2 * st["k_wb"]
        rho = math.exp(rb)
        p["temperature"] = float(np.clip(400 * (1 - rho) / (1 + rho), -100, 100))
        p["tint"] = float(np.clip(500 * (1 - math.exp(-g)), -100, 100))
    if st.get("temperature_offset"):
        p["temperature"] = float(np.clip(p.get("temperature", 0.0) + st["temperature_offset"], -100, 100))
    return p


def render_style(x: np.ndarray, st: dict, grade: np.ndarray) -> np.ndarray:
    from retouch_studio.model.lut import apply_lut
    from retouch_studio.model.params import render_pixels

    return apply_lut(grade, render_pixels(x, style_params(x, st)))


def metrics(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from retouch_studio.model.lut import delta_e_rgb

    mse = float(((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2).mean())
    return float(delta_e_rgb(a, b).mean()), 10 * math.log10(1 / max(mse, 1e-12))


def average_lut(src: list[np.ndarray], dst: list[np.ndarray]) -> np.ndarray:
    from retouch_studio.model.lut import fit_lut, merge_colors

    s = np.concatenate([x.reshape(-1, 3) for x in src])
    d = np.concatenate([y.reshape(-1, 3) for y in dst])
    colours, mean, counts = merge_colors(np.round(np.clip(s, 0, 1) * 255).astype(np.uint8), d)
    return fit_lut(colours, mean, 33, 1e-3, counts)[0]


def auto_corrected(x: np.ndarray) -> np.ndarray:
    from retouch_studio.model.instructions.auto import auto_params
    from retouch_studio.model.params import render_pixels

    p = auto_params(x)
    return render_pixels(x, p) if p else x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--styles", default=",".join(STYLES))
    ap.add_argument("--pairs", default="20,10,50", help="pair counts, run in this order (20 first: the target)")
    ap.add_argument("--test", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from retouch_studio.model.grid.cpu_slice import slice_apply
    from retouch_studio.model.imaging import load_photo, to_float
    from retouch_studio.model.lut import apply_lut
    from retouch_studio.model.style.learn import learn_style
    from retouch_studio.model.style.predictor import predict_style_grid

    files = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if len(files) < 150:
        sys.exit(f"need the photo corpus at {CORPUS} (found {len(files)} photos)")
    test_files, pool_files = split(files)
    test_files = test_files[: args.test]
    sizes = [int(v) for v in args.pairs.split(",")]
    load = lambda p: to_float(load_photo(p).pixels)  # noqa: E731 - corpus photos are <= 512 px: the proxy
    pool = [load(p) for p in pool_files[: max(sizes)]]
    test = [load(p) for p in test_files]
    test_auto = [auto_corrected(x) for x in test]
    pool_auto = [auto_corrected(x) for x in pool]
    print(f"stand-in house styles (see the docstring); {len(test)} test photos, load average {os.getloadavg()[0]:.1f}")
    header = f"{'style':<6} {'pairs':>5} {'learn s':>7} {'cpu s':>7}  " + "  ".join(f"{k:>15}" for k in ("input", "avg LUT", "auto+LUT", "learned"))
    print(header + "   (mean ΔE2000 / PSNR dB to the style's rendering)")
    rendered = {}
    for n in sizes:
        for name in args.styles.split(","):
            st = STYLES[name]
            if name not in rendered:
                grade = random_grade(st["grade"])
                rendered[name] = ([render_style(x, st, grade) for x in test], [render_style(x, st, grade) for x in pool])
            truth, pool_after = rendered[name]
            pairs = [(pool_files[i].stem, pool[i], pool_after[i]) for i in range(n)]
            load_before = os.getloadavg()[0]
            t, cpu = time.perf_counter(), time.process_time()
            style, _ = learn_style(name, pairs, minutes=10)
            learn_s, learn_cpu = time.perf_counter() - t, time.process_time() - cpu
            avg = average_lut(pool[:n], pool_after[:n])
            avg_auto = average_lut(pool_auto[:n], pool_after[:n])
            rows: dict[str, list] = {"input": [], "avg LUT": [], "auto+LUT": [], "learned": []}
            for x, xa, y in zip(test, test_auto, truth):
                rows["input"].append(metrics(x, y))
                rows["avg LUT"].append(metrics(apply_lut(avg, x), y))
                rows["auto+LUT"].append(metrics(apply_lut(avg_auto, xa), y))
                rows["learned"].append(metrics(slice_apply(x, predict_style_grid(style, x)), y))
            cells = "  ".join(
                f"{np.mean([m[0] for m in v]):6.2f} / {np.mean([m[1] for m in v]):5.1f}" for v in rows.values()
            )
            ratio = np.mean([m[0] for m in rows["learned"]]) / np.mean([m[0] for m in rows["input"]])
            print(f"{name:<6} {n:>5} {learn_s:>7.1f} {learn_cpu:>7.1f}  {cells}   learned/input {ratio:.2f}  (load {load_before:.1f})", flush=True)


if __name__ == "__main__":
    main()
