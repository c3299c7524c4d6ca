"""Select Subject / Sky / People / Faces / Background and region words in the app."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"


def _render(window):
    doc = window.doc
    return window.renderer.render(doc.layers, [doc.prediction_for(x) for x in doc.layers])


def test_select_sky_masks_the_layer_and_the_brush_can_erase(window, tmp_path, predictor):
    photo = tmp_path / "beach.jpg"
    shutil.copy(DATA / "kodim12.jpg", photo)
    window.open_paths([photo])
    window.select_actions["sky"].trigger()
    layer = window.doc.current_layer()
    assert layer.region == "sky" and layer.has_mask
    window.apply_instruction("make it warm")  # the selection's instruction, not a new layer
    assert window.worker.wait_until_idle()
    assert len(window.doc.layers) == 1 and window.doc.layers[0].instruction == "make it warm"
    out, base = _render(window).astype(np.int16), window.renderer.base.astype(np.int16)
    h = out.shape[0]
    moved = np.abs(out - base).mean(-1)
    assert moved[: h // 12].mean() > 5 and moved[3 * h // 4:].mean() < 0.5
    # the sidecar keeps the region as a recipe, not pixels
    from retouch_studio.app.ui.document import to_recipe

    recipe = to_recipe(window.doc.layers, "counting", window.doc.size)
    assert recipe.layers[0].region == "sky" and recipe.layers[0].region_model


def test_region_words_make_one_layer_per_region(window, tmp_path, predictor):
    photo = tmp_path / "beach.jpg"
    shutil.copy(DATA / "kodim12.jpg", photo)
    window.open_paths([photo])
    window.apply_instruction("make it warm, darken the faces")
    assert window.worker.wait_until_idle()
    layers = window.doc.layers
    assert [(x.instruction, x.region) for x in layers] == [("make it warm", ""), ("darken", "faces")]


def test_select_faces_on_a_landscape_says_none(window, photo):
    window.open_paths([photo])
    window.select_actions["faces"].trigger()
    assert "no faces" in window.last_message.lower()
