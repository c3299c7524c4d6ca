"""Subject (salient object) with U²-Net-p, and the inner features the sky head reads.

One run of the network serves both: the saliency map is its first output, and three of its
64-channel stage outputs (decoder stage 4 at 1/8, encoder stages 5 and 6 at 1/16 and 1/32 of the
320 px input) are exposed as extra outputs and stacked at 40x40 for the sky classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from retouch_studio.model.regions import sessions

_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
FEATURE_EDGE = 40


@dataclass(frozen=True)
class SaliencyResult:
    saliency: np.ndarray  # (320, 320) float32 in [0, 1], the network's own scale (not stretched)
    features: np.ndarray  # (192, 40, 40) float32


def run_u2netp(rgb: np.ndarray) -> SaliencyResult:
    """``rgb`` ``(h, w, 3)`` float32 in ``[0, 1]``, any size (resized to the network's 320x320)."""
    cfg = sessions.config()
    edge = cfg["subject"]["input"]
    names = tuple(cfg["sky"]["features"])
    sess = sessions.session("subject", names)
    im = Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)).resize((edge, edge), Image.Resampling.BILINEAR)
    x = (np.asarray(im, np.float32) / 255.0 - _MEAN) / _STD
    first = sess.get_outputs()[0].name
    outs = sess.run([first, *names], {sess.get_inputs()[0].name: x.transpose(2, 0, 1)[None]})
    feats = []
    for f in outs[1:]:
        f = f[0]
        rep = FEATURE_EDGE // f.shape[1]
        feats.append(f.repeat(rep, 1).repeat(rep, 2) if rep > 1 else f)
    return SaliencyResult(outs[0][0, 0].astype(np.float32), np.concatenate(feats, 0).astype(np.float32))


def resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float plane to ``size`` = (w, h)."""
    return np.asarray(
        Image.fromarray(np.ascontiguousarray(plane, np.float32), mode="F").resize(size, Image.Resampling.BILINEAR),
        np.float32,
    )
