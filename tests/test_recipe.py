"""Recipes: sidecar round trip, vector strokes rasterised at any size, layered rendering."""

import json

import numpy as np
import pytest
from PIL import Image

from retouch_studio.model.grid.ops import GuidanceParams
from retouch_studio.model.pipeline import apply_prediction
from retouch_studio.model.recipe import (
    Layer,
    Recipe,
    RecipeError,
    Stroke,
    layer_mask,
    load_recipe,
    rasterize_strokes,
    render_recipe,
    save_recipe,
    sidecar_path,
)
from retouch_studio.model.engines.base import Prediction


class GainPredictor:
    """A fixed grid that multiplies by a gain; counts calls (tests the recipe mechanics only)."""

    model_id = "gain"

    def __init__(self, gain=1.3):
        self.gain = gain
        self.calls = 0

    def predict(self, proxy, instruction):
        self.calls += 1
        grid = np.zeros((12, 8, 4, 4), np.float32)
        grid[[0, 5, 10]] = self.gain
        return Prediction(grid, GuidanceParams.luminance(), [{"attribute": "exposure"}], self.model_id)


@pytest.fixture
def pixels(photo_path):
    with Image.open(photo_path) as im:
        return np.asarray(im.convert("RGB")).copy()


def test_sidecar_round_trip(tmp_path, photo_path):
    recipe = Recipe(
        [
            Layer("warmer", strength=0.7),
            Layer("brighter", strokes=[Stroke([(10, 10), (50, 40)], radius=12, feather=0.3, flow=0.8)], edge_aware=True),
            Layer("", kind="auto", visible=False),
        ],
        model="default",
        image_size=(640, 426),
    )
    side = sidecar_path(tmp_path / "photo.jpg")
    assert side.name == "photo.jpg.retouch.json"
    save_recipe(recipe, side)
    back = load_recipe(side)
    assert back == recipe
    assert json.loads(side.read_text())["version"] == 1


def test_bad_recipes_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(RecipeError, match="bad.json"):
        load_recipe(bad)
    bad.write_text(json.dumps({"layers": [{"kind": "teleport"}]}))
    with pytest.raises(RecipeError, match="teleport"):
        load_recipe(bad)
    bad.write_text(json.dumps({"version": 99, "layers": []}))
    with pytest.raises(RecipeError, match="newer"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "missing.json")


def test_preset_style_file_is_a_single_layer(tmp_path):
    p = tmp_path / "preset.json"
    p.write_text(json.dumps({"instruction": "soft film look", "strength": 0.6}))
    r = load_recipe(p)
    assert len(r.layers) == 1 and r.layers[0].instruction == "soft film look" and r.layers[0].strength == 0.6


def test_strokes_rasterise_consistently_at_any_resolution():
    strokes = [Stroke([(100, 100), (300, 120)], radius=40, feather=0.5), Stroke([(200, 110)], radius=20, feather=0.0, erase=True)]
    full = rasterize_strokes(strokes, (800, 600))
    small = rasterize_strokes(strokes, (800, 600), (200, 150))
    assert full.shape == (600, 800) and small.shape == (150, 200)
    assert full[110, 150] > 0.95 and full[500, 700] == 0.0
    assert full[110, 200] < 0.05  # erased
    # the preview-size mask is the export mask seen at lower resolution
    down = np.asarray(Image.fromarray((full * 255).astype(np.uint8)).resize((200, 150), Image.Resampling.BOX)) / 255
    assert np.abs(down - small).mean() < 0.02


def test_flow_and_feather():
    hard = rasterize_strokes([Stroke([(50, 50)], radius=20, feather=0.0, flow=0.5)], (100, 100))
    assert abs(hard[50, 50] - 0.5) < 0.01
    soft = rasterize_strokes([Stroke([(50, 50)], radius=20, feather=1.0)], (100, 100))
    assert 0.0 < soft[50, 66] < soft[50, 55] <= 1.0


def test_render_layers_in_order_with_masks(pixels):
    h, w = pixels.shape[:2]
    pred = GainPredictor(1.2)
    stroke = Stroke([(w * 0.75, h * 0.5)], radius=w * 0.2, feather=0.0)
    recipe = Recipe([Layer("brighter", strength=1.0, strokes=[stroke])], image_size=(w, h))
    out = render_recipe(pixels, recipe, lambda layer: pred)
    assert pred.calls == 1
    assert np.array_equal(out[:, : w // 4], pixels[:, : w // 4])  # unpainted: untouched
    cy, cx = h // 2, int(w * 0.75)
    assert out[cy, cx].astype(int).sum() > pixels[cy, cx].astype(int).sum()
    # invisible layers do nothing; cached predictions are reused (export == preview)
    preds = {}
    two = Recipe([Layer("a", strength=0.5), Layer("b", visible=False)])
    first = render_recipe(pixels, two, lambda layer: pred, predictions=preds)
    again = render_recipe(pixels, two, lambda layer: pred, predictions=preds)
    assert pred.calls == 2 and np.array_equal(first, again)
    single = apply_prediction(pixels, preds[two.layers[0].id], 0.5)
    assert np.array_equal(first, single)


def test_stacked_layers_match_single_equivalent(pixels):
    # gain 1.1 then gain 1.1 == gain 1.21 (within rounding): layers compose in order
    pred = GainPredictor(1.1)
    out = render_recipe(pixels.astype(np.uint16) * 257, Recipe([Layer("a"), Layer("b")]), lambda layer: pred)
    expect = np.clip(pixels.astype(np.float64) * 257 * 1.21, 0, 65535)
    assert np.abs(out.astype(np.float64) - expect).max() <= 2


def test_inverted_and_edge_aware_masks(pixels):
    h, w = pixels.shape[:2]
    layer = Layer("x", strokes=[Stroke([(w / 2, h / 2)], radius=60, feather=0.2)], invert=True)
    m = layer_mask(layer, (w, h), (w, h), pixels)
    assert m[h // 2, w // 2] < 0.05 and m[0, 0] > 0.95
    layer.edge_aware, layer.invert = True, False
    refined = layer_mask(layer, (w, h), (w, h), pixels)
    assert refined.shape == (h, w) and 0.0 <= refined.min() and refined.max() <= 1.0
    assert refined[h // 2, w // 2] > 0.5 and refined[0, 0] < 0.05


def test_full_resolution_refinement_matches_reduced_grid(pixels):
    # The grid built from a reduced copy and sliced at full size agrees with the grid built from
    # the full-size photo itself: preview and export masks look the same.
    from retouch_studio.model.recipe import refine_mask_np

    big = np.asarray(Image.fromarray(pixels).resize((pixels.shape[1] * 2, pixels.shape[0] * 2)))
    h, w = big.shape[:2]
    rough = rasterize_strokes([Stroke([(w * 0.3, h * 0.4), (w * 0.6, h * 0.5)], radius=w * 0.08, feather=0.3)], (w, h))
    exact = refine_mask_np(rough, big, work_edge=4096)
    reduced = refine_mask_np(rough, big, work_edge=400)
    assert exact.shape == reduced.shape == (h, w)
    assert np.abs(exact - reduced).mean() < 0.02
    assert exact[int(h * 0.45), int(w * 0.45)] > 0.5 and exact[5, w - 5] < 0.05
