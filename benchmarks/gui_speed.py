"""GUI speed at a 1080p window: what the hand feels and how long the window ever stops answering.

    PYTHONPATH=. python benchmarks/gui_speed.py [--photo PATH] [--frames 60]

Runs offscreen with the shipped model. Everything is measured in the same run against a
baseline, a plain repaint of the same viewport (``Canvas.repaint()`` of the frame on screen),
and printed as absolute times and as ratios to it:

* **Cold start** (first, in a fresh process): open the first photo, the first instruction of the
  session, and reopening a photo with saved edits, each with the window's real background
  workers. "Longest stall" is the longest gap between two ticks of a 5 ms GUI-thread timer while
  the work runs (the window froze that long); "shown after" is when the result was on screen.
  Target: no stall over 100 ms.
* **Brush move**: one mouse move of a stroke in progress (``MainWindow._draw_stroke_point``: the
  newest piece re-rasterised in its box, re-blended, the layers above re-applied to the box, the
  frame handed to the canvas), on the top layer and on a layer below another one.
* **Slider frame**: one strength-slider step, top layer (a re-blend) and lower layer (the layers
  above re-slice, at half size while the slider is held).

Targets: <= 16 ms per brush move and per slider frame. The load average is printed: the numbers
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _median_ms(times) -> float:
    return _ms(statistics.median(times))


class StallMeter:
    """Longest gap between ticks of a 5 ms GUI-thread timer while ``run_until`` waits."""

    def __init__(self, app):
        from PySide6.QtCore import QTimer

        self.app = app
        self.timer = QTimer(interval=5)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.worst = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def run(self, start, done, timeout: float = 300.0) -> tuple[float, float]:
        """Call ``start()``, spin the event loop until ``done()``; returns (longest stall, elapsed)."""
        self.worst = 0.0
        t0 = self.last = time.perf_counter()
        self.timer.start()
        start()
        self._tick()  # the call itself blocked the GUI thread this long
        while not done():
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError("gave up waiting")
            self.app.processEvents()
            time.sleep(0.001)
        self._tick()
        self.timer.stop()
        return self.worst, time.perf_counter() - t0


def _window(predictor=None, synchronous=False, size=(1920, 1080)):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    loader = None if predictor is None else (lambda m: predictor)
    w = MainWindow(Settings(), loader=loader, synchronous=synchronous, save_settings=False)
    w.resize(*size)
    w.show()
    return w


def _settled(w) -> bool:
    doc = w.doc
    return doc is not None and not w.worker.busy() and all(doc.prediction_for(x) is not None for x in doc.layers)


def bench_cold(app, photo: Path, folder: Path) -> list[tuple[str, float, float]]:
    """Open, first instruction, reopen with edits: (name, longest stall s, shown after s)."""
    meter = StallMeter(app)
    rows = []
    w = _window()  # the real loader: the model loads in the background as the window opens
    stall, took = meter.run(lambda: w.open_paths([photo]), lambda: w.doc is not None and w.canvas.has_image())
    rows.append(("open first photo", stall, took))
    stall, took = meter.run(lambda: w.apply_instruction("warmer, lift the shadows"), lambda: _settled(w) and bool(w.doc.layers))
    rows.append(("first instruction", stall, took))
    w.apply_instruction("more contrast", new_layer=True)
    w.worker.wait_until_idle(300)
    w.close()
    w2 = _window()
    stall, took = meter.run(lambda: w2.open_paths([photo]), lambda: _settled(w2) and len(w2.doc.layers) == 2)
    rows.append(("reopen with 2 saved edits", stall, took))
    w2.close()
    return rows


def bench_interactive(predictor, photo: Path, frames: int):
    from PySide6.QtCore import QPointF

    w = _window(predictor, synchronous=True)
    w.open_paths([photo])
    w.apply_instruction("warmer, lift the shadows")
    w.apply_instruction("more contrast", new_layer=True)
    w.worker.wait_until_idle(300)
    base = w.renderer.base
    c = w.canvas
    print(f"viewport: canvas {c.width()}x{c.height()}, preview rendered at {base.shape[1]}x{base.shape[0]} "
          f"({base.shape[0] * base.shape[1] / 1e6:.2f} MP), photo {w.doc.size[0]}x{w.doc.size[1]}")

    def repaint_times(n):
        out = []
        for _ in range(n):
            t = time.perf_counter()
            c.repaint()
            out.append(time.perf_counter() - t)
        return out

    results = {}
    for _ in range(3):
        c.repaint()
    results["plain repaint (baseline)"] = repaint_times(frames)

    def brush(layer_row):
        w.panel.layers.setCurrentRow(layer_row)
        w.panel.brush_size.setValue(max(w.doc.size) * 0.08)
        width, height = w.doc.size
        times = []
        for k in range(3):
            y = height * (0.3 + 0.2 * k)
            w._on_stroke_started(QPointF(width * 0.1, y))
            for i in range(frames):
                x = width * (0.1 + 0.8 * i / frames)
                w._stroke.append((x, y))
                t = time.perf_counter()
                w._draw_stroke_point(QPointF(x, y))
                c.repaint()
                times.append(time.perf_counter() - t)
            w._on_stroke_finished()
        return times

    results["brush move, top layer"] = brush(0)
    results["brush move, lower layer (1 above)"] = brush(1)

    def slider(layer_row):
        w.panel.layers.setCurrentRow(layer_row)
        w.panel.slider.setSliderDown(True)
        times = []
        for i in range(frames):
            w._live_strength = 0.3 + 1.4 * (i % 20) / 20
            t = time.perf_counter()
            w._draw_live_strength()
            c.repaint()
            times.append(time.perf_counter() - t)
        w.panel.slider.setSliderDown(False)
        return times

    results["slider frame, top layer"] = slider(0)
    results["slider frame, lower layer (1 above)"] = slider(1)
    t = time.perf_counter()
    w.commit_strength(0.8)
    c.repaint()
    results["slider release, lower layer (full size)"] = [time.perf_counter() - t]
    w.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=Path("/work/shared/photos/aitzgorri_by_Aitzol_Berasategi.jpg"))
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    photo = args.photo if args.photo.is_file() else ROOT / "tests" / "data" / "aitzgorri_by_Aitzol_Berasategi.jpg"

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    os.environ["RETOUCH_STUDIO_CONFIG"] = str(Path(tempfile.mkdtemp()) / "settings.json")
    print(f"load average: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        copy = tmp / photo.name
        shutil.copy(photo, copy)
        print(f"photo: {photo.name}")
        cold = bench_cold(app, copy, tmp)
        from retouch_studio.model.engines.loader import load_predictor

        predictor = load_predictor(None)
        fresh = tmp / f"fresh{photo.suffix}"
        shutil.copy(photo, fresh)
        results = bench_interactive(predictor, fresh, args.frames)
    baseline = _median_ms(results["plain repaint (baseline)"])
    print()
    print("| cold start (background workers) | longest GUI stall | ratio to a repaint | shown after |")
    print("|---|---|---|---|")
    for name, stall, took in cold:
        print(f"| {name} | {_ms(stall):.0f} ms | {_ms(stall) / baseline:.0f}x | {took:.1f} s |")
    print()
    print("| interactive, 1080p window | median | 90th pct | ratio to a repaint (median) |")
    print("|---|---|---|---|")
    for name, times in results.items():
        p90 = _ms(float(np.percentile(times, 90)))
        print(f"| {name} | {_median_ms(times):.1f} ms | {p90:.1f} ms | {_median_ms(times) / baseline:.1f}x |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
