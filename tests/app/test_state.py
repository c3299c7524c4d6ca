"""Qt-free state: settings, document history, strokes, sidecar, worker requests."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from retouch_studio.app.settings import SETTINGS_VERSION, Settings
from retouch_studio.app.ui.document import Document, StrokeData, layers_from_recipe, to_recipe


def _doc(shape=(60, 80)) -> Document:
    rng = np.random.default_rng(0)
    return Document("x.jpg", rng.integers(0, 255, (*shape, 3), dtype=np.uint8))


def test_settings_round_trip(tmp_path):
    s = Settings(model_dir="/models/paper", use_gpu=True, default_strength=1.5, export_format="png")
    s.add_recent(tmp_path / "a.jpg")
    path = s.save(tmp_path / "s.json")
    data = json.loads(path.read_text())
    assert data["version"] == SETTINGS_VERSION
    assert Settings.load(path) == s


def test_settings_bad_values_fall_back_with_a_log(tmp_path, caplog):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": 1, "default_strength": 7, "use_gpu": "yes",
                                "export_format": "bmp", "brush_size": 30, "mystery": 1}))
    with caplog.at_level(logging.WARNING, logger="retouch_studio.app.settings"):
        s = Settings.load(path)
    assert s.default_strength == 1.0 and s.use_gpu is False and s.export_format == "jpg"
    assert s.brush_size == 30.0  # int accepted for a float field
    text = caplog.text
    assert "default_strength" in text and "use_gpu" in text and "export_format" in text and "mystery" in text


def test_settings_unreadable_file_gives_defaults(tmp_path, caplog):
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert Settings.load(path) == Settings()
    assert "cannot read" in caplog.text


def test_document_undo_redo_every_edit():
    doc = _doc()
    a = doc.add_layer("warmer")
    doc.set_strength(0, 0.4)
    doc.add_stroke(0, StrokeData(((10.0, 10.0), (30.0, 20.0)), 12.0))
    doc.add_layer("darker")
    doc.move_layer(1, 0)
    doc.set_visible(1, False)
    doc.delete_layer(0)
    states = [doc.layers]
    while doc.undo():
        states.append(doc.layers)
    assert len(states) == 8 and states[-1] == ()
    assert states[-2] == (a,)
    for expected in reversed(states[:-1]):
        assert doc.redo()
        assert doc.layers == expected
    assert not doc.redo()


def test_new_edit_clears_redo():
    doc = _doc()
    doc.add_layer("warmer")
    doc.undo()
    doc.add_layer("cooler")
    assert not doc.history.can_redo()
    assert [layer.instruction for layer in doc.layers] == ["cooler"]


def test_recipe_round_trip_keeps_layers_and_strokes(tmp_path):
    from retouch_studio.app.ui.export import load_sidecar, save_sidecar

    doc = _doc()
    doc.add_layer("warmer", 0.7)
    doc.add_stroke(0, StrokeData(((1.5, 2.5), (40.0, 30.0)), 16.0, 0.3, 0.8, False))
    doc.add_stroke(0, StrokeData(((20.0, 20.0),), 8.0, 0.0, 1.0, True))
    doc.add_layer("darker")
    doc.set_visible(1, False)
    assert layers_from_recipe(to_recipe(doc.layers, "", doc.size)) == doc.layers
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"not read")
    save_sidecar(photo, doc.layers, "/some/model", doc.size)
    layers, model_id = load_sidecar(photo)
    assert layers == doc.layers and model_id == "/some/model"
    save_sidecar(photo, (), "", doc.size)  # empty recipe removes the sidecar
    assert load_sidecar(photo) is None


def test_broken_sidecar_is_a_typed_error(tmp_path):
    from retouch_studio.app.ui.export import load_sidecar
    from retouch_studio.model.recipe import RecipeError

    photo = tmp_path / "p.jpg"
    (tmp_path / "p.jpg.retouch.json").write_text("{broken")
    with pytest.raises(RecipeError, match="p.jpg.retouch.json"):
        load_sidecar(photo)


def test_request_is_frozen_and_generations_increase():
    from dataclasses import FrozenInstanceError

    from retouch_studio.app.worker import PredictRequest

    proxy = np.zeros((8, 8, 3), np.float32)
    a = PredictRequest.make(proxy, "warmer", "", key="k")
    b = PredictRequest.make(proxy, "warmer", "", key="k")
    assert b.generation > a.generation
    with pytest.raises(FrozenInstanceError):
        a.instruction = "x"
    with pytest.raises(ValueError):
        a.proxy[0, 0, 0] = 1.0  # read-only copy
    proxy[0, 0, 0] = 1.0
    assert a.proxy[0, 0, 0] == 0.0


def test_export_options_validate():
    from retouch_studio.app.ui.export import ExportOptions

    with pytest.raises(ValueError, match="16-bit"):
        ExportOptions(fmt="jpg", bit_depth=16)
    with pytest.raises(ValueError, match="format"):
        ExportOptions(fmt="gif")
    assert ExportOptions(fmt="tiff", bit_depth=16).target_for(__import__("pathlib").Path("/a/b.jpg")).name == "b_retouched.tif"


def test_preview_mask_at_screen_size_matches_the_export_mask():
    """The preview rasterises strokes at screen size, the export at full size: same mask."""
    from pathlib import Path

    from PIL import Image

    from retouch_studio.app.ui.document import LayerState, StrokeData, to_recipe_layer
    from retouch_studio.app.ui.preview import preview_mask
    from retouch_studio.model.recipe import layer_mask

    src = Image.open(Path(__file__).resolve().parent.parent / "data" / "aitzgorri_by_Aitzol_Berasategi.jpg")
    px = np.asarray(src.convert("RGB").resize((1600, 1065), Image.Resampling.BICUBIC))
    small = np.asarray(Image.fromarray(px).resize((640, 426), Image.Resampling.BILINEAR))
    stroke = StrokeData(((400.0, 150.0), (1200.0, 200.0)), 300.0, 0.5, 1.0, False)
    for edge_aware in (False, True):
        layer = LayerState("x", strokes=(stroke,), edge_aware=edge_aware)
        screen = preview_mask(layer, (1600, 1065), small)
        exact = layer_mask(to_recipe_layer(layer), (1600, 1065), (1600, 1065), px)
        assert screen.shape == (426, 640) and exact.shape == (1065, 1600)
        down = np.asarray(Image.fromarray(exact, mode="F").resize((640, 426), Image.Resampling.BOX))
        assert np.abs(screen - down).mean() < 0.02
        assert exact.max() > 0.9 and exact.min() < 0.1


def test_crop_grid_reproduces_the_full_slice():
    """Slicing a crop with its resampled grid equals slicing the whole photo, at any crop scale."""
    from pathlib import Path

    from PIL import Image
    from scipy.ndimage import gaussian_filter

    from retouch_studio.app.ui.detail import crop_grid
    from retouch_studio.model.grid.cpu_slice import slice_apply

    img = np.asarray(Image.open(Path(__file__).resolve().parent.parent / "data" / "Picture_1A_by_freespace.jpg").convert("RGB"))
    h, w = img.shape[:2]
    rng = np.random.default_rng(1)
    grid = (gaussian_filter(rng.normal(0, 1, (12, 8, 16, 16)), (0, 1, 1.5, 1.5)) * 0.3).astype(np.float32)
    grid[[0, 5, 10]] += 1.0
    full = slice_apply(img, grid)
    box = (w // 5, h // 4, w // 5 + w // 2, h // 4 + h // 2)
    x0, y0, x1, y1 = box
    crop = slice_apply(np.ascontiguousarray(img[y0:y1, x0:x1]), crop_grid(grid, (w, h), box))
    err = np.abs(crop.astype(int) - full[y0:y1, x0:x1])
    assert err.max() <= 3 and err.mean() < 0.2
    # the identity grid stays the identity on any crop
    ident = np.zeros((12, 8, 16, 16), np.float32)
    ident[[0, 5, 10]] = 1.0
    g = crop_grid(ident, (w, h), box)
    assert np.allclose(g[[0, 5, 10]], 1.0) and np.allclose(np.delete(g, [0, 5, 10], 0), 0.0)
