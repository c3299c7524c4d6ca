"""Grid constants and the guidance parameters, without torch.

What a predictor returns and the fused CPU kernel consumes are plain arrays; the command line and
the app load this module without the torch ops of ``model.grid.ops`` (see that module for the
conventions these values follow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_CHANNELS = 12
LUMA_709 = (0.2126, 0.7152, 0.0722)
DEFAULT_CURVE_KNOTS = 16


@dataclass(frozen=True)
class GuidanceParams:
    """Guidance map parameters as plain arrays (what a predictor returns and a kernel consumes).

    curves: ``(3, K + 1)`` curve values at knots ``j / K``; mix: ``(3,)``; bias: scalar.
    """

    curves: np.ndarray
    mix: np.ndarray
    bias: float = 0.0

    @staticmethod
    def luminance(knots: int = DEFAULT_CURVE_KNOTS) -> "GuidanceParams":
        line = np.linspace(0.0, 1.0, knots + 1, dtype=np.float32)
        return GuidanceParams(np.stack([line, line, line]), np.asarray(LUMA_709, np.float32), 0.0)

    def tensors(self, dtype=None, device=None):
        """``(curves, mix, bias)`` as torch tensors (float32 unless ``dtype``)."""
        import torch

        dtype = dtype or torch.float32
        return (
            torch.as_tensor(np.asarray(self.curves), dtype=dtype, device=device),
            torch.as_tensor(np.asarray(self.mix), dtype=dtype, device=device),
            torch.as_tensor(float(self.bias), dtype=dtype, device=device),
        )

    def to_dict(self) -> dict:
        return {
            "curves": np.asarray(self.curves, np.float32).tolist(),
            "mix": np.asarray(self.mix, np.float32).tolist(),
            "bias": float(self.bias),
        }

    @staticmethod
    def from_dict(d: dict) -> "GuidanceParams":
        return GuidanceParams(
            np.asarray(d["curves"], np.float32), np.asarray(d["mix"], np.float32), float(d["bias"])
        )

# Edit strength ``s`` of ``A_s = I + s * m * (A - I)``: the range the app's slider offers and the
# command line accepts (0 = unchanged, 1 = as predicted, 2 = twice the edit).
STRENGTH_MIN, STRENGTH_MAX = 0.0, 2.0
