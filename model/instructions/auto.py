"""Auto mode (empty instruction) and every item a request leaves to the photo.

Tone and saturation come from the photo-quality estimator (:mod:`retouch_studio.model.estimator`),
a small network trained on real under- and over-exposures (SICE) and on fades, flat and dull
renderings of real photos, whose targets are the photos' own renderings, so a photo that needs
nothing gets (nearly) nothing. White balance comes from the grey-edge estimate of the illuminant
(:func:`estimate_cast`): on the held-out casts the estimator barely moved the white balance, and
grey edge removes most of a cast while leaving scenes whose colour is their content alone.
"""

from __future__ import annotations

import math

import numpy as np

from retouch_studio.model.estimator import estimate_corrections
from retouch_studio.model.params import check_params

# Corrections smaller than these are dropped (the default: 20 on the -100..100 sliders): a dead
# zone below what a retoucher would bother with, so a good photo is left alone.
MIN_CHANGE = {"exposure": 0.15}
MIN_SLIDER = 20.0
CAST_TOL = 0.08  # |log R/B| of the grey-edge estimate left alone; larger casts are corrected down to it
TINT_TOL = 0.05  # same for |log G/((R+B)/2)|
MAX_CAST = 0.4  # a larger 'cast' is more likely the colour of the content
BALANCE = ("temperature", "tint")


def _smooth(c: np.ndarray) -> np.ndarray:
    """Separable [1, 2, 1] / 4 blur with edge replication (noise suppression before gradients)."""
    p = np.pad(c, 1, mode="edge")
    c = (p[:-2] + 2 * p[1:-1] + p[2:]) / 4
    return (c[:, :-2] + 2 * c[:, 1:-1] + c[:, 2:]) / 4


def estimate_cast(img: np.ndarray, p: float = 6.0) -> tuple[float, float]:
    """Grey-edge colour cast of an image ``(h, w, 3)``: (log R/B, log G/((R+B)/2)) in encoded units.

    The grey-edge hypothesis (van de Weijer et al. 2007): the Minkowski ``p``-mean of image
    gradients is achromatic, so its colour is the illuminant's. Measured in linear light (gamma
    2.2), the log ratios divided by 2.2 to be comparable with encoded-space gains.
    """
    x = np.asarray(img, np.float32)
    step = max(1, max(x.shape[:2]) // 256)
    lin = np.clip(x[::step, ::step], 0.0, 1.0).astype(np.float64) ** 2.2
    if min(lin.shape[:2]) < 2:
        return 0.0, 0.0
    e = []
    for c in range(3):
        s = _smooth(lin[..., c])
        gy, gx = np.gradient(s)
        e.append(float((np.hypot(gx, gy) ** p).mean() ** (1 / p)) + 1e-9)
    return math.log(e[0] / e[2]) / 2.2, math.log(2 * e[1] / (e[0] + e[2])) / 2.2


def white_balance(img: np.ndarray) -> dict:
    """Temperature and tint that cancel the grey-edge cast beyond its tolerance (may be empty)."""
    rb, g = estimate_cast(img)
    if abs(rb) > MAX_CAST or abs(g) > MAX_CAST / 2:
        return {}  # a "cast" this large is the colour of the content (a sunset, a neon wallpaper)
    out = {}
    rb_fix = math.copysign(max(0.0, abs(rb) - CAST_TOL), rb)
    if rb_fix:
        # model.params white balance: R gain 1 + 0.25 t, B gain 1 - 0.25 t (t = temperature / 100).
        rho = math.exp(rb_fix)
        out["temperature"] = float(np.clip(100 * 4 * (1 - rho) / (1 + rho), -100, 100))
    g_fix = math.copysign(max(0.0, abs(g) - TINT_TOL), g)
    if g_fix:
        # G gain 1 - 0.2 tint (tint / 100) cancels the measured G/(R+B) ratio.
        out["tint"] = float(np.clip(100 * 5 * (1 - math.exp(-g_fix)), -100, 100))
    return out


def photo_corrections(proxy: np.ndarray) -> tuple[dict, float]:
    """(every correction the photo asks for, confidence): the one place auto mode and the items a
    request leaves open get their values. Small corrections are already dropped."""
    est = estimate_corrections(proxy)
    values = {k: v for k, v in est.params.items() if k not in BALANCE}
    values.update(white_balance(proxy))
    out = {}
    for name, value in values.items():
        if abs(value) >= MIN_CHANGE.get(name, MIN_SLIDER) or name in BALANCE and abs(value) > 1e-3:
            out[name] = round(float(value), 3 if name == "exposure" else 1)
    return out, est.confidence


def auto_params(proxy: np.ndarray, attributes: tuple[str, ...] | None = None) -> dict:
    """Corrections for a proxy ``(h, w, 3)`` float in ``[0, 1]`` -> parameter dict (may be empty).

    ``attributes`` restricts them to the named parameters ("fix the exposure": ``("exposure",)``).
    """
    values, _ = photo_corrections(proxy)
    return check_params({k: v for k, v in values.items() if attributes is None or k in attributes})


__all__ = ["MIN_CHANGE", "MIN_SLIDER", "auto_params", "estimate_cast", "photo_corrections", "white_balance"]
