"""A small deterministic engine for the batch / LUT tests (registered as "test-warm").

It predicts a real, visible, photo-dependent edit without a network: a warm colour matrix whose
red gain grows from left to right (so the edit varies across the photo like a real grid), plus a
brightness lift that depends on the proxy's mean (so each photo gets its own grid).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from retouch_studio.model.grid.ops import GuidanceParams
from retouch_studio.model.engines.base import Prediction
from retouch_studio.model.engines.loader import register_engine


class WarmPredictor:
    model_id = "test-warm"
    calls = 0
    # Tests set these to simulate trouble inside a worker.
    raise_on_call: int | None = None
    raise_type: type[BaseException] = KeyboardInterrupt
    _lock = threading.Lock()

    def __init__(self, spatial: bool = True, delay: float = 0.0):
        self.spatial = spatial
        self.delay = delay

    def predict(self, proxy: np.ndarray, instruction: str) -> Prediction:
        assert proxy.dtype == np.float32 and proxy.ndim == 3 and max(proxy.shape[:2]) <= 512
        with WarmPredictor._lock:
            WarmPredictor.calls += 1
            n = WarmPredictor.calls
        if WarmPredictor.raise_on_call is not None and n >= WarmPredictor.raise_on_call:
            raise WarmPredictor.raise_type("simulated failure in predict")
        if self.delay:
            time.sleep(self.delay)  # a slow network, for interruption tests
        d, gh, gw = 8, 4, 6
        grid = np.zeros((12, d, gh, gw), np.float32)
        lift = 0.1 * (0.5 - float(proxy.mean()))
        red = np.linspace(1.05, 1.25, gw, dtype=np.float32) if self.spatial else np.full(gw, 1.15, np.float32)
        grid[0] = red[None, None, :]
        grid[5] = 1.0
        grid[10] = 0.85
        grid[[3, 7, 11]] = lift
        return Prediction(grid, GuidanceParams.luminance(), [{"attribute": "temperature", "direction": "+"}], self.model_id)


@register_engine("test-warm")
def _factory(model_dir: Path, config: dict) -> WarmPredictor:
    return WarmPredictor(spatial=config.get("spatial", True), delay=config.get("delay", 0.0))


def write_model_dir(folder: Path, spatial: bool = True, delay: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"engine": "test-warm", "spatial": spatial, "delay": delay}))
    return folder


def test_engine_loads_and_predicts_per_photo(tmp_path):
    from retouch_studio.model.engines.loader import load_predictor

    pred = load_predictor(write_model_dir(tmp_path / "m"))
    dark = pred.predict(np.full((8, 8, 3), 0.2, np.float32), "warm")
    bright = pred.predict(np.full((8, 8, 3), 0.8, np.float32), "warm")
    assert dark.grid.shape == (12, 8, 4, 6)
    assert dark.grid[3].mean() > 0 > bright.grid[3].mean()
