"""Photo statistics the per-photo part of a style is predicted from.

They describe what a photographer's per-photo corrections usually respond to: how bright the
photo is (middle, highlights, shadows, spread), its colour cast (grey world and grey edge) and how
colourful it is. All are computed on a copy of about 128 px, so they cost about a millisecond.
"""

from __future__ import annotations

import math

import numpy as np

from retouch_studio.model.grid.guidance import LUMA_709
from retouch_studio.model.instructions.auto import estimate_cast

FEATURE_NAMES = (
    "log2 middle luma",
    "log2 highlight luma (p95)",
    "log2 shadow luma (p5)",
    "luma spread",
    "grey-world log red/green",
    "grey-world log blue/green",
    "grey-edge log red/blue",
    "grey-edge log green",
    "mean chroma",
)
STATS_EDGE = 128


def _small(img: np.ndarray, edge: int = STATS_EDGE) -> np.ndarray:
    h, w = img.shape[:2]
    step = max(1, math.ceil(max(h, w) / edge))
    hh, ww = max(1, h // step), max(1, w // step)
    return img[: hh * step, : ww * step].reshape(hh, step, ww, step, 3).mean((1, 3))


def photo_features(proxy: np.ndarray) -> np.ndarray:
    """``(len(FEATURE_NAMES),)`` float64 statistics of a proxy ``(h, w, 3)`` float in ``[0, 1]``."""
    x = np.clip(_small(np.asarray(proxy, np.float64)), 0.0, 1.0)
    Y = x @ np.asarray(LUMA_709)
    p5, p95 = np.percentile(Y, [5, 95])
    inner = Y[(Y >= p5) & (Y <= p95)]
    mid = float(inner.mean()) if inner.size else float(Y.mean())
    mean_lin = (x**2.2).reshape(-1, 3).mean(0) + 1e-4
    rb, g = estimate_cast(x.astype(np.float32)) if min(x.shape[:2]) >= 3 else (0.0, 0.0)
    return np.array(
        [
            math.log2(mid + 1e-3),
            math.log2(p95 + 1e-3),
            math.log2(p5 + 0.02),
            float(Y.std()),
            math.log(mean_lin[0] / mean_lin[1]) / 2.2,
            math.log(mean_lin[2] / mean_lin[1]) / 2.2,
            rb,
            g,
            float(np.abs(x - Y[..., None]).mean()),
        ]
    )


def box_reduce(img: np.ndarray, edge: int) -> np.ndarray:
    """Box-reduced copy, long edge about ``edge`` (float32)."""
    h, w, _ = img.shape
    s = max(1, math.ceil(max(h, w) / edge))
    hh, ww = max(1, h // s), max(1, w // s)
    return img[: hh * s, : ww * s].reshape(hh, s, ww, s, 3).mean((1, 3), dtype=np.float32)
