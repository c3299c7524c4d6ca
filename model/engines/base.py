"""What every engine shares: the prediction it returns, the protocol it implements, its error.

An engine turns a proxy of the photo and an instruction into a bilateral grid and the guidance
it is sliced with; ``model.pipeline`` applies the grid at any resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from retouch_studio.model.grid.guidance import GuidanceParams


class ModelError(RuntimeError):
    """A model folder is missing, incomplete or of an unknown engine."""


@dataclass(frozen=True)
class Prediction:
    """What an engine returns for one (proxy, instruction).

    grid: ``(12, D, Gh, Gw)`` float32 (see ``model.grid`` for the layout).
    guidance: the guidance curves/mix the grid was predicted for.
    plan: the attributes the engine understood (list of dicts), for display; may be empty.
    params: the parameter values the renderer used (``model.params`` names) when the edit is
    parametric (param mode, auto mode, worded edits the parameter renderer served); empty for a
    learned edit.
    """

    grid: np.ndarray
    guidance: GuidanceParams
    plan: list = field(default_factory=list)
    model_id: str = ""
    params: dict = field(default_factory=dict)


class Predictor(Protocol):
    model_id: str

    def predict(self, proxy: np.ndarray, instruction: str) -> Prediction:
        """proxy: ``(h, w, 3)`` float32 sRGB in ``[0, 1]``, long edge <= 512."""
        ...


def read_config(model_dir: str | Path) -> dict:
    model_dir = Path(model_dir)
    cfg_path = model_dir / "config.json"
    if not model_dir.is_dir():
        raise ModelError(f"model folder {model_dir} does not exist")
    if not cfg_path.is_file():
        raise ModelError(f"model folder {model_dir} has no config.json")
    from retouch_studio.model.schema import ModelConfigSchema, SchemaError, read_json, validate

    try:
        config = read_json(cfg_path, "model config")
        validate(ModelConfigSchema, config, str(cfg_path))
    except SchemaError as exc:
        raise ModelError(str(exc)) from None
    return config
