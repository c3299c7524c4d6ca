"""The Python API for scripts and notebooks: open a photo, ask for an edit, apply it, save it.

::

    from retouch_studio.model import api

    photo = api.open_photo("shoot/IMG_0042.jpg")
    edit = api.edit(photo, "warmer, lift the shadows")       # or params={"exposure": 0.7}; "" = auto
    print(edit.plan)                                          # what was understood
    pixels = edit.apply(strength=0.7, mask=None)              # full resolution, the photo's dtype
    api.save(photo, pixels, "out/IMG_0042.jpg")               # EXIF and colour profile travel along
    api.plan("a bit warmer but not too bright")               # the router's decision, no photo needed

The edit is predicted once on a 512 px proxy (a resolution-independent bilateral grid) and
applied at any strength or mask without running the model again. These names stay stable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from retouch_studio.model.engines.base import Prediction
from retouch_studio.model.engines.loader import load_predictor, read_policy
from retouch_studio.model.engines.retoucher import Retoucher
from retouch_studio.model.engines.router import Route, params_route, route
from retouch_studio.model.imaging import Photo, load_photo, make_proxy, save_photo
from retouch_studio.model.pipeline import apply_prediction

PROXY_EDGE = 512

__all__ = ["Edit", "edit", "load_model", "open_photo", "plan", "save"]


def open_photo(path: str | os.PathLike) -> Photo:
    """Decode a photo (JPEG, PNG, TIFF, WebP, camera RAW) into sRGB pixels, upright.

    Raises ``PhotoError`` (missing, corrupt, unsupported, too large) naming the file.
    """
    return load_photo(path)


@lru_cache(maxsize=4)
def load_model(model_dir: str | os.PathLike | None = None) -> Retoucher:
    """The model in ``model_dir`` (default: the shipped one), loaded once per process."""
    return load_predictor(Path(model_dir) if model_dir is not None else None)


def plan(text: str) -> Route:
    """How ``text`` would be served: ``kind`` (auto, param, plan), ``items`` (the attributes
    understood), ``params`` (explicit values) and ``refused`` (why a content edit is refused)."""
    return route(text, read_policy())


@dataclass(frozen=True)
class Edit:
    """A predicted edit of one photo; apply it as often as you like, at any strength and mask."""

    photo: Photo
    prediction: Prediction = field(repr=False)
    instruction: str

    @property
    def plan(self) -> list[dict]:
        """What was understood (attribute, direction, amount...), for display."""
        return self.prediction.plan

    def apply(self, strength: float = 1.0, mask: np.ndarray | None = None) -> np.ndarray:
        """The edited pixels at full resolution, same dtype and shape as ``photo.pixels``.

        strength: 0 = no change, 1 = as predicted (values above 1 exaggerate).
        mask: ``(H, W)`` float in ``[0, 1]`` (1 = full edit) at the photo's size, or None.
        """
        if mask is not None:
            mask = np.asarray(mask, np.float32)
            if mask.shape != self.photo.pixels.shape[:2]:
                raise ValueError(f"mask must be {self.photo.pixels.shape[:2]} (the photo's height, width), got {mask.shape}")
        return apply_prediction(self.photo.pixels, self.prediction, float(strength), mask)


def edit(
    photo: Photo,
    instruction: str = "",
    *,
    params: dict | None = None,
    model: str | os.PathLike | None = None,
) -> Edit:
    """Predict the edit of ``instruction`` (words, or ``"exposure +0.7, shadows +30"``; empty =
    auto mode), or of explicit ``params`` (``{"exposure": 0.7}``, see ``model.params.PARAMS``).

    Raises ``ContentEditError`` for content edits ("remove the person") and ValueError for
    unknown or out-of-range parameters.
    """
    if params is not None and instruction:
        raise ValueError("give an instruction or params, not both")
    predictor = load_model(model)
    r = params_route(params) if params is not None else predictor.route(instruction)
    prediction = predictor.predict(make_proxy(photo.pixels, PROXY_EDGE), r)
    return Edit(photo, prediction, r.text)


def save(photo: Photo, pixels: np.ndarray, path: str | os.PathLike, *, quality: int = 95,
         overwrite: bool = False) -> Path:
    """Write ``pixels`` (an edit of ``photo``) to ``path``, format from the suffix, atomically;
    ``photo``'s EXIF, colour profile and alpha travel along. Never writes over the original."""
    return save_photo(path, pixels, quality=quality, alpha=photo.alpha, exif=photo.exif, icc=photo.icc,
                      source=photo.path, overwrite=overwrite)
