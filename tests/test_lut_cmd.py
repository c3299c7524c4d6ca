"""`retouch export-lut`: the written .cube, applied by Pillow, reproduces the edit within the
reported ΔE."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from retouch_studio.app import batch as B
from retouch_studio.app.cli.main import main
from retouch_studio.model import lut as L
from tests.test_batch_engine import WarmPredictor, write_model_dir

DATA = Path(__file__).resolve().parent / "data"
PHOTO = DATA / "mate_YellowFlower.jpg"


@pytest.fixture(autouse=True)
def _reset(monkeypatch, tmp_path):
    WarmPredictor.calls = 0
    WarmPredictor.raise_on_call = None
    monkeypatch.setenv("RETOUCH_CONFIG_DIR", str(tmp_path / "config"))


def _export(tmp_path, capsys, *extra, spatial=False, photo=PHOTO):
    model = write_model_dir(tmp_path / ("model_s" if spatial else "model_g"), spatial=spatial)
    out = tmp_path / "look.cube"
    code = main(["export-lut", str(photo), "-o", str(out), "--model", str(model), "--json", *map(str, extra)])
    captured = capsys.readouterr()
    return code, out, (json.loads(captured.out) if code == 0 else None), captured, model


def _true_edit(model, photo=PHOTO, strength=1.0):
    from retouch_studio.model.imaging import load_photo, to_float
    from retouch_studio.model.pipeline import apply_prediction, predict_for
    from retouch_studio.model.engines.loader import load_predictor

    px = load_photo(photo).pixels
    edited = apply_prediction(to_float(px), predict_for(load_predictor(model), px, "warm"), strength)
    return px, np.clip(edited, 0, 1)


def _pillow_apply(cube_path, px):
    cube = L.read_cube(cube_path)
    size = cube.lut.shape[0]
    flt = ImageFilter.Color3DLUT(size, cube.lut.reshape(-1).tolist())
    return np.asarray(Image.fromarray(px).filter(flt)).astype(np.float32) / 255


@pytest.mark.parametrize("spatial", [False, True])
def test_cube_reproduces_edit_within_reported_delta_e(tmp_path, capsys, spatial):
    code, out, report, _, model = _export(tmp_path, capsys, "-i", "warm", "--size", "33", spatial=spatial)
    assert code == 0
    text = out.read_text()
    assert 'TITLE "warm"' in text and "LUT_3D_SIZE 33" in text
    px, edited = _true_edit(model)
    assert report["fitted_on"] == [px.shape[1], px.shape[0]]
    de_before = float(L.delta_e_rgb(px / 255.0, edited).mean())
    de_pillow = float(L.delta_e_rgb(_pillow_apply(out, px), edited).mean())
    # Pillow rounds to 8 bits on output: allow for that on top of the reported fit
    assert de_pillow <= report["delta_e_mean"] + 0.35
    assert de_pillow < de_before / 3  # the LUT carries most of the edit
    if not spatial:
        assert report["delta_e_mean"] < 0.5  # a global look is captured almost exactly
    else:
        # a spatially varying edit cannot be captured exactly, and the report says so
        assert report["delta_e_p95"] > 1.0


def test_preset_strength_and_work_size(tmp_path, capsys):
    from retouch_studio.app.presets import Preset, save_preset

    save_preset(Preset("soft", instruction="warm", strength=0.5))
    code, out, report, _, model = _export(tmp_path, capsys, "--preset", "soft", "--size", "17", "--work-size", "320")
    assert code == 0 and report["size"] == 17 and max(report["fitted_on"]) == 320
    assert "at strength 0.5" in report["edit"]
    assert L.read_cube(out).lut.shape == (17, 17, 17, 3)


def test_refuses_overwrite_and_bad_options(tmp_path, capsys):
    code, out, _, _, _ = _export(tmp_path, capsys, "-i", "warm", "--size", "9")
    assert code == 0
    first = out.read_bytes()
    code, _, _, captured, _ = _export(tmp_path, capsys, "-i", "cooler", "--size", "9")
    assert code == 4 and "already exists" in captured.err and out.read_bytes() == first
    code, _, _, _, _ = _export(tmp_path, capsys, "-i", "cooler", "--size", "9", "--overwrite")
    assert code == 0 and out.read_bytes() != first
    code, _, _, captured, _ = _export(tmp_path, capsys, "-i", "warm", "--size", "1", "--overwrite")
    assert code == 2 and "--size" in captured.err


def test_broken_photo_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(PHOTO.read_bytes()[:200])
    code, out, _, captured, _ = _export(tmp_path, capsys, "-i", "warm", photo=bad)
    assert code == 1 and "broken.jpg" in captured.err
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


def test_content_edit_refused(tmp_path, capsys):
    code, out, _, _, _ = _export(tmp_path, capsys, "-i", "replace the sky with a sunset")
    assert code == 3 and not out.exists() and WarmPredictor.calls == 0
