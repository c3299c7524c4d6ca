"""Non-destructive edit recipes: layers, strengths, brushed masks, and the sidecar file.

A :class:`Recipe` is what the GUI edits and what ``retouch batch --recipe`` replays. Strokes are
vectors in the photo's own pixel coordinates (``Recipe.image_size``), so a mask can be rasterised
at any resolution: screen size for the preview, native size for export, with the same look.

The sidecar sits next to the photo as ``<photo name>.retouch.json`` (like darktable's ``.xmp``);
the photo itself is never written.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from retouch_studio.model.atomic import write_text_atomic
from retouch_studio.model.engines.base import Prediction, Predictor
from retouch_studio.model.regions import REGIONS

RECIPE_VERSION = 1
SIDECAR_SUFFIX = ".retouch.json"
LAYER_KINDS = ("instruction", "params", "auto")


class RecipeError(ValueError):
    """A recipe or sidecar file is malformed; the message names the file and the problem."""


@dataclass
class Stroke:
    """One brush stroke. ``points`` are ``(x, y)`` in image pixels; ``radius`` in image pixels.

    feather: 0 (hard edge) .. 1 (soft edge as wide as the radius); flow: opacity 0..1;
    erase: removes mask instead of adding it.
    """

    points: list[tuple[float, float]]
    radius: float = 50.0
    feather: float = 0.5
    flow: float = 1.0
    erase: bool = False


@dataclass
class Layer:
    """One edit: an instruction (or param text, or auto) with its strength and optional mask.

    A layer without strokes applies everywhere; with strokes, only where painted (``invert``
    flips that). ``edge_aware`` snaps the painted mask to the photo's edges in bilateral space.
    ``region`` (one of ``model.regions.masks.REGIONS``) starts the mask from that region, found by
    the region models named by ``region_model`` at whatever resolution is rendered; strokes then
    add to or erase from it.
    """

    instruction: str = ""
    kind: str = "instruction"
    strength: float = 1.0
    visible: bool = True
    strokes: list[Stroke] = field(default_factory=list)
    edge_aware: bool = False
    invert: bool = False
    name: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    region: str = ""
    region_model: str = ""

    def __post_init__(self):
        if self.kind not in LAYER_KINDS:
            raise RecipeError(f"unknown layer kind {self.kind!r} (expected one of {LAYER_KINDS})")
        if self.region and self.region not in REGIONS:
            raise RecipeError(f"unknown region {self.region!r} (expected one of {', '.join(REGIONS)})")

    @property
    def has_mask(self) -> bool:
        return bool(self.strokes) or self.invert or bool(self.region)


@dataclass
class Recipe:
    """Ordered layers plus the model they were made with and the photo size strokes refer to."""

    layers: list[Layer] = field(default_factory=list)
    model: str = "default"
    image_size: tuple[int, int] | None = None  # (width, height) of the photo strokes refer to
    version: int = RECIPE_VERSION

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_size"] = list(self.image_size) if self.image_size else None
        return d

    @staticmethod
    def from_dict(d: dict, source: str = "recipe") -> "Recipe":
        """A recipe from its JSON form, checked against ``model.schema.RecipeSchema``: every
        field typed, every number finite and in range; :class:`RecipeError` names the field."""
        from retouch_studio.model.schema import RecipeSchema, SchemaError, validate

        if not isinstance(d, dict):
            raise RecipeError(f"{source}: expected a JSON object")
        version = d.get("version", RECIPE_VERSION)
        if isinstance(version, int) and not isinstance(version, bool) and version > RECIPE_VERSION:
            raise RecipeError(f"{source}: recipe version {version} is newer than this program ({RECIPE_VERSION})")
        try:
            checked = validate(RecipeSchema, d, source)
        except SchemaError as exc:
            raise RecipeError(str(exc)) from None
        layers = [
            Layer(
                instruction=layer.instruction,
                kind=layer.kind,
                strength=layer.strength,
                visible=layer.visible,
                strokes=[
                    Stroke([(x, y) for x, y in s.points], s.radius, s.feather, s.flow, s.erase) for s in layer.strokes
                ],
                edge_aware=layer.edge_aware,
                invert=layer.invert,
                name=layer.name,
                id=layer.id or uuid.uuid4().hex[:12],
                region=layer.region,
                region_model=layer.region_model,
            )
            for layer in checked.layers
        ]
        return Recipe(layers, checked.model, checked.image_size, RECIPE_VERSION)

    @staticmethod
    def single(instruction: str, strength: float = 1.0, kind: str | None = None) -> "Recipe":
        if kind is None:
            kind = "auto" if not instruction.strip() else "instruction"
        return Recipe([Layer(instruction, kind, strength)])


def recipe_for_text(text: str, strength: float = 1.0, region: str = "") -> Recipe | None:
    """The layers an instruction that names regions asks for, or None when it names none.

    "warmer, brighten the faces" -> a global "warmer" layer and a "brighten" layer masked to the
    faces. ``region`` (``--mask-region``) limits the clauses that name no region. Region layers
    record the region models' version, so the mask is re-found, not stored, at any resolution.
    """
    from retouch_studio.model.regions.sessions import model_version
    from retouch_studio.model.regions.words import names_a_region, split_regions

    if not region and not names_a_region(text):
        return None
    layers = []
    for clause in split_regions(text, region):
        where = ("everywhere but " if clause.invert else "") + (clause.region or "")
        layers.append(
            Layer(
                clause.text,
                "instruction" if clause.text.strip() else "auto",
                strength,
                invert=clause.invert,
                name=f"{where}: {clause.text}" if where else clause.text,
                region=clause.region,
                region_model=model_version() if clause.region else "",
            )
        )
    return Recipe(layers)


def sidecar_path(photo_path: str | os.PathLike) -> Path:
    p = Path(photo_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def save_recipe(recipe: Recipe, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write JSON atomically (``model.atomic``); a sidecar is meant to be replaced as the edit
    changes, so ``overwrite`` defaults to True here."""
    return write_text_atomic(path, json.dumps(recipe.to_dict(), indent=2), overwrite=overwrite)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Load a sidecar or recipe file; a preset-like ``{"instruction", "strength"}`` also works."""
    from retouch_studio.model.schema import InstructionFileSchema, SchemaError, read_json, validate

    path = Path(path)
    try:
        data = read_json(path, "recipe")
        if isinstance(data, dict) and "layers" not in data and "instruction" in data:
            short = validate(InstructionFileSchema, data, str(path))
            return Recipe.single(short.instruction, short.strength)
    except SchemaError as exc:
        raise RecipeError(str(exc)) from None
    return Recipe.from_dict(data, str(path))


# --------------------------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------------------------


def rasterize_strokes(
    strokes: list[Stroke],
    image_size: tuple[int, int],
    out_size: tuple[int, int] | None = None,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """Render vector strokes to a float32 mask ``(H, W)`` in ``[0, 1]`` at ``out_size`` (w, h).

    Each stroke is the smooth falloff of the distance to its centre line, computed inside its
    own bounding box (``model.brush``): paint adds with its flow, erase removes with it.
    ``base`` (``(H, W)``, e.g. a region's mask) is what the strokes paint onto; default empty.
    """
    from retouch_studio.model.brush import rasterize

    return rasterize(strokes, image_size, out_size, base=base)


def layer_mask(
    layer: Layer,
    image_size: tuple[int, int],
    out_size: tuple[int, int],
    pixels: np.ndarray | None = None,
) -> np.ndarray | None:
    """The layer's mask at ``out_size`` (None = everywhere), edge-refined when asked.

    A region layer needs ``pixels`` (at ``out_size``): its region is found in them.
    """
    if not layer.has_mask:
        return None
    from retouch_studio.model.brush import rasterize

    base = None
    if layer.region:
        if pixels is None:
            raise RecipeError(f"layer {layer.name or layer.id}: the {layer.region} region needs the photo's pixels")
        base = region_layer_mask(layer.region, pixels)
    # Edge-aware strokes keep the brush weight only on colours like those under the centre
    # line, so a stroke stops at a clear edge (model.brush).
    edge = layer.edge_aware and pixels is not None and bool(layer.strokes)
    mask = rasterize(layer.strokes, image_size, out_size, pixels if edge else None, base=base)
    if layer.invert:
        mask = 1.0 - mask
    return mask


def region_layer_mask(region: str, pixels: np.ndarray) -> np.ndarray:
    """``region`` of ``pixels`` as a mask at their resolution: found on the proxy by the region
    models, enlarged, then snapped to the photo's edges with the brush's bilateral refinement.
    All zeros when the region is absent (no face in a landscape: nothing changes)."""
    from retouch_studio.model.regions.masks import region_mask

    h, w = pixels.shape[:2]
    found = region_mask(pixels, region)
    if not found.found:
        return np.zeros((h, w), np.float32)
    coarse = Image.fromarray(np.ascontiguousarray(found.mask, np.float32), mode="F")
    return refine_mask_np(np.asarray(coarse.resize((w, h), Image.Resampling.BILINEAR), np.float32), pixels)


def refine_mask_np(mask: np.ndarray, pixels: np.ndarray, *, work_edge: int = 1024) -> np.ndarray:
    """Edge-aware refinement (``model.grid.refine_mask``) on numpy arrays at any resolution.

    The bilateral grid (cells of 1/64 of the long edge, 12 luminance bins) is built from a copy of
    the photo and mask reduced to ``work_edge`` px, then sliced at full resolution with the fused
    kernel, so a 24 MP export needs no per-bin full-size buffers, and preview and export agree.
    """
    import torch

    from retouch_studio.model.grid.cpu_slice import slice_apply
    from retouch_studio.model.grid.ops import finish_refined_mask, splat_mask_grid
    from retouch_studio.model.imaging import make_preview, to_float

    h, w = mask.shape
    cell = max(2.0, max(h, w) / 64)
    gh, gw = max(1, int(np.ceil(h / cell))), max(1, int(np.ceil(w / cell)))
    depth = 12
    scale = min(1.0, work_edge / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small_px = to_float(make_preview(pixels, size))
        small_mask = np.asarray(
            Image.fromarray(np.ascontiguousarray(mask, np.float32), mode="F").resize(size, Image.Resampling.BOX),
            np.float32,
        )
    else:
        small_px, small_mask = to_float(pixels), np.asarray(mask, np.float32)
    with torch.no_grad():
        g = splat_mask_grid(
            torch.from_numpy(np.array(small_mask, np.float32))[None, None],
            torch.from_numpy(np.ascontiguousarray(small_px)).permute(2, 0, 1)[None],
            (gh, gw),
            depth=depth,
        )[0].numpy()
    # Slice both sums at full resolution as the constant terms of an affine grid.
    norm = max(float(g[1].max()), 1e-12)
    affine = np.zeros((12, depth, gh, gw), np.float32)
    affine[3] = g[0] / norm
    affine[7] = g[1] / norm
    sliced = slice_apply(to_float(pixels), affine)
    refined = finish_refined_mask(
        torch.from_numpy(sliced[..., 0]), torch.from_numpy(sliced[..., 1]).clamp_min(1e-6 / norm)
    )
    return refined.numpy()


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def render_recipe(
    pixels: np.ndarray,
    recipe: Recipe,
    predictor_for: Callable[[Layer], Predictor],
    *,
    predictions: dict[str, Prediction] | None = None,
    image_size: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Apply the visible layers of ``recipe`` in order to ``pixels`` at their own resolution.

    ``predictions`` maps layer ids to grids already predicted (the GUI passes the ones its
    preview used, so the export matches the preview); missing ones are predicted from the proxy of
    the image as it stands before that layer, and stored back into the dict. ``image_size`` is the
    (w, h) the strokes refer to (default: the recipe's, else the pixels' own).
    """
    from retouch_studio.model.imaging import to_float
    from retouch_studio.model.pipeline import apply_prediction, predict_for

    h, w = pixels.shape[:2]
    size = image_size or recipe.image_size or (w, h)
    layers = [layer for layer in recipe.layers if layer.visible]
    if predictions is None:
        predictions = {}
    # Stacked layers work in float32 so rounding does not accumulate between layers.
    current = pixels if len(layers) <= 1 else to_float(pixels)
    for i, layer in enumerate(layers):
        if cancelled is not None and cancelled():
            raise InterruptedError("render cancelled")
        pred = predictions.get(layer.id)
        if pred is None:
            pred = predict_for(predictor_for(layer), current, layer.instruction)
            predictions[layer.id] = pred
        # Edge-aware masks follow the photo's own edges, not the edits below them.
        mask = layer_mask(layer, size, (w, h), pixels)
        current = apply_prediction(current, pred, layer.strength, mask)
        if progress is not None:
            progress(i + 1, len(layers))
    if current.dtype != pixels.dtype:
        current = _from_float32(current, pixels.dtype)
    return current


def _from_float32(x: np.ndarray, dtype) -> np.ndarray:
    scale = 255.0 if dtype == np.uint8 else 65535.0
    return (np.clip(x, 0.0, 1.0) * scale + 0.5).astype(dtype)
