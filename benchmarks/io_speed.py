"""Photo I/O speed next to the libraries underneath, measured in the same run.

    PYTHONPATH=. python benchmarks/io_speed.py [--mp 24] [--repeats 3]

RAW: a synthetic 24 MP DNG (tests/dng.py) -> time to the first picture (embedded preview, or
half-size decode) and to the full 16-bit demosaic, next to rawpy's own ``postprocess()`` with
the same settings (and with its defaults). JPEG: decode + encode of a 24 MP JPEG through
``load_photo``/``save_photo`` next to Pillow alone. Prints a table of best-of-N wall times.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rawpy  # noqa: E402
from PIL import Image  # noqa: E402

from retouch_studio.model.imaging import load_photo, load_preview, make_preview, make_proxy, save_photo  # noqa: E402
from retouch_studio.model.imaging.raw import RawOptions, load_raw_preview  # noqa: E402
from tests.dng import mosaic, srgb_encode, write_dng  # noqa: E402


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _source_photo() -> Image.Image:
    shared = ROOT.parent / "shared" / "photos"
    candidates = sorted(shared.glob("*.jpg")) or sorted((ROOT / "tests" / "data").glob("*.jpg"))
    return Image.open(candidates[0]).convert("RGB")


def _scene(width: int, height: int) -> np.ndarray:
    """A real photo, upscaled and linearised, as the scene the synthetic camera sees."""
    small = np.asarray(_source_photo().resize((width // 8, height // 8)), dtype=np.float32) / 255.0
    linear = np.power(small, 2.2)
    return np.repeat(np.repeat(linear, 8, axis=0), 8, axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mp", type=float, default=24.0, help="megapixels of the test files")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    height = int(round((args.mp * 1e6 / 1.5) ** 0.5 / 16)) * 16
    width = height * 3 // 2
    rows: list[tuple[str, str, float, float]] = []

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scene = _scene(width, height)
        cfa = mosaic(scene)
        dng = tmp / "plain.dng"
        write_dng(dng, cfa)
        thumb = (srgb_encode(scene[::4, ::4]) * 255 + 0.5).astype(np.uint8)  # ~1.5 MP embedded preview
        dng_thumb = tmp / "thumb.dng"
        write_dng(dng_thumb, cfa, preview=thumb)
        del scene

        explicit = RawOptions().rawpy_params()

        def rawpy_full() -> None:
            with rawpy.imread(str(dng)) as raw:
                raw.postprocess(**explicit)

        def rawpy_default() -> None:
            with rawpy.imread(str(dng)) as raw:
                raw.postprocess()

        def rawpy_half() -> None:
            params = RawOptions(half_size=True, demosaic="linear").rawpy_params()
            params.update(output_bps=8, gamma=(2.4, 12.92))  # what load_raw_preview asks for
            with rawpy.imread(str(dng)) as raw:
                raw.postprocess(**params)

        def rawpy_thumb() -> None:
            with rawpy.imread(str(dng_thumb)) as raw:
                raw.extract_thumb()

        r = max(1, args.repeats - 1)  # demosaicking 24 MP is slow: one fewer round
        t_rawpy_full = best(rawpy_full, r)
        t_rawpy_default = best(rawpy_default, r)
        t_ours_full = best(lambda: load_photo(dng), r)
        t_rawpy_half = best(rawpy_half, args.repeats)
        t_prev_half = best(lambda: load_raw_preview(dng, 2048), args.repeats)
        t_rawpy_thumb = best(rawpy_thumb, args.repeats)
        t_prev_thumb = best(lambda: load_raw_preview(dng_thumb, 2048), args.repeats)
        mp = f"{width}x{height} DNG"
        rows += [
            (f"RAW full 16-bit AHD ({mp})", "rawpy.postprocess (same settings)", t_ours_full, t_rawpy_full),
            (f"RAW full 16-bit AHD ({mp})", "rawpy.postprocess() defaults (8-bit)", t_ours_full, t_rawpy_default),
            ("RAW first preview, half-size decode", "rawpy half_size postprocess (same)", t_prev_half, t_rawpy_half),
            ("RAW first preview, embedded preview", "rawpy extract_thumb", t_prev_thumb, t_rawpy_thumb),
            ("RAW first preview (half-size)", "our full decode", t_prev_half, t_ours_full),
        ]
        del cfa

        jpeg = tmp / "big.jpg"
        big = _source_photo().resize((width, height), Image.Resampling.BILINEAR)
        big.save(jpeg, quality=95)
        del big
        out_dir = tmp / "out"
        out_dir.mkdir()
        counter = iter(range(10**6))

        def pillow_roundtrip() -> None:
            with Image.open(jpeg) as im:
                arr = np.asarray(im.convert("RGB"))
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, "JPEG", quality=95, subsampling=0)
            (out_dir / f"p{next(counter)}.jpg").write_bytes(buf.getvalue())

        def ours_roundtrip() -> None:
            ph = load_photo(jpeg)
            save_photo(out_dir / f"o{next(counter)}.jpg", ph, "jpeg", 95)

        def pillow_decode() -> None:
            with Image.open(jpeg) as im:
                np.asarray(im.convert("RGB"))

        def pillow_draft_preview() -> None:
            with Image.open(jpeg) as im:
                im.draft("RGB", (2048, 2048 * height // width))  # DCT scaling to >= the box
                im.convert("RGB").resize((2048, 2048 * height // width), Image.Resampling.LANCZOS)

        t_pil = best(pillow_roundtrip, args.repeats)
        t_ours = best(ours_roundtrip, args.repeats)
        t_pil_dec = best(pillow_decode, args.repeats)
        t_ours_dec = best(lambda: load_photo(jpeg), args.repeats)
        t_prev = best(lambda: load_preview(jpeg, 2048), args.repeats)
        t_pil_prev = best(pillow_draft_preview, args.repeats)
        ph = load_photo(jpeg)
        px16 = ph.pixels.astype(np.uint16) * 257
        t_proxy8 = best(lambda: make_proxy(ph.pixels), args.repeats)
        t_proxy16 = best(lambda: make_proxy(px16), args.repeats)
        t_pil_resize = best(lambda: Image.fromarray(ph.pixels).resize((512, 341), Image.Resampling.LANCZOS), args.repeats)
        t_screen = best(lambda: make_preview(ph.pixels, 2048), args.repeats)
        t_screen16 = best(lambda: make_preview(px16, 2048), args.repeats)
        t_pil_screen = best(lambda: Image.fromarray(ph.pixels).resize((2048, 2048 * height // width), Image.Resampling.LANCZOS), args.repeats)
        t_tiff16 = best(lambda: save_photo(out_dir / f"t{next(counter)}.tif", px16, "tiff16"), 1)
        t_tiff16_raw = best(lambda: save_photo(out_dir / f"t{next(counter)}.tif", px16, "tiff16", compression=None), 1)
        t_png16 = best(lambda: save_photo(out_dir / f"t{next(counter)}.png", px16, "png16"), 1)
        t_tifffile = best(
            lambda: __import__("tifffile").imwrite(out_dir / f"r{next(counter)}.tif", px16, photometric="rgb", compression="zlib", predictor=True),
            1,
        )
        mpj = f"{width}x{height} JPEG q95"
        rows += [
            (f"JPEG decode+encode ({mpj})", "Pillow alone", t_ours, t_pil),
            (f"JPEG decode ({mpj})", "Pillow open+load", t_ours_dec, t_pil_dec),
            ("JPEG first preview 2048 px (DCT draft)", "Pillow draft+LANCZOS alone", t_prev, t_pil_prev),
            ("JPEG first preview 2048 px (DCT draft)", "our full decode", t_prev, t_ours_dec),
            ("make_proxy 512 px from uint8", "Pillow LANCZOS direct", t_proxy8, t_pil_resize),
            ("make_proxy 512 px from uint16", "make_proxy uint8", t_proxy16, t_proxy8),
            ("make_preview 2048 px from uint8", "Pillow LANCZOS direct", t_screen, t_pil_screen),
            ("make_preview 2048 px from uint16", "make_preview uint8", t_screen16, t_screen),
            ("export tiff16 deflate+predictor", "tifffile.imwrite same", t_tiff16, t_tifffile),
            ("export tiff16 uncompressed", "tiff16 deflate", t_tiff16_raw, t_tiff16),
            ("export png16", "tiff16 deflate", t_png16, t_tiff16),
        ]

    print(f"\nPhoto I/O benchmark, best of {args.repeats} (RAW full decode: best of {max(1, args.repeats - 1)}; exports: 1 run)")
    print(f"{'what':44s} {'ours s':>8s}  {'baseline':38s} {'base s':>8s} {'ratio':>6s}")
    for what, base_name, ours, base in rows:
        print(f"{what:44s} {ours:8.3f}  {base_name:38s} {base:8.3f} {ours / base:6.2f}")


if __name__ == "__main__":
    main()
