"""The mask brush (``model.brush``): plain strokes, and edge-aware strokes that stop at edges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from retouch_studio.model.brush import pieces, rasterize
from retouch_studio.model.recipe import Layer, Stroke, layer_mask, rasterize_strokes

DATA = Path(__file__).resolve().parent / "data"


def _sky_stroke_beside_the_ridge(scale: int = 1):
    """A stroke in the sky following the mountain ridge of a real photo 12 px above it.

    Returns (pixels, stroke, far side, near side): the brush (radius 25 px) reaches 13 px into
    the mountain; the sides are split along the ridge line with a 2 px band left out.
    """
    im = Image.open(DATA / "aitzgorri_by_Aitzol_Berasategi.jpg").convert("RGB")
    if scale != 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.BICUBIC)
    px = np.asarray(im)
    f = px.astype(np.float32) / 255
    sky = (f[..., 2] > 0.75) & (f[..., 0] > 0.7)
    sky[150 * scale :] = False
    xs = np.arange(250, 500, 10) * scale
    # The ridge: the first non-sky row under the sky at each column (the sky is one region on top).
    ridge = np.array([np.argmin(sky[:, x]) if sky[0, x] else 0 for x in xs])
    assert (ridge > 20 * scale).all() and (ridge < 150 * scale).all()
    stroke = Stroke([(float(x), float(y - 12 * scale)) for x, y in zip(xs, ridge)], 25.0 * scale, 0.3, 1.0)
    h, w = sky.shape
    line = np.interp(np.arange(w), xs, ridge)[None]
    rows = np.arange(h)[:, None]
    return px, stroke, rows > line + 2 * scale, rows < line - 2 * scale


def test_edge_aware_stroke_stops_at_a_strong_edge_on_a_real_photo():
    px, stroke, far, near = _sky_stroke_beside_the_ridge()
    h, w = far.shape
    brush = rasterize_strokes([stroke], (w, h))
    assert (brush * far).sum() > 500  # the brush does reach across the ridge
    plain = layer_mask(Layer("x", strokes=[stroke], edge_aware=False), (w, h), (w, h), px)
    edge = layer_mask(Layer("x", strokes=[stroke], edge_aware=True), (w, h), (w, h), px)
    leak_plain = (plain * far).sum() / (brush * far).sum()
    leak_edge = (edge * far).sum() / (brush * far).sum()
    kept = (edge * near).sum() / (brush * near).sum()
    assert leak_plain > 0.99
    assert leak_edge <= 0.10, leak_edge  # <= 10 % of the brush weight across the edge
    assert kept >= 0.9, kept  # and the sky side keeps the edit


def test_edge_aware_mask_is_the_same_at_screen_and_export_size():
    px, stroke, far, _near = _sky_stroke_beside_the_ridge()
    h, w = far.shape
    small = np.asarray(Image.fromarray(px).resize((w // 2, h // 2), Image.Resampling.BILINEAR))
    full = rasterize([stroke], (w, h), (w, h), px)
    half = rasterize([stroke], (w, h), (w // 2, h // 2), small)
    down = np.asarray(Image.fromarray(full, mode="F").resize((w // 2, h // 2), Image.Resampling.BOX))
    assert np.abs(half - down).mean() < 0.01


def test_plain_strokes_paint_and_erase_with_flow():
    paint = Stroke([(20.0, 20.0), (80.0, 20.0)], 10.0, 0.0, 0.5)
    erase = Stroke([(50.0, 0.0), (50.0, 40.0)], 5.0, 0.0, 1.0, erase=True)
    m = rasterize([paint, erase], (100, 40))
    assert m[20, 30] == 0.5 and m[20, 50] == 0.0 and m[35, 30] == 0.0
    # a stroke's own pieces overlap without building up
    long = Stroke([(float(x), 20.0) for x in range(0, 100, 3)], 10.0, 0.0, 0.5)
    assert len(pieces(long.points, long.radius)) > 3
    assert rasterize([long], (100, 40)).max() == 0.5


def test_mask_of_pixels_with_the_wrong_size_is_refused():
    import pytest

    with pytest.raises(ValueError, match="mask is"):
        rasterize([Stroke([(1.0, 1.0)], 3.0)], (10, 10), (10, 10), np.zeros((5, 5, 3), np.uint8))
