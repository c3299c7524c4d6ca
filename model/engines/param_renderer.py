"""The parameter renderer as an engine: parameters -> a grid fitted to this photo, no network.

It serves auto mode, explicit parameters and the worded edits the router gives it (see
``model.engines.router``); which parameters to render is decided before it is called.
"""

from __future__ import annotations

import numpy as np

from retouch_studio.model.engines.base import Prediction
from retouch_studio.model.grid.guidance import GuidanceParams
from retouch_studio.model.params import SPECS, check_grid_shape, params_to_grid


class ParamRenderer:
    """``predict(proxy, params, plan)``: the proxy-adapted least-squares grid of
    :func:`model.params.params_to_grid` for ``params``, reported with ``plan``."""

    def __init__(self, grid_shape=(8, 16, 16), model_id: str = "params"):
        self.grid_shape = check_grid_shape(grid_shape)
        self.model_id = model_id

    def predict(self, proxy: np.ndarray, params: dict, plan: list) -> Prediction:
        proxy = np.asarray(proxy, np.float32)
        if proxy.ndim != 3 or proxy.shape[2] != 3:
            raise ValueError(f"proxy must be (h, w, 3) float32, got {proxy.shape}")
        grid = params_to_grid(params, self.grid_shape, proxy=proxy)
        return Prediction(grid, GuidanceParams.luminance(), plan, self.model_id, dict(params))


def param_items(params: dict, source: str) -> list[dict]:
    """Plan items (``model.instructions.plan``'s keys) that report explicit or measured parameters."""
    return [
        {
            "attribute": name,
            "direction": 1 if value >= SPECS[name].default else -1,
            "label": f"{value:+g}",
            "amount": float(value),
            "confidence": 1.0,
            "clause": f"{name} {value:+g}",
            "source": source,
        }
        for name, value in params.items()
    ]
