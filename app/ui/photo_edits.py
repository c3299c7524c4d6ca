"""Whose edits a photo gets: batch export per photo, and copy / paste / sync of edits (no Qt).

Batch export writes every photo with its *own* edits: an open photo's layers (with the
predictions its preview used), else the sidecar saved next to it, else the fallback the user
chose for photos without edits (export unchanged, a preset, or skip). :func:`plan_batch` decides
this once and :func:`describe_batch` says it in words for the dialog.

Copied edits are layer states with the size of the photo they were made on; pasting gives the
layers fresh ids (a prediction belongs to one photo, so the pasted photo gets its own) and scales
brushed strokes to the target photo's size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from retouch_studio.app.ui.document import LayerState, StrokeData, _new_id, to_recipe

#: What a photo without edits gets in a batch export.
FALLBACK_UNCHANGED = "unchanged"
FALLBACK_SKIP = "skip"


@dataclass(frozen=True)
class BatchEntry:
    """One photo of a batch: ``source`` says whose edits (``own``, ``sidecar``, ``preset``, ``none``)."""

    path: Path
    source: str
    recipe: object | None  # model.recipe.Recipe; None = skipped
    predictions: dict


def plan_batch(paths, documents: dict, fallback=FALLBACK_UNCHANGED, fallback_recipe=None) -> list[BatchEntry]:
    """Per photo: its open document's layers, else its sidecar, else ``fallback``.

    ``fallback``: :data:`FALLBACK_UNCHANGED`, :data:`FALLBACK_SKIP`, or a preset name with its
    ``fallback_recipe`` (``model.recipe.Recipe``). An unreadable sidecar counts as no edits.
    """
    from retouch_studio.model.recipe import Recipe, RecipeError, load_recipe, sidecar_path

    entries = []
    for path in map(Path, paths):
        doc = documents.get(path)
        if doc is not None and doc.kept_layers():
            recipe = to_recipe(doc.kept_layers(), doc.model_id, doc.size)
            preds = {}
            for layer in doc.layers:
                pred = doc.prediction_for(layer)
                if pred is not None:
                    preds[layer.id] = pred
            entries.append(BatchEntry(path, "own", recipe, preds))
            continue
        recipe = None
        if doc is None and sidecar_path(path).is_file():
            try:
                recipe = load_recipe(sidecar_path(path))
            except RecipeError:
                recipe = None
        if recipe is not None and recipe.layers:
            entries.append(BatchEntry(path, "sidecar", recipe, {}))
        elif fallback == FALLBACK_SKIP:
            entries.append(BatchEntry(path, "none", None, {}))
        elif fallback == FALLBACK_UNCHANGED or fallback_recipe is None:
            entries.append(BatchEntry(path, "none", Recipe([]), {}))
        else:
            entries.append(BatchEntry(path, "preset", fallback_recipe, {}))
    return entries


def describe_batch(entries: list[BatchEntry], fallback: str = FALLBACK_UNCHANGED) -> str:
    """One line for the dialog: how many photos get whose edits."""
    own = sum(e.source in ("own", "sidecar") for e in entries)
    bare = [e for e in entries if e.source in ("none", "preset")]
    parts = [f"{len(entries)} photo{'s' if len(entries) != 1 else ''}"]
    if own:
        parts.append(f"{own} with {'its' if own == 1 else 'their'} own edits")
    if bare:
        if fallback == FALLBACK_SKIP:
            how = "skipped"
        elif fallback == FALLBACK_UNCHANGED:
            how = "exported unchanged"
        else:
            how = f"given the preset “{fallback}”"
        parts.append(f"{len(bare)} without edits {how}")
    return parts[0] + ": " + ", ".join(parts[1:]) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class CopiedEdits:
    """Layers copied from one photo, with that photo's size (strokes are in its pixels)."""

    layers: tuple[LayerState, ...]
    image_size: tuple[int, int]
    source: str  # the photo's file name, for messages


def copy_edits(doc) -> CopiedEdits:
    return CopiedEdits(tuple(doc.layers), tuple(doc.size), doc.path.name)


def pasted_layers(copied: CopiedEdits, image_size: tuple[int, int]) -> tuple[LayerState, ...]:
    """The copied layers for a photo of ``image_size``: fresh ids, strokes scaled to it."""
    sx = image_size[0] / copied.image_size[0]
    sy = image_size[1] / copied.image_size[1]
    out = []
    for layer in copied.layers:
        strokes = tuple(
            StrokeData(tuple((x * sx, y * sy) for x, y in s.points), s.size * (sx + sy) / 2, s.feather, s.flow, s.erase)
            for s in layer.strokes
        )
        out.append(replace(layer, strokes=strokes, id=_new_id()))
    return tuple(out)
