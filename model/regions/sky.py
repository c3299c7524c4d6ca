"""Sky: a linear classifier on U²-Net-p's inner features plus colour and height, trained here.

No sky segmentation network with a licence that allows shipping was found, so the sky is read
from features the subject network computes anyway: 192 channels of U²-Net-p at 40x40 (they know
about texture, smoothness and objects), the cell's CIELAB colour and its height in the frame. The
weights (``sky_head.npz``) were fitted by logistic regression on the development half of the
labelled set in ``benchmarks/data/regions`` (see the model card; the held-out half is only used to
measure). Sky must also reach the top of the frame, or be very sure of itself: reflections in
water and pale walls lower in the picture are dropped that way.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image
from scipy import ndimage

from retouch_studio.model.regions import sessions
from retouch_studio.model.regions.subject import FEATURE_EDGE

# A detached blob is kept only when the classifier is at least this sure of it on average.
DETACHED_MIN_PROB = 0.85


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in ``[0, 1]`` (..., 3) -> CIELAB (D65) (..., 3)."""
    c = np.where(rgb <= 0.04045, rgb / 12.92, ((np.clip(rgb, 0, None) + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = c @ m.T / np.array([0.9505, 1.0, 1.089])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def head_inputs(rgb: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Per-cell inputs of the head: ``(40*40, 192 + 5)`` (features, L a b / 100, height, 1)."""
    n = FEATURE_EDGE
    small = np.asarray(
        Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)).resize((n, n), Image.Resampling.BOX),
        np.float32,
    ) / 255.0
    lab = srgb_to_lab(small).transpose(2, 0, 1) / 100.0
    y = np.broadcast_to(np.linspace(0, 1, n, dtype=np.float32)[:, None], (n, n))[None]
    stack = np.concatenate([features, lab.astype(np.float32), y, np.ones_like(y)], 0)
    return stack.reshape(stack.shape[0], -1).T


@lru_cache(maxsize=1)
def _head() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.load(sessions.model_path("sky"))
    return data["w"].astype(np.float64), data["mu"].astype(np.float64), data["sd"].astype(np.float64)


def sky_probability(rgb: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The head's sky probability per 40x40 cell, before the reach-the-top rule."""
    w, mu, sd = _head()
    z = ((head_inputs(rgb, features) - mu) / sd) @ w
    return (1.0 / (1.0 + np.exp(-z))).reshape(FEATURE_EDGE, FEATURE_EDGE).astype(np.float32)


def keep_sky_blobs(prob: np.ndarray) -> np.ndarray:
    """Zero the blobs that neither touch the top row nor are very sure of themselves."""
    labels, n = ndimage.label(prob > 0.5)
    if n == 0:
        return np.zeros_like(prob)
    top = set(np.unique(labels[0]).tolist()) - {0}
    means = ndimage.mean(prob, labels, index=np.arange(1, n + 1))
    keep = [i + 1 for i in range(n) if (i + 1) in top or means[i] >= DETACHED_MIN_PROB]
    kept = np.isin(labels, keep)
    # Keep the soft rim around each kept blob, so the edge-aware refinement has a gradient to snap.
    rim = ndimage.binary_dilation(kept, iterations=1)
    return np.where(rim, prob, 0.0).astype(np.float32)


def sky_mask(rgb: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Sky probability ``(40, 40)`` float32 after the reach-the-top rule."""
    return keep_sky_blobs(sky_probability(rgb, features))
