"""Speed of every stage of an edit against Pillow's 3D LUT and a plain copy, measured in one run.

    python benchmarks/apply_speed.py [--repeat 7] [--photo PATH] [--skip-kernel] [--skip-stages]

Two tables, both with ratios to ``PIL.ImageFilter.Color3DLUT`` (33^3, trilinear, one thread)
applied to the same 8-bit picture in the same run (the LUT is timed before and after each table
and the median is used, so a busy machine shows in both). The load average is printed.

1. **Kernel**: ``cpu_slice.slice_apply`` with a 12 x 8 x 16 x 16 grid per resolution and pixel
   type, and its ratio to the LUT and to ``ndarray.copy`` of the same array (the bandwidth floor:
   the kernel reads and writes every byte once). Target: 4K uint8 and uint16 <= 0.2x the LUT.
2. **Stages at 4K, every kind of instruction**, with the shipped model, warm (each instruction
   predicted once before timing, on the same photo, as the app does while one types):
   ``make_proxy`` (4K -> 512 px), ``predict`` (proxy -> grid), ``apply`` (4K uint8) and their
   sum. Targets: proxy <= 10 ms, predict <= 10 ms, end to end <= 0.35x the LUT. Also: the proxy
   of a 24 MP photo, ``load_proxy`` of a 24 MP JPEG (DCT-scaled decode) against a full decode,
   and the one-off cost of a new photo's least-squares basis for per-hue edits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retouch_studio.model import params as param_mode  # noqa: E402
from retouch_studio.model.engines.loader import load_predictor  # noqa: E402
from retouch_studio.model.grid import cpu_slice as fast  # noqa: E402
from retouch_studio.model.grid.ops import GuidanceParams, identity_grid  # noqa: E402
from retouch_studio.model.imaging import load_photo, load_proxy, make_proxy  # noqa: E402
from retouch_studio.model.pipeline import apply_prediction  # noqa: E402

SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160), "24MP": (6000, 4000)}
DEFAULT_PHOTOS = [
    ROOT.parent / "shared" / "photos" / "seeding_by_Clements_Engelhardt.jpg",
    ROOT / "tests" / "data" / "aitzgorri_by_Aitzol_Berasategi.jpg",
]
# One instruction per kind the issue names; the model id printed shows which engine served it.
INSTRUCTIONS = {
    "style": "make it moody and cinematic",
    "per-hue": "make the greens more vivid",
    "vignette": "add a dark vignette",
    "compound": "warmer, lift the shadows, soft film look",
    "param text": "exposure +0.7, temperature -10, shadows +30, greens_sat +40",
    "auto": "",
    "learned": "more contrast",
}


def median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def lut_timer(im: Image.Image, repeat: int):
    lut = ImageFilter.Color3DLUT.generate(33, lambda r, g, b: (r**0.9, g, b * 0.95))
    return lambda: median_ms(lambda: im.filter(lut), repeat)


def kernel_table(base: Image.Image, repeat: int) -> None:
    rng = np.random.default_rng(0)
    grid = identity_grid(1, 8, 16, 16).numpy()[0]
    grid = (grid + rng.normal(0, 0.03, grid.shape)).astype(np.float32)
    guidance = GuidanceParams.luminance()
    print(f"\n1. kernel: grid 12x8x16x16, median of {repeat}, {numba.get_num_threads()} numba threads")
    print(f"{'size':>6} {'type':>7} {'ours ms':>9} {'3DLUT ms':>9} {'copy ms':>8} {'vs 3DLUT':>9} {'vs copy':>8}")
    for name, (w, h) in SIZES.items():
        im = base.resize((w, h), Image.Resampling.BILINEAR)
        px8 = np.asarray(im).copy()
        lut_ms = lut_timer(im, repeat)
        t_lut = [lut_ms()]
        for label, px in (
            ("uint8", px8),
            ("uint16", px8.astype(np.uint16) * 257),
            ("float32", px8.astype(np.float32) / 255),
        ):
            out = np.empty_like(px)
            t_ours = median_ms(lambda: fast.slice_apply(px, grid, guidance, out=out), repeat)
            t_copy = median_ms(lambda: np.copyto(out, px), repeat)
            t_lut.append(lut_ms())
            lut = statistics.median(t_lut)
            print(f"{name:>6} {label:>7} {t_ours:9.1f} {lut:9.1f} {t_copy:8.1f} {t_ours / lut:8.2f}x {t_ours / t_copy:7.1f}x")
        del im, px8


def stage_table(base: Image.Image, repeat: int) -> None:
    im = base.resize(SIZES["4K"], Image.Resampling.BILINEAR)
    px = np.asarray(im).copy()
    lut_ms = lut_timer(im, repeat)
    t_lut = [lut_ms()]
    predictor = load_predictor(None)
    out = np.empty_like(px)
    proxy = make_proxy(px)
    t_proxy = median_ms(lambda: make_proxy(px), repeat)
    print(f"\n2. stages at 4K (3840x2160 uint8), warm, median of {repeat}; model {predictor.model_id}")
    print(f"{'kind':>10} {'proxy':>7} {'predict':>8} {'apply':>7} {'total':>7} {'vs 3DLUT':>9}  engine")
    rows = []
    for kind, text in INSTRUCTIONS.items():
        prediction = predictor.predict(proxy, text)
        t_pred = median_ms(lambda: predictor.predict(proxy, text), repeat)
        t_apply = median_ms(lambda: apply_prediction(px, prediction, 0.8, out=out), repeat)
        rows.append((kind, t_pred, t_apply, prediction.model_id))
        t_lut.append(lut_ms())
    lut = statistics.median(t_lut)
    for kind, t_pred, t_apply, engine in rows:
        total = t_proxy + t_pred + t_apply
        print(f"{kind:>10} {t_proxy:7.1f} {t_pred:8.1f} {t_apply:7.1f} {total:7.1f} {total / lut:8.2f}x  {engine}")
    print(f"3D LUT on the same photo: {lut:.1f} ms")

    # Per-photo costs and the other proxy paths.
    hue = param_mode.parse_params("greens_sat +40, blues_hue -20")
    small = make_proxy(proxy, 128)

    def new_photo_fit() -> None:
        param_mode._BASES.clear()
        param_mode.params_to_grid(hue, (8, 16, 16), proxy=small)

    t_basis = median_ms(new_photo_fit, repeat)
    t_fit = median_ms(lambda: param_mode.params_to_grid(hue, (8, 16, 16), proxy=small), repeat)
    big = np.asarray(base.resize(SIZES["24MP"], Image.Resampling.BILINEAR))
    t_proxy24 = median_ms(lambda: make_proxy(big), repeat)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "24mp.jpg"
        Image.fromarray(big).save(path, quality=92)
        t_draft = median_ms(lambda: load_proxy(path), repeat)
        t_full = median_ms(lambda: make_proxy(load_photo(path).pixels), max(1, repeat // 2))
    print(f"per-hue fit on a 128 px proxy: {t_fit:.1f} ms warm, {t_basis:.1f} ms for a new photo (basis built once)")
    print(f"proxy of a 24 MP array: {t_proxy24:.1f} ms; load_proxy of a 24 MP JPEG (DCT-scaled decode): "
          f"{t_draft:.1f} ms vs full decode + proxy {t_full:.1f} ms")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--photo", type=Path)
    ap.add_argument("--skip-kernel", action="store_true")
    ap.add_argument("--skip-stages", action="store_true")
    args = ap.parse_args()
    photo = args.photo or next(p for p in DEFAULT_PHOTOS if p.exists())
    base = Image.open(photo).convert("RGB")
    print(f"photo: {photo.name}; cpus: {os.cpu_count()}; load average: "
          + ", ".join(f"{v:.1f}" for v in os.getloadavg()))  # fmt: skip
    if not args.skip_kernel:
        kernel_table(base, args.repeat)
    if not args.skip_stages:
        stage_table(base, args.repeat)
    print("load average at the end: " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
