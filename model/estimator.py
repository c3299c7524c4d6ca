"""Photo-quality estimator: the corrections a good retoucher would make, from the proxy.

From a downscaled copy of the proxy, hand-made tone and colour statistics (luma percentiles and
histogram, clipping, grey-world / grey-edge / white-patch colour ratios, chroma, local contrast)
feed a small MLP (numpy, weights in ``resources/models/estimator/estimator.npz``) that predicts
the parameters of ``model.params`` that bring the photo to a well exposed, neutral, lively
rendering: exposure, temperature, tint, contrast, blacks, shadows, highlights, saturation.
A second output predicts how far (CIEDE2000) the corrected photo still is from the target; the
confidence is derived from it. The training data, recipe and measured quality are in the model
card next to the weights.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np

OUTPUTS = ("exposure", "temperature", "tint", "contrast", "blacks", "shadows", "highlights", "saturation")
# Largest correction the estimator may propose per parameter (tanh output scale).
SCALE = np.array([2.5, 60.0, 50.0, 60.0, 60.0, 80.0, 80.0, 90.0], np.float32)
FEATURE_EDGE = 128
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
_PCT = (1, 5, 10, 25, 50, 75, 90, 95, 99)


def _downscale(proxy: np.ndarray, edge: int = FEATURE_EDGE) -> np.ndarray:
    x = np.asarray(proxy, np.float32)
    h, w = x.shape[:2]
    f = int(max(1, min(max(h, w) // edge, min(h, w))))  # a 2 x 700 strip keeps at least one row
    if f > 1:
        h2, w2 = h // f * f, w // f * f
        x = x[:h2, :w2].reshape(h2 // f, f, w2 // f, f, 3).mean((1, 3))
    return np.clip(x, 0.0, 1.0)


def _grey_edge(lin: np.ndarray, p: float = 6.0) -> np.ndarray:
    gy = np.abs(np.diff(lin, axis=0)).reshape(-1, 3)
    gx = np.abs(np.diff(lin, axis=1)).reshape(-1, 3)
    g = np.concatenate([gx, gy])
    if not len(g):  # a single pixel has no edges: no colour evidence either way
        return np.full(3, 1e-6)
    return (g**p).mean(0) ** (1 / p) + 1e-6


def features(proxy: np.ndarray) -> np.ndarray:
    """Statistics of a proxy ``(h, w, 3)`` float in ``[0, 1]`` -> ``(N_FEATURES,)`` float32."""
    x = _downscale(proxy)
    px = x.reshape(-1, 3)
    Y = px @ _LUMA
    lin = x**2.2
    f = []
    pct = np.percentile(Y, _PCT)
    f += list(pct)
    f += [float(Y.mean()), float(Y.std()), float((Y < 0.03).mean()), float((Y > 0.97).mean()),
          float((px.max(1) > 0.99).mean())]
    hist = np.histogram(Y, bins=12, range=(0.0, 1.0))[0] / Y.size
    f += list(hist)
    eps = 1e-4
    means = lin.reshape(-1, 3).mean(0) + eps
    edge = _grey_edge(lin)
    white = np.percentile(lin.reshape(-1, 3), 98, axis=0) + eps
    for trip in (means, edge, white):
        f += [math.log(trip[0] / trip[2]), math.log(2 * trip[1] / (trip[0] + trip[2]))]
    # Colour of the darkest and brightest tenth (casts often differ between shadows and lights).
    lo, hi = np.percentile(Y, [10, 90])
    for sel in (Y <= lo, Y >= hi):
        m = lin.reshape(-1, 3)[sel].mean(0) + eps if sel.any() else np.ones(3)
        f += [math.log(m[0] / m[2]), math.log(2 * m[1] / (m[0] + m[2]))]
    chroma = px - Y[:, None]
    c = np.sqrt((chroma**2).sum(1))
    f += [float(c.mean()), float(np.percentile(c, 50)), float(np.percentile(c, 90)), float(np.percentile(c, 99))]
    f += [float(px.min(1).mean()), float(np.percentile(px.min(1), 5))]  # dark channel: haze, fade
    Yi = Y.reshape(x.shape[:2])
    grad = sum(float(np.abs(np.diff(Yi, axis=a)).mean()) for a in (0, 1) if Yi.shape[a] > 1)
    f += [float(grad), float(np.log(grad + 1e-4))]
    return np.asarray(f, np.float32)


N_FEATURES = len(features(np.full((8, 8, 3), 0.5, np.float32)))


# ---- the network ---------------------------------------------------------------------------------

WEIGHTS = Path(__file__).resolve().parents[1] / "resources" / "models" / "estimator" / "estimator.npz"
# Predicted remaining CIEDE2000 (the second output) at which the confidence is 1/e.
CONFIDENCE_DE = 5.0
_lock = threading.Lock()
_net: dict | None = None


class Estimate:
    """Corrections for one photo: ``params`` (model.params names) and ``confidence`` in [0, 1]."""

    __slots__ = ("params", "confidence", "remaining_de")

    def __init__(self, params: dict, confidence: float, remaining_de: float):
        self.params = params
        self.confidence = confidence
        self.remaining_de = remaining_de

    def __repr__(self) -> str:
        return f"Estimate({self.params}, confidence={self.confidence:.2f})"


def _load(path: Path = WEIGHTS) -> dict:
    global _net
    if _net is None:
        with _lock:
            if _net is None:
                try:
                    with np.load(path) as z:
                        net = {k: z[k] for k in z.files}
                except OSError as exc:
                    raise RuntimeError(f"{path}: cannot load the photo-quality estimator ({exc})") from exc
                if tuple(str(o) for o in net["outputs"]) != OUTPUTS or net["mu"].shape != (N_FEATURES,):
                    raise RuntimeError(f"{path}: estimator weights do not match this program's features")
                _net = net
    return _net


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def estimate_corrections(proxy: np.ndarray) -> Estimate:
    """The corrections a good retoucher would make to ``proxy`` ``(h, w, 3)`` float in ``[0, 1]``."""
    x = np.asarray(proxy, np.float32)
    if x.ndim != 3 or x.shape[2] != 3 or min(x.shape[:2]) < 1:
        raise ValueError(f"proxy must be (h, w, 3) float in [0, 1], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("proxy contains NaN or infinite values")
    net = _load()
    h = (features(x) - net["mu"]) / net["sd"]
    i = 0
    while f"w{i + 1}" in net:
        h = _gelu(h @ net[f"w{i}"] + net[f"b{i}"])
        i += 1
    out = h @ net[f"w{i}"] + net[f"b{i}"]
    values = np.tanh(out[:8]) * net["scale"]
    remaining = float(np.logaddexp(0.0, out[8]))  # softplus, as trained
    params = {name: round(float(v), 3 if name == "exposure" else 1) for name, v in zip(OUTPUTS, values)}
    return Estimate(params, float(math.exp(-remaining / CONFIDENCE_DE)), remaining)


__all__ = ["Estimate", "FEATURE_EDGE", "N_FEATURES", "OUTPUTS", "estimate_corrections", "features"]
