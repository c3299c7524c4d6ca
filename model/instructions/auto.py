"""Auto mode (empty instruction): exposure, white balance and contrast corrections whose strength
follows how far the photo is from well exposed and neutral.

The idea is InstantIR's: adapt to the degradation rather than apply a fixed look. Each correction
measures a deviation and shrinks it by a tolerance (soft threshold): a photo inside the tolerance
gets parameters of zero, a degraded one is brought back to the edge of the tolerance, so intended
looks (a warm interior, a dark night scene) are mostly kept:

* **exposure** -- the trimmed mean luma should sit in ``[MID_LO, MID_HI]``. Brightening needs both a
  dark middle *and* highlight headroom (so a dark scene with bright lights is left alone) and is
  limited so the 99.5th percentile does not clip; darkening needs a bright middle *and* crowded
  highlights (a bright but unclipped high-key scene is left alone).
* **white balance** -- the grey-edge estimate of the illuminant (:func:`estimate_cast`) should be
  grey. Estimates too large to be a cast (abstract, strongly coloured scenes) are left alone.
* **contrast** -- a very narrow luma spread gets ``contrast`` and a very lifted black point gets
  ``blacks``; both thresholds are wide because fog, snow and high-key photos look the same.
"""

from __future__ import annotations

import math

import numpy as np

from retouch_studio.model.grid.guidance import LUMA_709
from retouch_studio.model.params import SPECS, check_params, render_pixels

