"""The runtime interface every engine implements: proxy + instruction -> grid + guidance.

A *model folder* holds ``config.json`` with an ``"engine"`` key naming the implementation, plus
whatever weights that engine needs. ``load_predictor(None)`` loads the shipped default model from
``resources/``. The GUI, ``retouch apply`` and ``retouch batch`` all go through
:func:`load_predictor` and :meth:`Predictor.predict`, then ``model.pipeline`` applies the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from retouch_studio.model.grid.guidance import GuidanceParams

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEFAULT_MODEL_DIR = RESOURCES / "models" / "default"


class ModelError(RuntimeError):
    """A model folder is missing, incomplete or of an unknown engine."""


@dataclass(frozen=True)
class Prediction:
    """What an engine returns for one (proxy, instruction).

    grid: ``(12, D, Gh, Gw)`` float32 (see ``model.grid`` for the layout).
    guidance: the guidance curves/mix the grid was predicted for.
    plan: the attributes the engine understood (list of dicts), for display; may be empty.
    params: the parameter values the renderer used (``model.params`` names) when the edit is
    parametric (param mode, auto mode, worded edits the params engine served); empty for a
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


_ENGINES: dict[str, Callable[[Path, dict], Predictor]] = {}


def register_engine(name: str):
    """Decorator: register ``factory(model_dir, config) -> Predictor`` under ``name``."""

    def wrap(factory):
        _ENGINES[name] = factory
        return factory

    return wrap


# Engines live in their own modules and register themselves on import; only the engine a model
# folder names is imported (the paper engine would load torch and transformers).
ENGINE_MODULES = {
    "compact": "retouch_studio.model.engines.compact_engine",
    "params": "retouch_studio.model.params",
    "paper": "retouch_studio.model.paper.runtime",
}


def _import_engine(engine: str) -> None:
    import importlib

    name = ENGINE_MODULES.get(engine)
    if name is None:
        return
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not name.startswith(exc.name):
            raise


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


def load_predictor(model_dir: str | Path | None = None) -> Predictor:
    """Load the engine described by ``model_dir/config.json`` (default: the shipped model)."""
    model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    config = read_config(model_dir)
    engine = config.get("engine")
    _import_engine(engine)
    if engine not in _ENGINES:
        raise ModelError(
            f"{model_dir}: unknown engine {engine!r} (known: {', '.join(sorted(ENGINE_MODULES))})"
        )
    return ParamRouting(_ENGINES[engine](model_dir, config))


class ParamRouting:
    """Wraps an engine so explicit parameters ("exposure +0.7, shadows +30") always take param
    mode: exact values are rendered analytically, never re-interpreted by a network; and an empty
    instruction is auto mode (``model.instructions.auto_params``: corrections that follow how far
    the photo is from well exposed and neutral), whatever the engine."""

    def __init__(self, engine: Predictor):
        self.engine = engine
        self.model_id = engine.model_id
        self._params: Predictor | None = None

    def predict(self, proxy: np.ndarray, instruction: str) -> Prediction:
        try:
            from retouch_studio.model.params import ParamsPredictor, looks_like_params
        except ImportError:
            return self.engine.predict(proxy, instruction)
        from retouch_studio.model.style.reference import split_style_reference

        if split_style_reference(instruction)[0] is not None:
            # A learned style ("style: NAME[, words]"); its words come back here.
            from retouch_studio.model.style.predictor import predict_with_style

            return predict_with_style(proxy, instruction, self.predict)
        if not instruction.strip() or looks_like_params(instruction):
            if self._params is None:
                self._params = ParamsPredictor(tuple(self.engine_grid_shape()))
            return self._params.predict(proxy, instruction)
        return self.engine.predict(proxy, instruction)

    def engine_grid_shape(self) -> tuple[int, int, int]:
        shape = getattr(self.engine, "grid_shape", None) or getattr(self.engine, "shape", None)
        return tuple(shape) if shape is not None else (8, 16, 16)

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    @property  # type: ignore[misc]
    def __class__(self):
        # A transparent proxy: isinstance() checks see the wrapped engine's class.
        return type(self.engine)
