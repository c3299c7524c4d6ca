"""Full-resolution rendering, export and batch export jobs, and the recipe sidecar (no Qt).

Export renders the same layer stack as the preview, at native resolution (or a long-edge
resize): each visible layer's grid is sliced and applied with its strength and its mask, the
mask rasterised from the stroke vectors at the export size. Jobs run on the
:class:`app.worker.JobQueue` thread; they check ``cancel()`` between photos and between layers.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from retouch_studio.app.worker import Job

from retouch_studio.app.ui.document import layers_from_recipe, to_recipe

log = logging.getLogger(__name__)

FORMATS = {"jpg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp"}
#: What to do when an export's file already exists (the GUI asks before exporting).
EXISTING = ("ask", "overwrite", "rename", "skip")


# ---------------------------------------------------------------------------------------------
# Sidecar (the recipe saved next to the photo, in ``model.recipe``'s format)
# ---------------------------------------------------------------------------------------------


def save_sidecar(photo_path: str | os.PathLike, layers, model_id: str, image_size: tuple[int, int],
                 extras: dict | None = None) -> Path | None:
    """Write the recipe next to the photo atomically; nothing to keep removes the sidecar.

    ``extras``: what the app keeps beside the recipe (rating, flag, snapshots; see
    ``app.ui.library``), stored as extra keys the recipe reader ignores.
    """
    import json

    from retouch_studio.model.atomic import write_text_atomic
    from retouch_studio.model.recipe import sidecar_path

    path = sidecar_path(photo_path)
    extras = {k: v for k, v in (extras or {}).items() if v}
    if not layers and not extras:
        path.unlink(missing_ok=True)
        return None
    data = to_recipe(layers, model_id, image_size).to_dict()
    data.update(extras)
    return write_text_atomic(path, json.dumps(data, indent=2), overwrite=True)


def load_sidecar_extras(photo_path: str | os.PathLike) -> dict:
    """The app's extra keys of the photo's sidecar ({} when there is none or it is unreadable)."""
    import json

    from retouch_studio.model.recipe import sidecar_path

    try:
        data = json.loads(sidecar_path(photo_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: data[k] for k in ("rating", "flag", "snapshots") if isinstance(data, dict) and k in data}


def load_sidecar(photo_path: str | os.PathLike):
    """``(layers, model_id)`` from the photo's sidecar, None if there is none.

    Raises ``model.recipe.RecipeError`` (naming the file) when it exists but is unusable.
    """
    from retouch_studio.model.recipe import load_recipe, sidecar_path

    path = sidecar_path(photo_path)
    if not path.is_file():
        return None
    recipe = load_recipe(path)
    return layers_from_recipe(recipe), ("" if recipe.model == "default" else recipe.model)


# ---------------------------------------------------------------------------------------------
# Full-resolution render
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    """What the export dialog asks. ``long_edge`` 0 = native size; ``dest_dir`` None = next to the photo."""

    fmt: str = "jpg"
    quality: int = 95
    bit_depth: int = 8
    long_edge: int = 0
    dest_dir: str | None = None
    keep_metadata: bool = True
    suffix: str = "_retouched"
    existing: str = "ask"

    def __post_init__(self):
        if self.existing not in EXISTING:
            raise ValueError(f"unknown policy for existing files {self.existing!r} (known: {', '.join(EXISTING)})")
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown export format {self.fmt!r} (known: {', '.join(FORMATS)})")
        if self.bit_depth not in (8, 16):
            raise ValueError(f"bit depth must be 8 or 16, got {self.bit_depth}")
        if self.bit_depth == 16 and self.fmt not in ("png", "tiff"):
            raise ValueError("16-bit export needs PNG or TIFF")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be 1-100, got {self.quality}")

    def target_for(self, photo_path: Path) -> Path:
        folder = Path(self.dest_dir) if self.dest_dir else photo_path.parent
        return folder / f"{photo_path.stem}{self.suffix}{FORMATS[self.fmt]}"

    def free_target_for(self, photo_path: Path) -> Path:
        """``target_for`` or, when that exists, the first free ``name-2``, ``name-3``... beside it."""
        target = self.target_for(photo_path)
        n = 2
        while target.exists():
            target = target.with_name(f"{photo_path.stem}{self.suffix}-{n}{FORMATS[self.fmt]}")
            n += 1
        return target


def resize_long_edge(pixels: np.ndarray, long_edge: int) -> np.ndarray:
    """Antialiased downscale so the long edge is ``long_edge`` (never upscales); keeps dtype."""
    h, w = pixels.shape[:2]
    if not long_edge or max(h, w) <= long_edge:
        return pixels
    import torch
    import torch.nn.functional as F

    s = long_edge / max(h, w)
    size = (max(1, round(h * s)), max(1, round(w * s)))
    scale = 255.0 if pixels.dtype == np.uint8 else 65535.0
    t = torch.from_numpy(np.array(pixels, copy=True)).permute(2, 0, 1)[None].float()
    out = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
    out = out[0].permute(1, 2, 0).round_().clamp_(0, scale).numpy()
    return out.astype(pixels.dtype)


def to_u8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    return (pixels >> 8).astype(np.uint8)


def write_image(path: Path, pixels: np.ndarray, options: ExportOptions, photo=None) -> Path:
    """Write through ``model.imaging.save_photo`` (atomic, never onto the source photo).

    EXIF/ICC come from ``photo`` when ``keep_metadata``; a previous export of ours is replaced.
    """
    from retouch_studio.model.imaging import save_photo

    path.parent.mkdir(parents=True, exist_ok=True)
    keep = options.keep_metadata and photo is not None
    alpha = getattr(photo, "alpha", None)
    if alpha is not None and (alpha.shape != pixels.shape[:2] or options.fmt == "jpg"):
        alpha = None  # resized, or a format without alpha
    return save_photo(
        path,
        pixels,
        options.fmt,
        options.quality,
        exif=photo.exif if keep else None,
        icc=photo.icc if keep else None,
        alpha=alpha,
        bit_depth=options.bit_depth,
        strip_metadata=not options.keep_metadata,
        overwrite=options.existing == "overwrite",
        source=getattr(photo, "path", None),
    )


# ---------------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------------


@dataclass
class ExportItem:
    """One photo to export with a recipe (``model.recipe.Recipe``).

    ``pixels``/``photo`` are given for an open document, else the file is loaded in the job.
    ``predictions`` maps layer ids to the predictions the preview used for *this* photo (so the
    export matches the preview); layers without one are predicted by ``render_recipe``.
    """

    path: Path
    recipe: object
    pixels: np.ndarray | None = None
    photo: object = None
    predictions: dict = field(default_factory=dict)


@dataclass
class ExportFailure:
    path: Path
    message: str


class ExportJob(Job):
    """Export one or more photos; a failure on one photo is recorded and the next one runs.

    ``predictor()`` returns the loaded predictor (for layers that have no prediction yet).
    ``written`` lists the files written, ``failures`` what went wrong where.
    """

    def __init__(self, items: list[ExportItem], options: ExportOptions, predictor: Callable[[], object], title: str = "Export"):
        super().__init__(title)
        self.items = items
        self.options = options
        self.predictor = predictor
        self.written: list[Path] = []
        self.skipped: list[Path] = []
        self.failures: list[ExportFailure] = []

    def run(self, progress) -> list[Path]:
        from retouch_studio.app.worker import Cancelled, readable_error

        total = len(self.items)
        steps = 100  # per photo: decode 10, layers 80, encode 10
        for i, item in enumerate(self.items):
            self.check_cancelled()
            text = f"Exporting {item.path.name} ({i + 1}/{total})"

            def step(fraction: float, i=i, text=text) -> None:
                progress(i * steps + int(fraction * steps), total * steps, text)

            step(0.0)
            try:
                path = self._export_one(item, step)
                (self.written if path is not None else self.skipped).append(path or item.path)
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - collect, report in the summary
                log.info("export of %s failed", item.path, exc_info=True)
                self.failures.append(ExportFailure(item.path, readable_error(exc)))
        progress(total * steps, total * steps, "Done")
        return self.written

    def _export_one(self, item: ExportItem, step=lambda fraction: None) -> Path | None:
        """Write one photo; None when its file exists and the policy is to skip it."""
        from retouch_studio.app.worker import Cancelled
        from retouch_studio.model.imaging import load_photo
        from retouch_studio.model.recipe import render_recipe

        target = self.options.target_for(item.path)
        if target.resolve() == item.path.resolve():
            raise ValueError(f"{target}: refusing to overwrite the original photo")
        if target.exists():
            if self.options.existing == "skip":
                return None
            if self.options.existing == "rename":
                target = self.options.free_target_for(item.path)
        photo, pixels = item.photo, item.pixels
        if pixels is None:
            photo = load_photo(item.path)
            pixels = photo.pixels
        self.check_cancelled()
        step(0.1)
        h, w = pixels.shape[:2]
        # Strokes refer to the recipe's image size (the photo they were painted on); a batch
        # photo of another size gets them scaled proportionally by render_recipe.
        image_size = item.recipe.image_size or (w, h)
        work = resize_long_edge(pixels, self.options.long_edge)
        if self.options.bit_depth == 16 and work.dtype == np.uint8:
            work = work.astype(np.uint16) * 257
        try:
            out = render_recipe(
                work,
                item.recipe,
                lambda layer: self.predictor(),
                predictions=item.predictions,
                image_size=image_size,
                cancelled=lambda: self.cancelled,
                progress=lambda done, n: step(0.1 + 0.8 * done / max(n, 1)),
            )
        except InterruptedError:
            raise Cancelled() from None
        self.check_cancelled()
        step(0.9)
        return write_image(target, out, self.options, photo)

    def summary(self) -> str:
        if self.state == Job.CANCELLED:
            text = f"Cancelled after {len(self.written)} of {len(self.items)} photo(s)."
        elif self.state == Job.FAILED:
            return f"Export failed: {self.error}"
        else:
            text = f"Exported {len(self.written)} of {len(self.items)} photo(s)"
            text += f" to {self.written[0].parent}." if self.written else "."
        if self.skipped:
            text += f" Skipped {len(self.skipped)} that already existed."
        if self.failures:
            text += " Failed: " + "; ".join(f"{f.path.name}: {f.message}" for f in self.failures)
        return text
