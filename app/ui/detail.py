"""Full-resolution detail for zoomed-in views (100 % and beyond), without Qt.

The screen-size preview is magnified when the user zooms past it. The detail renderer takes the
full-resolution pixels of the *visible region* only and applies the same layers there: each
grid is resampled for the crop so that slicing the crop reproduces the full image's slice
(``crop_grid``), and masks are the preview masks resampled to the crop (masks are smooth, the
export still rasterises them from vectors at full size). Its caches make the strength slider a
re-blend here too.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from retouch_studio.app.ui.preview import PreviewRenderer


def _axis_weights(full: int, cells: int, start: int, length: int, nodes: int) -> np.ndarray:
    """``(nodes, cells)`` linear weights placing the crop's grid nodes on the full image's grid."""
    j = np.arange(nodes, dtype=np.float64)
    crop_px = (j + 0.5) * length / nodes - 0.5  # cell-centred node positions in crop pixels
    g = np.clip((start + crop_px + 0.5) * cells / full - 0.5, 0.0, cells - 1.0)
    i0 = np.minimum(np.floor(g).astype(int), max(cells - 2, 0))
    i1 = np.minimum(i0 + 1, cells - 1)
    t = g - i0
    w = np.zeros((nodes, cells))
    w[j.astype(int), i0] += 1.0 - t
    w[j.astype(int), i1] += t
    return w


def crop_grid(grid: np.ndarray, image_size: tuple[int, int], box: tuple[int, int, int, int], step: int = 8) -> np.ndarray:
    """Grid ``(12, D, gh', gw')`` for the crop ``box = (x0, y0, x1, y1)`` of an image of ``image_size``.

    Slicing the crop with it equals slicing the full image with ``grid`` up to the kinks of the
    original's bilinear interpolation (one node every ``step`` crop pixels).
    """
    w_full, h_full = image_size
    x0, y0, x1, y1 = box
    _, _, gh, gw = grid.shape
    nx = max(2, math.ceil((x1 - x0) / step))
    ny = max(2, math.ceil((y1 - y0) / step))
    wx = _axis_weights(w_full, gw, x0, x1 - x0, nx)
    wy = _axis_weights(h_full, gh, y0, y1 - y0, ny)
    out = np.einsum("cdhw,jw,ih->cdij", grid.astype(np.float64), wx, wy)
    return np.ascontiguousarray(out, dtype=np.float32)


class DetailView:
    """Renders the visible region of the photo at full resolution with the document's layers."""

    def __init__(self, full_u8: np.ndarray, image_size: tuple[int, int]):
        self.full = full_u8
        self.image_size = tuple(image_size)
        self.box: tuple[int, int, int, int] | None = None
        self.scale = 1.0
        self.renderer: PreviewRenderer | None = None
        self._preds: dict[int, object] = {}

    def set_box(self, box: tuple[int, int, int, int], preview: PreviewRenderer, scale: float = 1.0) -> None:
        """Focus on ``box`` (image pixels) drawn at ``scale`` screen pixels per image pixel.

        Below 1:1 the crop is downscaled first, so the work is bounded by the screen's pixels
        (the resampled grids do not depend on the crop's resolution). ``preview`` provides masks.
        """
        box = tuple(int(v) for v in box)
        scale = min(1.0, float(scale))
        if box == self.box and scale == self.scale:
            return
        self.box, self.scale = box, scale
        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(self.full[y0:y1, x0:x1])
        if scale < 1.0:
            size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
            crop = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))
        out_w, out_h = crop.shape[1], crop.shape[0]
        scale_x = preview.base.shape[1] / self.image_size[0]
        scale_y = preview.base.shape[0] / self.image_size[1]
        pbox = (x0 * scale_x, y0 * scale_y, x1 * scale_x, y1 * scale_y)

        def mask_fn(layer, _source):
            m = preview.mask_of(layer)
            if m is None:
                return None
            return np.asarray(Image.fromarray(m).resize((out_w, out_h), Image.Resampling.BILINEAR, box=pbox))

        self.renderer = PreviewRenderer(crop, self.image_size, mask_fn=mask_fn)
        self._preds.clear()

    def _cropped(self, pred):
        if pred is None:
            return None
        hit = self._preds.get(id(pred))
        if hit is None or hit[0] is not pred:
            from dataclasses import replace

            hit = (pred, replace(pred, grid=crop_grid(pred.grid, self.image_size, self.box)))
            self._preds[id(pred)] = hit
        return hit[1]

    def render(self, layers, predictions) -> np.ndarray:
        return self.renderer.render(layers, [self._cropped(p) for p in predictions])

    @property
    def original(self) -> np.ndarray:
        return self.renderer.base
