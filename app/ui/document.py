"""Document state for one open photo, without Qt: layers, strokes, undo/redo.

Everything the user edits is an immutable :class:`LayerState` in a tuple; every edit replaces the
tuple and pushes the previous one on the :class:`History`, so undo/redo is exact and cheap
(predictions are cached outside the layer states, keyed by what produced them, so undoing to a
state never needs the network again).

Strokes are vectors in *image* (full-resolution pixel) coordinates, so they rasterise at any
resolution: the preview at screen size, the export at native size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np



def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class StrokeData:
    """One brush stroke: a polyline in image pixels, painted or erased.

    size: brush diameter in image pixels; feather: 0 hard .. 1 soft edge; flow: 0..1 opacity.
    """

    points: tuple[tuple[float, float], ...]
    size: float
    feather: float = 0.5
    flow: float = 1.0
    erase: bool = False


@dataclass(frozen=True)
class LayerState:
    """One edit layer: an instruction with its own strength and (optional) brushed mask."""

    instruction: str
    strength: float = 1.0
    visible: bool = True
    strokes: tuple[StrokeData, ...] = ()
    edge_aware: bool = True
    kind: str = "instruction"
    invert: bool = False
    id: str = field(default_factory=_new_id)
    region: str = ""  # a region of model.regions the mask starts from ("" = none)

    @property
    def has_mask(self) -> bool:
        return bool(self.strokes) or self.invert or bool(self.region)

    def label(self) -> str:
        text = self.instruction if len(self.instruction) <= 32 else self.instruction[:31] + "…"
        if not text:
            text = "Auto"
        if self.region:
            text = f"{'not ' if self.invert else ''}{self.region}: {text}"
        extra = f"  {round(self.strength * 100)} %"
        if self.strokes:
            extra += "  ◐ mask"
        return text + extra


@dataclass(frozen=True)
class Snapshot:
    layers: tuple[LayerState, ...]
    current: int
    label: str


class History:
    """Undo/redo stacks of snapshots (plain data; no Qt)."""

    def __init__(self, limit: int = 200):
        self.limit = limit
        self._undo: list[Snapshot] = []
        self._redo: list[Snapshot] = []

    def push(self, before: Snapshot) -> None:
        self._undo.append(before)
        del self._undo[: max(0, len(self._undo) - self.limit)]
        self._redo.clear()

    def undo(self, now: Snapshot) -> Snapshot | None:
        if not self._undo:
            return None
        self._redo.append(now)
        return self._undo.pop()

    def redo(self, now: Snapshot) -> Snapshot | None:
        if not self._redo:
            return None
        self._undo.append(now)
        return self._redo.pop()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""


class Document:
    """One open photo: its screen-size pixels, full size, layers and history.

    ``pixels`` is the photo at preview size (uint8) and ``size`` the full-resolution
    ``(width, height)`` that strokes are stored in; the full-resolution pixels are only decoded by
    export jobs, off the GUI thread. ``predictions`` maps :meth:`prediction_key` -> Prediction;
    it survives undo/redo. The document never writes the photo file.
    """

    def __init__(self, path: Path, pixels: np.ndarray, *, size: tuple[int, int] | None = None,
                 model_id: str = "", photo: Any = None):
        self.path = Path(path)
        self.pixels = pixels
        self.photo = photo
        self.model_id = model_id
        self.size: tuple[int, int] = tuple(size) if size else (pixels.shape[1], pixels.shape[0])
        self.layers: tuple[LayerState, ...] = ()
        self.current = -1
        self.history = History()
        self.predictions: dict[tuple, Any] = {}
        self.errors: dict[str, str] = {}
        self.dirty = False
        self.library: Any = None  # app.ui.library.Library: flag, rating, snapshots

    @property
    def is_full_resolution(self) -> bool:
        return (self.pixels.shape[1], self.pixels.shape[0]) == tuple(self.size)

    def prediction_key(self, layer: LayerState) -> tuple:
        # A layer's prediction depends on its own id (its input is the image below it when it
        # was made), its instruction and the model; undo/redo reuse it.
        return (layer.id, layer.instruction, self.model_id)

    def prediction_for(self, layer: LayerState):
        return self.predictions.get(self.prediction_key(layer))

    def kept_layers(self) -> tuple[LayerState, ...]:
        """The layers that are saved and exported: all but those the engine refused (they stay on
        screen, marked failed, until the user retypes or deletes them)."""
        return tuple(x for x in self.layers if self.errors.get(x.id) != x.instruction)

    def current_layer(self) -> LayerState | None:
        return self.layers[self.current] if 0 <= self.current < len(self.layers) else None

    # ------------------------------------------------------------------ edits (each one undoable)

    def snapshot(self, label: str = "") -> Snapshot:
        return Snapshot(self.layers, self.current, label)

    def _commit(self, layers: tuple[LayerState, ...], current: int, label: str) -> None:
        if layers == self.layers and current == self.current:
            return
        self.history.push(self.snapshot(label))
        self.layers = layers
        self.current = max(-1, min(current, len(layers) - 1))
        self.dirty = True

    def add_layer(
        self, instruction: str, strength: float = 1.0, edge_aware: bool = True, kind: str | None = None,
        region: str = "", invert: bool = False,
    ) -> LayerState:
        """A new top layer; an empty instruction is an *auto* layer (the engine decides).
        ``region`` limits it to a region the region models find (``invert``: all but it)."""
        text = instruction.strip()
        kind = kind or ("instruction" if text else "auto")
        layer = LayerState(text, float(strength), edge_aware=edge_aware, kind=kind, invert=invert, region=region)
        self._commit(self.layers + (layer,), len(self.layers), f"Apply “{layer.instruction}”" if text else "Auto")
        return layer

    def replace_layer(self, index: int, label: str, **changes) -> LayerState:
        layer = replace(self.layers[index], **changes)
        layers = self.layers[:index] + (layer,) + self.layers[index + 1 :]
        self._commit(layers, self.current, label)
        return layer

    def set_strength(self, index: int, strength: float) -> None:
        strength = float(min(max(strength, 0.0), 2.0))
        if self.layers[index].strength != strength:
            self.replace_layer(index, f"Strength {round(strength * 100)} %", strength=strength)

    def set_visible(self, index: int, visible: bool) -> None:
        self.replace_layer(index, "Show layer" if visible else "Hide layer", visible=bool(visible))

    def set_edge_aware(self, index: int, on: bool) -> None:
        self.replace_layer(index, "Follow edges" if on else "Don't follow edges", edge_aware=bool(on))

    def add_stroke(self, index: int, stroke: StrokeData) -> None:
        layer = self.layers[index]
        self.replace_layer(index, "Erase" if stroke.erase else "Paint", strokes=layer.strokes + (stroke,))

    def clear_mask(self, index: int) -> None:
        self.replace_layer(index, "Clear mask", strokes=())

    def move_layer(self, src: int, dst: int) -> None:
        if src == dst or not (0 <= src < len(self.layers)) or not (0 <= dst < len(self.layers)):
            return
        layers = list(self.layers)
        layer = layers.pop(src)
        layers.insert(dst, layer)
        self._commit(tuple(layers), dst, "Reorder layers")

    def delete_layer(self, index: int) -> None:
        layers = self.layers[:index] + self.layers[index + 1 :]
        self._commit(layers, min(index, len(layers) - 1), "Delete layer")

    def select(self, index: int) -> None:
        # Selection is view state, not an edit: no history entry.
        self.current = max(-1, min(index, len(self.layers) - 1))

    def set_layers(self, layers: tuple[LayerState, ...], label: str) -> None:
        self._commit(tuple(layers), len(layers) - 1, label)

    # ------------------------------------------------------------------ undo / redo

    def undo(self) -> bool:
        snap = self.history.undo(self.snapshot(self.history.undo_label()))
        if snap is None:
            return False
        self.layers, self.current = snap.layers, snap.current
        self.dirty = True
        return True

    def redo(self) -> bool:
        snap = self.history.redo(self.snapshot(self.history.redo_label()))
        if snap is None:
            return False
        self.layers, self.current = snap.layers, snap.current
        self.dirty = True
        return True


# ---------------------------------------------------------------------------------------------
# Conversion to and from ``model.recipe`` (the sidecar, export and batch format)
# ---------------------------------------------------------------------------------------------


def to_recipe_layer(layer: LayerState):
    from retouch_studio.model.recipe import Layer, Stroke

    return Layer(
        instruction=layer.instruction,
        kind=layer.kind,
        strength=layer.strength,
        visible=layer.visible,
        strokes=[Stroke(list(s.points), s.size / 2.0, s.feather, s.flow, s.erase) for s in layer.strokes],
        edge_aware=layer.edge_aware,
        invert=layer.invert,
        id=layer.id,
        region=layer.region,
        region_model=region_model_version() if layer.region else "",
    )


def region_model_version() -> str:
    from retouch_studio.model.regions.sessions import model_version

    return model_version()


def from_recipe_layer(layer) -> LayerState:
    strokes = tuple(
        StrokeData(tuple((float(x), float(y)) for x, y in s.points), 2.0 * s.radius, s.feather, s.flow, s.erase)
        for s in layer.strokes
    )
    return LayerState(
        layer.instruction,
        float(min(max(layer.strength, 0.0), 2.0)),
        layer.visible,
        strokes,
        layer.edge_aware,
        layer.kind,
        layer.invert,
        layer.id,
        getattr(layer, "region", ""),
    )


def to_recipe(layers, model_id: str, image_size: tuple[int, int]):
    from retouch_studio.model.recipe import Recipe

    return Recipe([to_recipe_layer(layer) for layer in layers], model_id or "default", tuple(image_size))


def layers_from_recipe(recipe) -> tuple[LayerState, ...]:
    return tuple(from_recipe_layer(layer) for layer in recipe.layers)