MID_TARGET, MID_HI = 0.45, 0.56  # trimmed mean of encoded luma: target when brightening, darken above
HEADROOM = 0.96  # 99.5th percentile luma a brightening may reach
EV_TOL = 0.5  # exposure corrections are shrunk by this many EV (small deviations are left alone)
CAST_TOL = 0.08  # |log R/B| of the grey-edge estimate left alone; larger casts are corrected down to it
TINT_TOL = 0.05  # same for |log G/((R+B)/2)|
FLAT_STD = 0.12  # luma standard deviation below which contrast is added
LIFTED_P1 = 0.35  # 1st-percentile luma above which the black point is pulled down
MAX_CAST = 0.4  # a larger 'cast' is more likely the colour of the content


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def _check(proxy: np.ndarray) -> np.ndarray:
    x = np.asarray(proxy, np.float32)
    if x.ndim != 3 or x.shape[2] != 3 or min(x.shape[:2]) < 4:
        raise ValueError(f"proxy must be (h, w, 3) float in [0, 1] with h, w >= 4, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("proxy contains NaN or infinite values")
    # Statistics do not need 512 px: stride down to about 256 px on the long edge.
    step = max(1, max(x.shape[:2]) // 256)
    return np.clip(x[::step, ::step], 0.0, 1.0)


def _luma(x: np.ndarray) -> np.ndarray:
    return x @ np.asarray(LUMA_709, np.float32)


def _smooth(c: np.ndarray) -> np.ndarray:
    """Separable [1, 2, 1] / 4 blur with edge replication (noise suppression before gradients)."""
    p = np.pad(c, 1, mode="edge")
    c = (p[:-2] + 2 * p[1:-1] + p[2:]) / 4
    return (c[:, :-2] + 2 * c[:, 1:-1] + c[:, 2:]) / 4


def estimate_cast(img: np.ndarray, p: float = 6.0) -> tuple[float, float]:
    """Grey-edge colour cast of an image ``(h, w, 3)``: (log R/B, log G/((R+B)/2)) in encoded units.

    The grey-edge hypothesis (van de Weijer et al. 2007): the Minkowski ``p``-mean of image
    gradients is achromatic, so its colour is the illuminant's. It is measured in linear light
    (gamma 2.2) and the log ratios divided by 2.2 to be comparable with encoded-space gains. It
    is far less swayed by the scene's dominant colour (a blue sky, a green field) than grey world.
    """
    lin = np.clip(img, 0.0, 1.0).astype(np.float64) ** 2.2
    e = []
    for c in range(3):
        s = _smooth(lin[..., c])
        gy, gx = np.gradient(s)
        e.append(float((np.hypot(gx, gy) ** p).mean() ** (1 / p)) + 1e-9)
    return math.log(e[0] / e[2]) / 2.2, math.log(2 * e[1] / (e[0] + e[2])) / 2.2


def _wb_params(img: np.ndarray) -> dict:
    rb, g = estimate_cast(img)
    if abs(rb) > MAX_CAST or abs(g) > MAX_CAST / 2:
        return {}  # a "cast" this large is the colour of the content (a sunset, a neon wallpaper)
    out = {}
    rb_fix = math.copysign(max(0.0, abs(rb) - CAST_TOL), rb)
    if rb_fix:
        # model.params white balance: R gain 1 + 0.25 t, B gain 1 - 0.25 t (t = temperature / 100);
        # choose t so that the gains cancel the measured R/B ratio.
        rho = math.exp(rb_fix)
        out["temperature"] = float(np.clip(100 * 4 * (1 - rho) / (1 + rho), -100, 100))
    g_fix = math.copysign(max(0.0, abs(g) - TINT_TOL), g)
    if g_fix:
        # G gain 1 - 0.2 tint (tint / 100) cancels the measured G/(R+B) ratio.
        out["tint"] = float(np.clip(100 * 5 * (1 - math.exp(-g_fix)), -100, 100))
    return out


def _exposure_ev(x: np.ndarray) -> float:
    Y = _luma(x)
    lo, hi = np.percentile(Y, [5, 95])
    mid = float(Y[(Y >= lo) & (Y <= hi)].mean()) if hi > lo else float(Y.mean())
    top = float(np.percentile(Y, 99.5))
    mid = max(mid, 1e-3)
    # Exposure gain on encoded values is 2^(EV/2.2) (see model.params).
    if mid < MID_TARGET and top < HEADROOM:
        ev = min(2.2 * math.log2(MID_TARGET / mid), 2.2 * math.log2(HEADROOM / max(top, 1e-3)))
        return max(0.0, ev - EV_TOL)
    if mid > MID_HI:
        crowded = float((Y > 0.85).mean())
        ev = 2.2 * math.log2(mid / MID_HI) * _ramp(crowded, 0.05, 0.2)
        return -max(0.0, ev - EV_TOL / 2)
    return 0.0


def _contrast_params(x: np.ndarray) -> dict:
    """Only clearly flat photos get contrast: many good photos (fog, snow, high key) have lifted
    blacks and a narrow spread, and a fade cannot be told from them, so the band is wide."""
    Y = _luma(x)
    p1 = float(np.percentile(Y, 1))
    spread = float(Y.std())
    out = {}
    if spread < FLAT_STD:
        out["contrast"] = min(60.0, 600 * (FLAT_STD - spread))
    if p1 > LIFTED_P1:
        out["blacks"] = -min(60.0, 300 * (p1 - LIFTED_P1))
    return out


def _in_range(params: dict) -> dict:
    return {k: float(np.clip(v, SPECS[k].lo, SPECS[k].hi)) for k, v in params.items()}


def _statistics(proxy: np.ndarray) -> dict:
    """Corrections for a proxy ``(h, w, 3)`` float in ``[0, 1]`` -> parameter dict (may be empty)."""
    img = _check(proxy)
    params = _in_range(_wb_params(img))
    x = img.reshape(-1, 3)
    if params:
        x = render_pixels(x[None], params)[0]
    # a black or one-colour photo asks for more than the renderer takes: its limit is the answer
    ev = _in_range({"exposure": _exposure_ev(x)})["exposure"]
    if abs(ev) > 1e-3:
        params["exposure"] = ev
        x = render_pixels(x[None], {"exposure": ev})[0]
    params.update(_contrast_params(x))
    out = {}
    for k, v in params.items():
        spec = SPECS[k]
        v = float(np.clip(v, spec.lo, spec.hi))
        if abs(v) > 1e-3:
            out[k] = round(v, 3)
    return check_params(out)


def photo_corrections(proxy: np.ndarray) -> tuple[dict, float]:
    """(every correction the photo asks for, confidence): the one place auto mode and the items a
    request leaves open ("fix the exposure", "make it look better") get their values.

    The statistics above decide them. The learned estimator (``model/estimator.py``) is not used
    here: on the test photos it changed good photos too much (4 of 9 by more than CIEDE2000 1.5),
    and on the corpus' held-out casts it barely moved the white balance.
    """
    return _statistics(proxy), 1.0


def auto_params(proxy: np.ndarray, attributes: tuple[str, ...] | None = None) -> dict:
    """Corrections for a proxy ``(h, w, 3)`` float in ``[0, 1]`` -> parameter dict (may be empty).

    ``attributes`` restricts them to the named parameters ("fix the exposure": ``("exposure",)``).
    """
    values, _ = photo_corrections(proxy)
    return check_params({k: v for k, v in values.items() if attributes is None or k in attributes})
