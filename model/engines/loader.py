"""Loading a model folder: ``config.json`` names the engine, :func:`load_predictor` builds it.

A *model folder* holds ``config.json`` with an ``"engine"`` key naming the implementation, plus
whatever weights that engine needs; ``"engine": "params"`` is the parameter renderer alone.
``load_predictor(None)`` loads the shipped default model from ``resources/``. The GUI,
``retouch apply``, ``batch`` and ``export-lut`` all go through :func:`load_predictor` and
:meth:`Retoucher.predict`, then ``model.pipeline`` applies the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from retouch_studio.model.engines.base import ModelError, Predictor, read_config
from retouch_studio.model.engines.param_renderer import ParamRenderer
from retouch_studio.model.engines.retoucher import Retoucher
from retouch_studio.model.engines.router import RoutingPolicy

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEFAULT_MODEL_DIR = RESOURCES / "models" / "default"
DEFAULT_GRID_SHAPE = (8, 16, 16)


_ENGINES: dict[str, Callable[[Path, dict], Predictor]] = {}


def register_engine(name: str):
    """Decorator: register ``factory(model_dir, config) -> Predictor`` under ``name`` (an engine
    from outside this package; the built-in ones are :func:`_built_in`)."""

    def wrap(factory):
        _ENGINES[name] = factory
        return factory

    return wrap


def _built_in(engine: str) -> Callable[[Path, dict], Predictor] | None:
    """The factory of a learned engine that ships with the package; imported only when used."""
    if engine == "compact":
        from retouch_studio.model.engines.compact_engine import CompactPredictor

        return lambda model_dir, config: CompactPredictor(model_dir)
    if engine == "paper":
        from retouch_studio.model.paper.runtime import PaperPredictor

        return PaperPredictor
    return None




def read_policy(model_dir: str | Path | None = None) -> RoutingPolicy:
    """How the folder's instructions are routed, read from its ``config.json`` alone (no weights load)."""
    return RoutingPolicy.from_config(read_config(model_dir if model_dir is not None else DEFAULT_MODEL_DIR))


def load_predictor(model_dir: str | Path | None = None) -> Retoucher:
    """Load the model described by ``model_dir/config.json`` (default: the shipped model)."""
    model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    config = read_config(model_dir)
    engine = config.get("engine")
    factory = _ENGINES.get(engine) or _built_in(engine)
    if factory is None and engine != "params":
        known = ", ".join(sorted([*_ENGINES, "compact", "paper", "params"]))
        raise ModelError(f"{model_dir}: unknown engine {engine!r} (known: {known})")
    policy = RoutingPolicy.from_config(config)
    if not policy.learned:
        return load_renderer(config.get("grid_shape", DEFAULT_GRID_SHAPE), str(config.get("model_id", "params")))
    learned = factory(model_dir, config)
    # Worded edits routed to the renderer use the learned engine's grid, as the evaluation that
    # chose the routing measured them; auto mode and explicit parameters use the renderer's own.
    renderer_id = f"{learned.model_id}+params"
    plan_shape = getattr(learned, "grid_shape", None) or DEFAULT_GRID_SHAPE
    return Retoucher(learned, policy, ParamRenderer(DEFAULT_GRID_SHAPE, renderer_id), ParamRenderer(plan_shape, renderer_id))


def load_renderer(grid_shape=DEFAULT_GRID_SHAPE, model_id: str = "params") -> Retoucher:
    """The parameter renderer alone behind the router: what an ``"engine": "params"`` folder loads."""
    return Retoucher(None, RoutingPolicy(learned=False), ParamRenderer(grid_shape, model_id))
