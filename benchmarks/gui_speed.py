"""GUI speed: strength-slider frame time at a 1080p viewport, and Enter -> first preview on 24 MP.

    PYTHONPATH=. python benchmarks/gui_speed.py [--photo PATH] [--frames 200]

1. Slider: the preview keeps the layer's input and its edited version at screen size (1920x1080,
   uint8) and re-blends with ``model.fast.blend_u8``. Measured through the real window path
   (``MainWindow.preview_strength``: re-blend + QImage swap) and the bare re-blend, against a
   baseline of what a naive preview would do per frame: slice-and-apply the grid again at 1080p
   (``apply_prediction``). Target: <= 4 ms per frame.
2. Enter -> first preview on a 24 MP photo, model already loaded: the window's real path
   (proxy from the screen-size preview, predict, slice at preview size, show), against the
   baseline of predicting and then applying at full resolution (what an export does).

Runs offscreen; prints medians and ratios. Numbers depend on the machine (this CPU only).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def _median_ms(times) -> float:
    return statistics.median(times) * 1000.0


def bench_slider(predictor, photo: Path, frames: int) -> None:
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow
    from retouch_studio.model.grid.cpu_slice import blend_u8
    from retouch_studio.model.pipeline import apply_prediction

    settings = Settings(preview_long_edge=1920)
    w = MainWindow(settings, loader=lambda m: predictor, synchronous=True, save_settings=False)
    w.resize(1920, 1080)
    w.open_paths([photo])
    w.apply_instruction("warmer and brighter")
    w.worker.wait_until_idle()
    base = w.renderer.base
    print(f"[slider] preview {base.shape[1]}x{base.shape[0]} ({base.shape[0] * base.shape[1] / 1e6:.2f} MP)")
    strengths = np.linspace(0.0, 2.0, frames)
    for s in strengths[:10]:  # warm up (numba JIT, caches)
        w.preview_strength(float(s))
    w.frame_times.clear()
    for s in strengths:
        w.preview_strength(float(s))
    window_ms = _median_ms(w.frame_times)
    times = []
    for s in strengths:
        t = time.perf_counter()
        w.preview_strength(float(s))
        w.canvas.repaint()  # synchronous paint of the new frame (offscreen raster)
        times.append(time.perf_counter() - t)
    paint_ms = _median_ms(times)
    times = []
    for _ in strengths:
        t = time.perf_counter()
        base.copy()
        times.append(time.perf_counter() - t)
    copy_ms = _median_ms(times)
    layer = w.doc.layers[0]
    pred = w.doc.prediction_for(layer)
    edited = apply_prediction(base, pred)
    times = []
    for s in strengths:
        t = time.perf_counter()
        blend_u8(base, edited, float(s))
        times.append(time.perf_counter() - t)
    blend_ms = _median_ms(times)
    times = []
    for s in strengths[: max(10, frames // 10)]:
        t = time.perf_counter()
        apply_prediction(base, pred, float(s))
        times.append(time.perf_counter() - t)
    naive_ms = _median_ms(times)
    print(f"[slider] window path (re-blend + QImage swap): {window_ms:.2f} ms/frame  (target <= 4 ms)")
    print(f"[slider] same + synchronous canvas paint:      {paint_ms:.2f} ms/frame")
    print(f"[slider] reference: one plain frame copy:      {copy_ms:.2f} ms  (blend = {window_ms / copy_ms:.1f}x a memcpy)")
    print(f"[slider] bare blend_u8:                        {blend_ms:.2f} ms/frame")
    print(f"[slider] baseline re-slice per frame:          {naive_ms:.2f} ms/frame")
    print(f"[slider] speed-up vs re-slicing: {naive_ms / window_ms:.1f}x (window), {naive_ms / blend_ms:.1f}x (blend)")
    w.close()


def make_24mp(src: Path, folder: Path) -> Path:
    im = Image.open(src).convert("RGB")
    big = im.resize((6000, 4000), Image.Resampling.BICUBIC)
    out = folder / "big_24mp.jpg"
    big.save(out, quality=92)
    return out


def bench_enter(predictor, photo24: Path, repeats: int) -> None:
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow
    from retouch_studio.model.imaging.photo import load_photo
    from retouch_studio.model.pipeline import apply_prediction, predict_for

    w = MainWindow(Settings(), loader=lambda m: predictor, synchronous=True, save_settings=False)
    w.resize(1600, 1000)
    t = time.perf_counter()
    w.open_paths([photo24])
    open_s = time.perf_counter() - t
    print(f"[enter] 24 MP photo opened (screen-size decode) in {open_s * 1000:.0f} ms; preview {w.renderer.base.shape[1]}x{w.renderer.base.shape[0]}")
    shown = []
    w.preview_changed.connect(lambda: shown.append(time.perf_counter()))
    w.apply_instruction("warmup")
    w.worker.wait_until_idle()
    times = []
    for i in range(repeats):
        shown.clear()
        t = time.perf_counter()
        w.apply_instruction(f"warmer and brighter {i}")
        w.worker.wait_until_idle()
        times.append(shown[-1] - t)
        w.undo()
    enter_ms = _median_ms(times)
    full = load_photo(photo24).pixels
    try:
        from retouch_studio.model.instructions import check_instruction
    except ImportError:
        check_instruction = lambda text: None  # noqa: E731
    times, checks, predicts = [], [], []
    for i in range(repeats):
        # Fresh texts: the text encoder caches strings, the window run must not warm these.
        text = f"cooler and darker {i}"
        t = time.perf_counter()
        check_instruction(text)
        t1 = time.perf_counter()
        pred = predict_for(predictor, full, text)
        t2 = time.perf_counter()
        apply_prediction(full, pred)
        times.append(time.perf_counter() - t)
        checks.append(t1 - t)
        predicts.append(t2 - t1)
    full_ms = _median_ms(times)
    print(f"[enter] Enter -> first preview (window, model loaded): {enter_ms:.0f} ms")
    print(f"[enter] baseline check + predict + full-res apply:     {full_ms:.0f} ms "
          f"(check {_median_ms(checks):.0f}, proxy+predict {_median_ms(predicts):.0f}, "
          f"apply {full_ms - _median_ms(checks) - _median_ms(predicts):.0f})")
    print(f"[enter] ratio: {full_ms / enter_ms:.1f}x faster to first preview")
    w.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=ROOT / "tests" / "data" / "Picture_1A_by_freespace.jpg")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default=None, help="model folder (default: shipped model)")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from retouch_studio.model.engines.loader import load_predictor

    app = QApplication.instance() or QApplication([])  # noqa: F841 - keeps Qt alive
    os.environ["RETOUCH_STUDIO_CONFIG"] = str(Path(tempfile.mkdtemp()) / "settings.json")
    predictor = load_predictor(args.model)
    print(f"model: {getattr(predictor, 'model_id', type(predictor).__name__)}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 1080p source so the preview is exactly a 1080p viewport's worth of pixels.
        src = Image.open(args.photo).convert("RGB").resize((1920, 1080), Image.Resampling.BICUBIC)
        p1080 = tmp / "p1080.png"
        src.save(p1080)
        bench_slider(predictor, p1080, args.frames)
        bench_enter(predictor, make_24mp(args.photo, tmp), args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
