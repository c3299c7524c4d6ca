"""Screen-size preview rendering without Qt: layers in order, cached so sliders never re-slice.

For each visible layer ``k`` with a prediction the renderer keeps, at preview size, its input
``x_k`` (uint8, the output of the layers below), its fully edited version ``e_k`` (the grid sliced
and applied at strength 1) and its mask. The output is ``x_{k+1} = blend_u8(x_k, e_k, s_k, m_k)``.
Moving the strength slider of the top layer is then one fixed-point re-blend (``model.fast``);
changing a lower layer re-slices only the layers above it. The network is never called here.

Masks come from ``model.recipe.layer_mask`` (the export's rasteriser; edge-aware strokes follow
the photo's own colours, as in ``render_recipe``), at preview size. A mask depends on the strokes
and the photo only, so moving a lower layer's slider never re-rasterises the masks above it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retouch_studio.app.ui.document import LayerState, to_recipe_layer


def to_u8_mask(mask: np.ndarray) -> np.ndarray:
    if mask.dtype == np.uint8:
        return mask
    return (np.clip(mask, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def preview_mask(layer: LayerState, image_size: tuple[int, int], source: np.ndarray) -> np.ndarray | None:
    """The layer's mask at the size of ``source`` (float32), or None when it applies everywhere.

    Rasterised by ``model.recipe.layer_mask``, the export's code, directly at the preview's size
    (the preview is the size of the viewport, and edge-aware strokes decide per pixel colour).
    """
    from retouch_studio.model.recipe import layer_mask

    if not layer.has_mask:
        return None
    h, w = source.shape[:2]
    return layer_mask(to_recipe_layer(layer), tuple(image_size), (w, h), source)


def apply_full(pixels: np.ndarray, prediction, strength: float = 1.0, mask: np.ndarray | None = None) -> np.ndarray:
    from retouch_studio.model.pipeline import apply_prediction

    return apply_prediction(pixels, prediction, strength, mask)


def _mask_sig(layer: LayerState) -> tuple:
    """What a layer's mask depends on (a cached mask is reused while this is unchanged)."""
    return (layer.strokes, layer.edge_aware, layer.invert)


@dataclass
class _LayerCache:
    input_sig: tuple
    source: np.ndarray
    edited: np.ndarray
    mask_sig: tuple = ()
    mask: np.ndarray | None = None  # uint8 or None
    output: np.ndarray | None = None
    strength: float = -1.0


class PreviewRenderer:
    """Renders the layer stack over a fixed uint8 base image (the photo at preview size).

    image_size: (w, h) of the full-resolution photo (the coordinates strokes are stored in).
    """

    def __init__(self, base: np.ndarray, image_size: tuple[int, int], mask_fn=None):
        if base.dtype != np.uint8 or base.ndim != 3 or base.shape[2] != 3:
            raise ValueError("preview base must be (H, W, 3) uint8")
        self.base = np.ascontiguousarray(base)
        self.image_size = tuple(image_size)
        # mask_fn(layer, photo) -> float mask or None; default rasterises the strokes (edge-aware
        # ones on the photo itself, as the export does).
        self.mask_fn = mask_fn or (lambda layer, source: preview_mask(layer, self.image_size, source))
        self._cache: dict[str, _LayerCache] = {}
        self.slices = 0  # grid applications run (tests read it)
        self.mask_renders = 0

    @property
    def scale(self) -> float:
        return self.base.shape[1] / self.image_size[0]

    def render(self, layers, predictions, upto: int | None = None) -> np.ndarray:
        """Composite ``layers[:upto]``; ``predictions[i]`` is layer i's Prediction or None (skipped)."""
        from retouch_studio.model.grid.cpu_slice import blend_u8

        current = self.base
        sig: tuple = ()
        live = set()
        items = list(zip(layers, predictions))
        if upto is not None:
            items = items[:upto]
        for layer, pred in items:
            if not layer.visible or pred is None:
                continue
            live.add(layer.id)
            input_sig = sig + ((layer.id, id(pred)),)
            cache = self._cache.get(layer.id)
            if cache is None or cache.input_sig != input_sig:
                old = cache
                cache = _LayerCache(input_sig, current, apply_full(current, pred))
                if old is not None:
                    # A mask depends on the strokes and the photo, not on the layers below.
                    cache.mask_sig, cache.mask = old.mask_sig, old.mask
                self.slices += 1
                self._cache[layer.id] = cache
            mask_sig = _mask_sig(layer)
            if cache.mask_sig != mask_sig:
                m = self.mask_fn(layer, self.base)
                cache.mask = to_u8_mask(m) if m is not None else None
                self.mask_renders += 1
                cache.mask_sig = mask_sig
                cache.strength = -1.0
            if cache.strength != layer.strength or cache.output is None:
                cache.output = blend_u8(current, cache.edited, layer.strength, cache.mask)
                cache.strength = layer.strength
            current = cache.output
            sig = input_sig + ((layer.strength, mask_sig),)
        if upto is None:
            for dead in set(self._cache) - live:
                del self._cache[dead]
        return current

    def mask_of(self, layer: LayerState) -> np.ndarray | None:
        """The uint8 preview mask last rendered for ``layer`` (None = everywhere / not rendered)."""
        cache = self._cache.get(layer.id)
        return cache.mask if cache is not None else None

    def edited_of(self, layer: LayerState) -> np.ndarray | None:
        """The layer's input with its edit at full strength, everywhere (uint8), if rendered."""
        cache = self._cache.get(layer.id)
        return cache.edited if cache is not None else None

    def adopt_mask(self, layer: LayerState, mask: np.ndarray) -> None:
        """Take ``mask`` (uint8, preview size) as ``layer``'s rendered mask (a stroke drawn live)."""
        cache = self._cache.get(layer.id)
        if cache is not None:
            cache.mask = mask
            cache.mask_sig = _mask_sig(layer)
            cache.strength = -1.0

    def input_of(self, layer: LayerState) -> np.ndarray | None:
        cache = self._cache.get(layer.id)
        return cache.source if cache is not None else None
