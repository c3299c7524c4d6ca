"""Fixtures for the desktop-app tests: isolated settings, photo copies, a counting predictor."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from retouch_studio.model.grid.ops import GuidanceParams
from retouch_studio.model.engines.base import Prediction

DATA = Path(__file__).resolve().parent.parent / "data"


class CountingPredictor:
    """A deterministic stand-in engine: 'warm' tints, 'dark' darkens, anything else brightens.

    It counts calls so tests can prove the slider and brushes never re-run the network, and can
    be held (``gate``) to test stale-result handling, or made to fail.
    """

    model_id = "counting"

    def __init__(self):
        self.calls: list[str] = []
        self.gate: threading.Event | None = None
        self.lock = threading.Lock()

    def predict(self, proxy: np.ndarray, instruction: str) -> Prediction:
        assert proxy.dtype == np.float32 and proxy.ndim == 3 and max(proxy.shape[:2]) <= 512
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        with self.lock:
            self.calls.append(instruction)
        if "explode" in instruction:
            raise RuntimeError("the model ran out of ideas")
        grid = np.zeros((12, 8, 16, 16), np.float32)
        grid[[0, 5, 10]] = 1.0
        if "warm" in instruction:
            grid[3], grid[11] = 0.12, -0.12
        elif "dark" in instruction:
            grid[[0, 5, 10]] = 0.6
        else:
            grid[[3, 7, 11]] = 0.2
        plan = [{"attribute": "brightness", "direction": "up", "amount": 0.5}]
        return Prediction(grid, GuidanceParams.luminance(), plan, self.model_id)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("RETOUCH_STUDIO_CONFIG", str(tmp_path / "config" / "settings.json"))


@pytest.fixture
def photo(tmp_path) -> Path:
    """A copy of a real photo in a temp folder (the sidecar is written next to it)."""
    dst = tmp_path / "photos" / "aitzgorri.jpg"
    dst.parent.mkdir()
    shutil.copy(DATA / "aitzgorri_by_Aitzol_Berasategi.jpg", dst)
    return dst


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    folder = tmp_path / "batch"
    folder.mkdir()
    out = []
    for name in ("Bridge_by_Sander_Klootwijk.jpg", "mate_LadyBird.jpg", "plasma_Grey.jpg", "Wine_by_Jakkub_Mede.jpg"):
        shutil.copy(DATA / name, folder / name)
        out.append(folder / name)
    return out


@pytest.fixture
def predictor() -> CountingPredictor:
    return CountingPredictor()


@pytest.fixture
def window(qtbot, predictor):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    w = MainWindow(Settings(), loader=lambda model_id: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.worker.shutdown()
