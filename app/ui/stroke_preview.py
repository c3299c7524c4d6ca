"""A brush stroke in progress, drawn by recomputing only the pixels its newest piece touches.

``model.brush`` cuts a stroke into pieces about one radius long and combines them by maximum, so
while the hand moves only the open (last) piece changes. :class:`StrokePreview` keeps, at the
preview's size, the selected layer's input and edited pixels, its mask before the stroke, the
masks of the layers above, and the composite on screen; each mouse move re-rasterises the open
piece in its bounding box, re-blends that box, and re-applies the layers above to that box alone
(their grids resampled for the box with ``crop_grid``). The cost is bounded by the brush size,
not the photo or the number of layers. On release the stroke's mask is handed to the preview
renderer (:meth:`PreviewRenderer.adopt_mask`), so nothing is rasterised twice.

No Qt.
"""

from __future__ import annotations

import numpy as np

from retouch_studio.app.ui.detail import crop_grid
from retouch_studio.app.ui.preview import PreviewRenderer, to_u8_mask


class StrokePreview:
    """``layers[index]`` gets a stroke of ``size`` (diameter, image px), ``feather``, ``flow``, ``erase``.

    ``renderer`` must have rendered ``layers`` with ``predictions`` (its caches are the start).
    """

    def __init__(self, renderer: PreviewRenderer, layers, predictions, index: int, *, size: float,
                 feather: float, flow: float, erase: bool, edge_aware: bool):
        from retouch_studio.model.brush import opponent

        self.renderer = renderer
        layer = layers[index]
        self.layer = layer
        base = renderer.base
        self.shape = base.shape[:2]
        self.scale = (base.shape[1] / renderer.image_size[0], base.shape[0] / renderer.image_size[1])
        self.radius_img = size / 2.0
        self.radius = max(self.radius_img * sum(self.scale) / 2, 0.5)
        self.feather, self.flow, self.erase = feather, flow, erase
        self.out = renderer.render(layers, predictions).copy()
        source = renderer.input_of(layer)
        edited = renderer.edited_of(layer)
        if source is None or edited is None:
            raise ValueError("the layer has no prediction yet")
        self.source, self.edited = source, edited
        self.strength = layer.strength
        old = renderer.mask_of(layer)
        if old is None:
            # No mask yet (the edit applied everywhere): painting starts from nothing;
            # an inverted layer starts from "everywhere" in its own terms.
            old_f = np.zeros(self.shape, np.float32)
        else:
            old_f = old.astype(np.float32) / 255.0
            if layer.invert:
                old_f = 1.0 - old_f
        self.before = old_f
        self.invert = layer.invert
        self.mask = to_u8_mask(1.0 - old_f if layer.invert else old_f)
        self.upper = []
        for above, pred in zip(layers[index + 1 :], predictions[index + 1 :]):
            if above.visible and pred is not None:
                self.upper.append((pred, above.strength, renderer.mask_of(above)))
        if old is None:
            # The edit applied everywhere until now; from the first stroke on, only where painted.
            self._recomposite((0, 0, self.shape[1], self.shape[0]))
        self.colours = opponent(base) if edge_aware else None  # the photo's edges, as the export
        self.alpha = np.zeros(self.shape, np.float32)  # closed pieces of this stroke (before flow)
        self.points: list[tuple[float, float]] = []
        self._piece_start = 0
        self._run = 0.0

    # ------------------------------------------------------------------ input

    def add_point(self, x: float, y: float) -> tuple[int, int, int, int] | None:
        """Extend the stroke (image pixels); returns the preview box that changed, or None."""
        if self.points:
            px, py = self.points[-1]
            step = float(np.hypot(x - px, y - py))
            # Same cut as model.brush.pieces: a piece closes at a point once it is a radius long
            # and a further point follows.
            if self._run >= self.radius_img:
                self._close_piece()
            self._run += step
        self.points.append((float(x), float(y)))
        return self._draw_open_piece()

    def _piece(self):
        from retouch_studio.model.brush import rasterize_piece

        pts = np.asarray(self.points[self._piece_start :], np.float64) * self.scale
        return rasterize_piece(pts, self.radius, self.feather, self.shape, self.colours)

    def _close_piece(self) -> None:
        hit = self._piece()
        if hit is not None:
            (x0, y0, x1, y1), a = hit
            view = self.alpha[y0:y1, x0:x1]
            np.maximum(view, a, out=view)
        self._piece_start = len(self.points) - 1
        self._run = 0.0

    def _draw_open_piece(self) -> tuple[int, int, int, int] | None:
        hit = self._piece()
        if hit is None:
            return None
        box, a = hit
        x0, y0, x1, y1 = box
        alpha = np.maximum(self.alpha[y0:y1, x0:x1], a) * np.float32(max(0.0, min(1.0, self.flow)))
        before = self.before[y0:y1, x0:x1]
        m = before * (1.0 - alpha) if self.erase else before + alpha * (1.0 - before)
        if self.invert:
            m = 1.0 - m
        self.mask[y0:y1, x0:x1] = to_u8_mask(m)
        self._recomposite(box)
        return box

    # ------------------------------------------------------------------ compositing

    def _recomposite(self, box) -> None:
        from retouch_studio.model.grid.cpu_slice import blend_u8, slice_apply

        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(self.source[y0:y1, x0:x1])
        edited = np.ascontiguousarray(self.edited[y0:y1, x0:x1])
        current = blend_u8(crop, edited, self.strength, np.ascontiguousarray(self.mask[y0:y1, x0:x1]))
        size = (self.shape[1], self.shape[0])
        for pred, strength, mask in self.upper:
            grid = crop_grid(pred.grid, size, box)
            up = slice_apply(current, grid, pred.guidance)
            m = None if mask is None else np.ascontiguousarray(mask[y0:y1, x0:x1])
            current = blend_u8(current, up, strength, m)
        self.out[y0:y1, x0:x1] = current

    def finished_mask(self) -> np.ndarray:
        """The layer's whole mask with this stroke (uint8, preview size)."""
        return self.mask
