"""Param mode: a parametric photo-finishing renderer written in bilateral space.

Views of the same edit:

* :func:`render_pixels` -- the ground truth, applied pixel by pixel to an sRGB image.
* :func:`params_to_grid` -- the same edit as a bilateral grid ``(12, D, Gh, Gw)`` of 3x4 affine
  colour transforms for the default luminance guidance (see ``model.grid``); no network.
* :func:`render` -- the same renderer over batches of colours, on numpy arrays (no torch needed)
  or on torch tensors (differentiable).
* :func:`params_grid_torch` -- a differentiable batched version over normalised parameter vectors,
  used to make training targets and to let a network predict parameters.

Why the grid can reproduce the renderer
---------------------------------------
The renderer is built from operations that, for a fixed input luma ``Y`` (the guidance), are affine
in the input colour: tone operations map luma through a curve ``T(Y)`` and scale the chroma
``x - Y`` by a function of ``Y``; white balance, saturation, black & white and split toning are
luma-preserving affine maps. A chain of such operations is ``M(Y) x + c(Y)``, which a grid with a
luminance guide represents up to interpolation along the guidance axis, and vignetting is a smooth
spatial gain carried by the grid's spatial cells. Working values stay unclipped through the chain;
the final clip to ``[0, 1]`` happens in both paths.

What is *not* affine for a fixed luma: vibrance (depends on saturation), the per-hue HSL sliders
(depend on hue) and hue-dependent luminance changes. For those the grid is a **least-squares fit**:
each depth node's 3x4 matrix minimises the squared error over a colour sample, weighted by the
trilinear (hat) weights the slice will use. Without a photo the sample is a fixed set of probe
colours spanning the gamut (:func:`params_grid_torch`); with a ``proxy`` the sample is the photo's
own pixels plus a light probe prior (:func:`params_to_grid`), so the fit spends its freedom on the
colours the photo actually has. When such a colour-dependent parameter is active, the proxy fit
goes one step further and fits every spatial cell to the colours it holds (weighted by the slice's
own bilinear weights): a cell rarely holds many hues at one luma.
``tests/test_params.py`` measures the CIEDE2000 error of these fits.

Parameter vector
----------------
:func:`params_to_vector` maps a parameter dict to a float32 vector of length ``len(PARAMS)`` in the
order of :data:`PARAMS`. Each entry is piecewise linear: ``0`` is the default (no change), ``+1`` the
upper limit, ``-1`` the lower limit; parameters whose default is their lower limit (amounts, hues,
black & white, fade) live in ``[0, 1]``. Hues are degrees in ``[0, 360]`` mapped to ``[0, 1]`` (the
wrap-around is not continuous; hues only matter when their amount is non-zero).
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from retouch_studio.model.array_ops import ArrayOps
from retouch_studio.model.grid.guidance import LUMA_709

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class ParamSpec:
    name: str
    lo: float
    hi: float
    default: float
    help: str


HUES = ("reds", "oranges", "yellows", "greens", "aquas", "blues", "purples", "magentas")
# Hue-band centres in degrees on the opponent hue circle (red 0, yellow 60, green 120, cyan 180,
# blue 240, magenta 300), roughly where Lightroom's HSL panel puts them.
HUE_CENTRES = (0.0, 30.0, 60.0, 120.0, 180.0, 240.0, 270.0, 315.0)

PARAMS: list[ParamSpec] = [
    ParamSpec("exposure", -3.0, 3.0, 0.0, "exposure in EV (stops), applied to gamma-2.2 linear light with a soft highlight shoulder"),
    ParamSpec("contrast", -100.0, 100.0, 0.0, "mid-tone contrast (S-curve about middle grey)"),
    ParamSpec("highlights", -100.0, 100.0, 0.0, "brighten (+) or recover (-) the upper tones"),
    ParamSpec("shadows", -100.0, 100.0, 0.0, "lift (+) or deepen (-) the lower tones"),
    ParamSpec("whites", -100.0, 100.0, 0.0, "move the white end of the tone curve"),
    ParamSpec("blacks", -100.0, 100.0, 0.0, "move the black end of the tone curve (+ lifts, - crushes)"),
    ParamSpec("temperature", -100.0, 100.0, 0.0, "white balance: + warmer (amber), - cooler (blue)"),
    ParamSpec("tint", -100.0, 100.0, 0.0, "white balance: + magenta, - green"),
    ParamSpec("saturation", -100.0, 100.0, 0.0, "saturation of all colours; -100 is greyscale"),
    ParamSpec("vibrance", -100.0, 100.0, 0.0, "saturation that favours muted colours"),
]
for _hue in HUES:
    PARAMS += [
        ParamSpec(f"{_hue}_hue", -100.0, 100.0, 0.0, f"shift the hue of {_hue} (+-100 = +-30 degrees)"),
        ParamSpec(f"{_hue}_sat", -100.0, 100.0, 0.0, f"saturation of {_hue}"),
        ParamSpec(f"{_hue}_lum", -100.0, 100.0, 0.0, f"luminance of {_hue}"),
    ]
PARAMS += [
    ParamSpec("s_curve", -100.0, 100.0, 0.0, "tone-curve S shape with fixed end points (+ punchy, - flat)"),
    ParamSpec("fade", 0.0, 100.0, 0.0, "matte / faded look: lifts the black point, lowers the white point"),
    ParamSpec("split_shadow_hue", 0.0, 360.0, 0.0, "split toning: hue (degrees) tinting the shadows"),
    ParamSpec("split_shadow_amount", 0.0, 100.0, 0.0, "split toning: strength of the shadow tint"),
    ParamSpec("split_highlight_hue", 0.0, 360.0, 0.0, "split toning: hue (degrees) tinting the highlights"),
    ParamSpec("split_highlight_amount", 0.0, 100.0, 0.0, "split toning: strength of the highlight tint"),
    ParamSpec("bw", 0.0, 100.0, 0.0, "black & white conversion amount (100 = monochrome)"),
    ParamSpec("vignette", -100.0, 100.0, 0.0, "darken (-) or lighten (+) the corners"),
    ParamSpec("contrast_pivot", 0.05, 0.95, 0.5, "encoded luma the contrast curve turns about (0.5 = middle grey)"),
]
del _hue

PARAM_NAMES = [p.name for p in PARAMS]
SPECS = {p.name: p for p in PARAMS}
NUM_PARAMS = len(PARAMS)
_INDEX = {n: i for i, n in enumerate(PARAM_NAMES)}

# Extra spellings accepted by parse_params (normalised: lower case, '_' for spaces and dashes).
_ALIASES = {
    "ev": "exposure", "exp": "exposure", "brightness": "exposure",
    "temp": "temperature", "white_balance": "temperature", "wb": "temperature",
    "sat": "saturation", "vib": "vibrance", "vig": "vignette",
    "black_and_white": "bw", "b&w": "bw", "b_w": "bw", "monochrome": "bw", "grayscale": "bw",
    "greyscale": "bw", "matte": "fade", "scurve": "s_curve", "curve": "s_curve",
    "highlight": "highlights", "shadow": "shadows", "white": "whites", "black": "blacks",
}
for _hue in HUES:
    for _stem in {_hue, _hue[:-1]}:
        for _short, _full in (("hue", "hue"), ("sat", "sat"), ("saturation", "sat"),
                              ("lum", "lum"), ("luminance", "lum")):
            _ALIASES[f"{_stem}_{_short}"] = f"{_hue}_{_full}"
del _hue, _stem, _short, _full


def resolve_name(name: str) -> str:
    """Canonical parameter name for ``name`` (aliases, case, spaces); ValueError if unknown."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    if key in SPECS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    close = difflib.get_close_matches(key, PARAM_NAMES + list(_ALIASES), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise ValueError(f"unknown parameter {name.strip()!r}{hint}; known: {', '.join(PARAM_NAMES)}")


def check_params(params: dict) -> dict:
    """Canonicalise names and check ranges; returns a new dict of floats."""
    out: dict[str, float] = {}
    for name, value in params.items():
        key = resolve_name(name)
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"parameter {key}: value {value!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"parameter {key}: value {value!r} is not finite")
        spec = SPECS[key]
        if not spec.lo <= v <= spec.hi:
            raise ValueError(f"parameter {key}={v:g} is out of range [{spec.lo:g}, {spec.hi:g}]")
        out[key] = v
    return out


_ITEM = re.compile(
    r"^\s*(?P<name>[a-z&][a-z&_\s\-]*?)\s*[:=]?\s*(?P<value>[+\-]?(?:\d+\.?\d*|\.\d+))\s*(?:ev|%|°|deg)?\s*$",
    re.IGNORECASE,
)


def parse_params(text: str) -> dict:
    """Parse ``"exposure +0.7, temperature -10, shadows +30"`` into ``{name: value}``.

    Items are separated by commas, semicolons or new lines; ``name value``, ``name=value`` and
    ``name: value`` all work. Raises ValueError naming the bad item, unknown names (with
    suggestions) and out-of-range values.
    """
    if not isinstance(text, str):
        raise TypeError("parse_params() takes a string")
    items = [s for s in re.split(r"[,;\n]", text) if s.strip()]
    if not items:
        raise ValueError("no parameters given")
    raw: dict[str, float] = {}
    for item in items:
        m = _ITEM.match(item)
        if not m:
            raise ValueError(f"cannot read parameter item {item.strip()!r}: expected 'name value'")
        key = resolve_name(m.group("name"))
        if key in raw:
            raise ValueError(f"parameter {key} given twice")
        raw[key] = float(m.group("value"))
    return check_params(raw)


def looks_like_params(text: str) -> bool:
    """True when every item of ``text`` is ``<known parameter> <number>`` (param mode)."""
    items = [s for s in re.split(r"[,;\n]", text or "") if s.strip()]
    if not items:
        return False
    for item in items:
        m = _ITEM.match(item)
        if not m:
            return False
        try:
            resolve_name(m.group("name"))
        except ValueError:
            return False
    return True


def format_params(params: dict) -> str:
    """Inverse of :func:`parse_params` for the non-default entries, in :data:`PARAMS` order."""
    parts = []
    for spec in PARAMS:
        v = params.get(spec.name, spec.default)
        if abs(v - spec.default) > 1e-9:
            parts.append(f"{spec.name} {v:+.3g}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# Normalised vectors
# --------------------------------------------------------------------------------------------

_LO = np.array([p.lo for p in PARAMS], np.float64)
_HI = np.array([p.hi for p in PARAMS], np.float64)
_DEF = np.array([p.default for p in PARAMS], np.float64)
_UP = _HI - _DEF  # > 0 for every parameter
_DOWN = np.where(_DEF - _LO > 0, _DEF - _LO, 1.0)
VECTOR_LO = np.where(_DEF > _LO, -1.0, 0.0).astype(np.float32)  # per-entry lower bound of vectors


def params_to_vector(params: dict) -> np.ndarray:
    """Parameter dict -> normalised ``(P,)`` float32 vector (0 = default, see module docstring)."""
    p = check_params(params)
    vec = np.zeros(NUM_PARAMS, np.float64)
    for k, v in p.items():
        i = _INDEX[k]
        d = v - _DEF[i]
        vec[i] = d / _UP[i] if d >= 0 else d / _DOWN[i]
    return vec.astype(np.float32)


def vector_to_params(vec, *, drop_defaults: bool = True) -> dict:
    """Normalised vector ``(P,)`` -> parameter dict (entries clipped to their valid range)."""
    vec = np.asarray(vec, np.float64).reshape(-1)
    if vec.shape[0] != NUM_PARAMS:
        raise ValueError(f"parameter vector must have {NUM_PARAMS} entries, got {vec.shape[0]}")
    vec = np.clip(vec, VECTOR_LO, 1.0)
    values = np.where(vec >= 0, _DEF + vec * _UP, _DEF + vec * _DOWN)
    out = {}
    for spec, v in zip(PARAMS, values):
        if drop_defaults and abs(v - spec.default) < 1e-6:
            continue
        out[spec.name] = round(float(v), 4)
    return out


def _denormalise_torch(vec: torch.Tensor) -> torch.Tensor:
    """(B, P) normalised -> (B, P) parameter values (differentiable)."""
    import torch

    up = torch.as_tensor(_UP, dtype=vec.dtype, device=vec.device)
    down = torch.as_tensor(_DOWN, dtype=vec.dtype, device=vec.device)
    dflt = torch.as_tensor(_DEF, dtype=vec.dtype, device=vec.device)
    lo = torch.as_tensor(VECTOR_LO, dtype=vec.dtype, device=vec.device)
    v = torch.maximum(torch.minimum(vec, torch.ones_like(vec)), lo.expand_as(vec))
    return dflt + torch.where(v >= 0, v * up, v * down)


# --------------------------------------------------------------------------------------------
# The renderer (numpy or torch, batched; differentiable with torch)
# --------------------------------------------------------------------------------------------

_EPS_CHROMA = 0.1


def _shoulder(ops: ArrayOps, y, knee: float = 0.75):
    """Identity below ``knee``, then a tanh roll-off towards 1 (C1 at the knee)."""
    over = ops.clip(y - knee, 0.0)
    return ops.where(y > knee, knee + (1 - knee) * ops.tanh(over / (1 - knee)), y)


@lru_cache(maxsize=1)
def _opponent_basis() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``E (3, 2)``: basis of the zero-luma plane; ``P (2, 2)``: its coords -> (a, b); ``P^-1``;
    and ``C (3, 2)``: a zero-luma RGB vector -> its coords in ``E`` (float64).

    Opponent coordinates ``a = R - (G + B) / 2``, ``b = sqrt(3)/2 (G - B)`` give the hue angle
    ``atan2(b, a)`` (red 0, yellow 60, green 120, cyan 180, blue 240, magenta 300 degrees).
    """
    w = np.asarray(LUMA_709, np.float64)
    # Project two independent vectors onto the plane w . v = 0 (along (1, 1, 1)).
    v1, v2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    E = np.stack([v1 - (w @ v1) * np.ones(3), v2 - (w @ v2) * np.ones(3)], 1)  # (3, 2)
    ab = np.array([[1.0, -0.5, -0.5], [0.0, math.sqrt(3) / 2, -math.sqrt(3) / 2]])
    P = ab @ E  # (2, 2): plane coords -> (a, b)
    return E, P, np.linalg.inv(P), np.linalg.pinv(E).T


def _hue_weights(ops: ArrayOps, h):
    """Hue angle in degrees ``(...)`` -> partition-of-unity tent weights over the 8 bands ``(..., 8)``."""
    centres = list(HUE_CENTRES) + [HUE_CENTRES[0] + 360.0]
    h = h % 360.0
    ws = []
    for i in range(len(HUE_CENTRES)):
        c = HUE_CENTRES[i]
        left = centres[i - 1] if i > 0 else HUE_CENTRES[-1] - 360.0
        right = centres[i + 1]
        # Distance measured on the circle, unwrapped around this centre.
        d = (h - c + 180.0) % 360.0 - 180.0
        up = ops.clip(1 + d / (c - left), 0, 1)
        down = ops.clip(1 - d / (right - c), 0, 1)
        ws.append(ops.where(d < 0, up, down))
    return ops.stack(ws, -1)


_HUE_INDEX = {c: [_INDEX[f"{n}_{c}"] for n in HUES] for c in ("hue", "sat", "lum")}


def render(x, values, positions=None, *, clip: bool = True, vary: frozenset[str] | None = None):
    """Apply parameter ``values`` (B, P) (real units, not normalised) to colours x (B, N, 3).

    ``x`` and ``values`` are numpy arrays or torch tensors (both of one kind); the result is of
    that kind and of ``x``'s dtype. ``positions`` (B or 1, N, 2) are normalised ``(u, v)`` image
    coordinates in ``[0, 1]`` for the vignette; without them the vignette is skipped. With torch
    tensors it is differentiable in ``values`` and ``x``.

    ``vary``: with gradients, the names whose gradient is needed (default: all); steps of other
    parameters at their defaults are skipped as without gradients, which is much faster.
    """
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"x must be (B, N, 3), got {tuple(x.shape)}")
    if values.ndim != 2 or values.shape[1] != NUM_PARAMS:
        raise ValueError(f"values must be (B, {NUM_PARAMS}), got {tuple(values.shape)}")
    ops = ArrayOps(x)
    values = values.astype(x.dtype) if ops.numpy else values.to(x.dtype)
    P = lambda n: values[:, _INDEX[n]][:, None, None]  # noqa: E731 - (B, 1, 1) column
    # Without gradients, steps whose parameters are all at their defaults are skipped (they are
    # exact identities); with gradients every step runs, so d/d(value) exists at the default too.
    grad = bool(getattr(values, "requires_grad", False))

    def active(*names) -> bool:
        if grad and (vary is None or any(n in vary for n in names)):
            return True
        return any(bool((P(n) != SPECS[n].default).any()) for n in names)

    w = ops.const(np.asarray(LUMA_709)[:, None])  # (3, 1)
    luma = lambda x: x @ w  # noqa: E731 - (B, N, 1)
    tone = lambda x, T, sigma, Y: T + sigma * (x - Y)  # noqa: E731 - new luma T, chroma scale sigma

    # 1. White balance: per-channel gains, then a grey shift that restores the luma exactly.
    if active("temperature", "tint"):
        t = P("temperature") / 100
        g = P("tint") / 100
        gains = ops.cat([1 + 0.25 * t, 1 - 0.2 * g, 1 - 0.25 * t], -1)  # (B, 1, 3)
        xw = x * gains
        x = xw + (luma(x) - luma(xw))

    # 2. Exposure: gain 2^(EV/2.2) on encoded values (= 2^EV in gamma-2.2 light), soft shoulder.
    if active("exposure"):
        Y = luma(x)
        gain = 2.0 ** (P("exposure") / 2.2)
        gy = gain * Y
        T = ops.where(gain > 1, _shoulder(ops, gy), gy)
        sigma = ops.where(Y > 1e-4, T / ops.clip(Y, 1e-4), gain)
        x = tone(x, T, sigma, Y)

    # 3. Tone: contrast, highlights, shadows, whites, blacks, S-curve (luma curves, chroma ~ ratio).
    def curve(x, delta_fn):
        Y = luma(x)
        T = Y + delta_fn(ops.clip(Y, 0, 1))
        return tone(x, T, ops.clip((T + _EPS_CHROMA) / (Y + _EPS_CHROMA), 0.0, 3.0), Y)

    k = P("contrast") / 100
    if active("contrast"):
        # Smoothstep S-curve in a power-warped luma u = Y^g whose middle (u = 0.5) is the pivot;
        # at the default pivot 0.5, g = 1 and this is the plain smoothstep about middle grey.
        gamma = math.log(0.5) / ops.log(ops.clip(P("contrast_pivot"), 0.05, 0.95))

        def contrast_delta(Yc):
            Yc = ops.clip(Yc, 1e-6, 1)
            u = Yc**gamma
            return k * (ops.clip(u * u * (3 - 2 * u), 1e-12) ** (1 / gamma) - Yc)

        x = curve(x, contrast_delta)
    s = P("s_curve") / 100
    if active("s_curve"):
        x = curve(x, lambda Y: s * 0.8 * (0.5 - 0.5 * ops.cos(math.pi * Y) - Y))
    h = P("highlights") / 100
    if active("highlights"):
        x = curve(x, lambda Y: h * 0.12 * 6.75 * Y**2 * (1 - Y))
    sh = P("shadows") / 100
    if active("shadows"):
        x = curve(x, lambda Y: sh * 0.12 * 6.75 * Y * (1 - Y) ** 2)
    wh = P("whites") / 100
    if active("whites"):
        x = curve(x, lambda Y: wh * 0.15 * Y**3)
    bl = P("blacks") / 100
    if active("blacks"):
        x = curve(x, lambda Y: bl * 0.12 * (1 - Y) ** 3)

    # 4. Fade / matte: linear remap of the luma range, chroma scaled by the slope.
    if active("fade"):
        f = P("fade") / 100
        lo, hi = 0.18 * f, 0.06 * f
        Y = luma(x)
        x = tone(x, lo + (1 - lo - hi) * Y, 1 - lo - hi, Y)

    # 5. Saturation and vibrance (luma preserving chroma scaling).
    E, Pm, Pinv, C = (ops.const(m) for m in _opponent_basis())
    Y = luma(x)
    chroma = x - Y
    per_hue = active(*(f"{n}_{c}" for n in HUES for c in ("hue", "sat", "lum")))
    if per_hue or active("saturation", "vibrance"):
        ab = (chroma @ C) @ Pm.T  # (B, N, 2)
        c = ops.sqrt(ops.sum_last(ab * ab) + 1e-12)
        sat = 1 + P("saturation") / 100
        vib = P("vibrance") / 100
        muted = (1 - ops.clip(c / 0.6, 0, 1)) ** 2
        chroma = chroma * sat * (1 + vib * 0.8 * muted)

    # 6. Per-hue HSL: rotate / scale the chroma and shift the luma of each hue band.
    if per_hue:
        hue_vals, sat_vals, lum_vals = (values[:, _HUE_INDEX[c]][:, None, :] / 100 for c in ("hue", "sat", "lum"))
        hue = ops.rad2deg(ops.atan2(ab[..., 1], ab[..., 0] + 1e-12))  # (B, N)
        wts = _hue_weights(ops, hue)  # (B, N, 8)
        presence = c / (c + 0.04)  # hue is meaningless for near-greys
        dh = ops.sum_last(wts * hue_vals) * math.radians(30) * presence
        ds = 1 + ops.sum_last(wts * sat_vals) * presence
        dl = ops.sum_last(wts * lum_vals) * 0.3 * ops.clip(c, 0, 0.5) * presence
        ab = (chroma @ C) @ Pm.T
        cos, sin = ops.cos(dh), ops.sin(dh)
        ab2 = ops.cat([cos * ab[..., :1] - sin * ab[..., 1:], sin * ab[..., :1] + cos * ab[..., 1:]], -1) * ds
        chroma = (ab2 @ Pinv.T) @ E.T
        Y = Y + dl
    x = Y + chroma

    # 7. Black & white: fade the chroma out (luma weights).
    if active("bw"):
        x = Y + (1 - P("bw") / 100) * (x - Y)

    # 8. Split toning: add a zero-luma tint weighted towards the shadows / highlights.
    for which in ("shadow", "highlight"):
        if not active(f"split_{which}_amount"):
            continue
        Yc = ops.clip(Y, 0, 1)
        weight = (1 - Yc) ** 2 if which == "shadow" else Yc**2
        ang = ops.deg2rad(P(f"split_{which}_hue"))
        amt = P(f"split_{which}_amount") / 100
        tint = (ops.cat([ops.cos(ang), ops.sin(ang)], -1) @ Pinv.T) @ E.T  # (B, 1, 3)
        x = x + amt * 0.15 * weight * tint

    # 9. Vignette: smooth radial gain (corners at r = 1).
    if positions is not None:
        positions = positions.astype(x.dtype) if ops.numpy else positions.to(x.dtype)
        x = x * (1 + 0.6 * (P("vignette") / 100) * vignette_profile(positions))
    return ops.clip(x, 0.0, 1.0) if clip else x


def vignette_profile(positions):
    """Radial fall-off shape in ``[0, 1]`` at normalised positions ``(..., 2)`` -> ``(..., 1)``
    (numpy array or torch tensor)."""
    ops = ArrayOps(positions)
    d = (positions - 0.5) * 2.0
    r = ops.sqrt(ops.sum_last(d * d) / 2.0 + 1e-12)
    t = ops.clip((r - 0.35) / 0.65, 0, 1)
    return t * t * (3 - 2 * t)


# --------------------------------------------------------------------------------------------
# Direct per-pixel renderer (ground truth)
# --------------------------------------------------------------------------------------------


def _full_values(params: dict) -> np.ndarray:
    p = check_params(params)
    vals = _DEF.copy()
    for k, v in p.items():
        vals[_INDEX[k]] = v
    return vals


def pixel_positions(h: int, w: int) -> np.ndarray:
    """Normalised pixel-centre coordinates ``(h * w, 2)`` as (u, v), row-major."""
    v, u = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    return np.stack([u.ravel(), v.ravel()], -1)


def render_pixels(rgb: np.ndarray, params: dict) -> np.ndarray:
    """Apply ``params`` pixel by pixel: rgb ``(H, W, 3)`` float in ``[0, 1]`` -> ``(H, W, 3)`` float32.

    This is the ground truth the grids are measured against.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3), got {rgb.shape}")
    h, w, _ = rgb.shape
    x = np.asarray(rgb, np.float32).reshape(1, -1, 3)
    out = render(x, _full_values(params)[None], pixel_positions(h, w)[None])
    return out.reshape(h, w, 3)


# --------------------------------------------------------------------------------------------
# Fitting grids
# --------------------------------------------------------------------------------------------


def probe_colours() -> tuple[np.ndarray, np.ndarray]:
    """Fixed in-gamut colour sample spanning all lumas, hues and chromas -> (colours (N, 3), weights (N,)).

    Greys and muted colours weigh more, as they dominate real photos.
    """
    return _probe_colours()


@lru_cache(maxsize=1)
def _probe_colours():
    E, _, Pinv, _ = _opponent_basis()
    to_rgb = Pinv.T @ E.T  # (2, 3): (a, b) -> zero-luma rgb
    cols, wts = [], []
    angles = np.deg2rad(np.arange(0, 360, 20))
    for Y in np.linspace(0.0, 1.0, 65):
        cols.append([Y, Y, Y])
        wts.append(6.0)
        for c, wc in ((0.05, 3.0), (0.15, 1.5), (0.3, 0.6), (0.5, 0.25)):
            for ang in angles:
                rgb = Y + c * np.array([math.cos(ang), math.sin(ang)]) @ to_rgb
                if rgb.min() >= 0 and rgb.max() <= 1:
                    cols.append(rgb)
                    wts.append(wc / len(angles) * 6)
    return np.asarray(cols, np.float64), np.asarray(wts, np.float64)


def _hat_features(x: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices and weights of the two depth nodes each colour's luma slices into."""
    z = np.clip(x @ np.asarray(LUMA_709), 0.0, 1.0) * (depth - 1)
    i0 = np.clip(np.floor(z), 0, depth - 2).astype(np.int64)
    t = z - i0
    return i0, 1.0 - t, t


def _normal_equations(x: np.ndarray, weights: np.ndarray, depth: int):
    """Design matrix pieces: returns F (N, 4D) sparse-as-dense rows of hat-weighted [x, 1]."""
    n = x.shape[0]
    i0, w0, w1 = _hat_features(x, depth)
    phi = np.concatenate([x, np.ones((n, 1))], 1)  # (N, 4)
    F = np.zeros((n, depth, 4))
    F[np.arange(n), i0] = w0[:, None] * phi
    F[np.arange(n), i0 + 1] += w1[:, None] * phi
    return F.reshape(n, 4 * depth)


_RIDGE = 1e-4


def _identity_stack(depth: int) -> np.ndarray:
    """Identity affine as the (4D, 3) unknown layout."""
    ident = np.zeros((depth, 4, 3))
    ident[:, 0, 0] = ident[:, 1, 1] = ident[:, 2, 2] = 1.0
    return ident.reshape(4 * depth, 3)


@lru_cache(maxsize=16)
def _probe_solver(depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precomputed linear map from probe outputs to grid nodes: A = S @ Y + S0 (float64)."""
    x, w = _probe_colours()
    F = _normal_equations(x, w, depth)
    Fw = F * w[:, None]
    G = F.T @ Fw + _RIDGE * np.eye(F.shape[1])
    Ginv = np.linalg.inv(G)
    S = Ginv @ Fw.T  # (4D, N)
    S0 = Ginv @ (_RIDGE * _identity_stack(depth))  # (4D, 3)
    return x, S, S0


def _cell_weights(n_px: int, n_cells: int) -> np.ndarray:
    """Bilinear weights ``(n_px, n_cells)`` of pixels on grid cells along one axis, exactly as
    :func:`model.grid.slice_grid` interpolates (cell-centred, clamped at the edges)."""
    c = np.clip((np.arange(n_px) + 0.5) * n_cells / n_px - 0.5, 0, n_cells - 1)
    i0 = np.clip(np.floor(c), 0, max(n_cells - 2, 0)).astype(np.int64)
    t = c - i0
    W = np.zeros((n_px, n_cells))
    W[np.arange(n_px), i0] += 1 - t
    W[np.arange(n_px), np.minimum(i0 + 1, n_cells - 1)] += t
    return W


@lru_cache(maxsize=16)
def _vignette_cells(gh: int, gw: int) -> np.ndarray:
    """Least-squares cell values ``(Gh, Gw)`` whose bilinear slice best matches the vignette profile."""
    sh, sw = max(4 * gh, 64), max(4 * gw, 64)
    target = vignette_profile(pixel_positions(sh, sw)).reshape(sh, sw)
    Wy, Wx = _cell_weights(sh, gh), _cell_weights(sw, gw)
    # target ~ Wy @ C @ Wx.T  -> separable least squares.
    C = np.linalg.pinv(Wy) @ target @ np.linalg.pinv(Wx).T
    return C


_COLOUR_DEPENDENT = np.array(
    [n == "vibrance" or n.endswith(("_hue", "_sat", "_lum")) for n in PARAM_NAMES], bool
)
FIT_EDGE = 256  # long edge (px) of the block-averaged copy of the proxy the per-cell fit samples
WHOLE_SAMPLES = 20000  # at most this many of those pixels (evenly strided) in the whole-photo fit
PROBE_WEIGHT = 0.05  # share of the whole-photo fit's weight given to the probe colours
SPATIAL_RIDGE = 1e-8  # pull of each cell's nodes towards the whole-photo fit


def _colour_dependent(vals: np.ndarray) -> bool:
    """Whether any parameter that is not affine for a fixed luma (vibrance, per-hue) is active."""
    return bool(np.any((vals != _DEF) & _COLOUR_DEPENDENT))


def _fit_sample(proxy: np.ndarray) -> np.ndarray:
    """The colours the fits use: the proxy block-averaged by an integer factor to a long edge of
    at most :data:`FIT_EDGE` -> ``(h, w, 3)`` float32."""
    h, w, _ = proxy.shape
    s = max(1, math.ceil(max(h, w) / FIT_EDGE))
    if s == 1:
        return np.ascontiguousarray(proxy, np.float32)
    hh, ww = max(1, h // s), max(1, w // s)
    blocks = np.asarray(proxy[: hh * s, : ww * s], np.float32).reshape(hh, s, ww, s, 3)
    return blocks.sum((1, 3), dtype=np.float32) * np.float32(1.0 / (s * s))


@dataclass(frozen=True)
class FitBasis:
    """Everything the least-squares fits need that depends on the photo but not on the edit.

    The normal equations of both fits (whole photo, and per spatial cell) are built from the
    sample's colours and the slice's weights only; an edit changes the right-hand sides. So a
    photo's basis is factorised once, and each edit costs one render of the sample plus a few
    small matrix products (:func:`params_to_grid`).

    colours: ``(N + M, 3)`` float32, the N sample pixels (row-major ``(h, w)``) then M probe
    colours. The whole-photo fit uses the rows ``whole_rows`` of them (an even stride of the
    sample, and the probes): it is ``whole @ Y[whole_rows] + whole_offset`` for rendered colours
    ``Y``; whole ``(4D, len(whole_rows))``, whole_offset ``(4D, 3)``. The per-cell fit: ``bins``
    ``(cells * (D - 1), N)`` sparse slice weights of each pixel on each cell, split by the depth
    interval its luma falls in; ``features`` ``(N, 8)`` hat-weighted ``[x, 1]`` on the interval's
    two nodes; ``cell_inverse`` ``(cells, 4D, 4D)`` inverse of each cell's ridged normal matrix.
    """

    depth: int
    cells: tuple[int, int]
    colours: np.ndarray
    n_photo: int
    whole_rows: np.ndarray
    whole: np.ndarray
    whole_offset: np.ndarray
    bins: object
    features: np.ndarray
    cell_inverse: np.ndarray

    @staticmethod
    def build(sample: np.ndarray, depth: int, gh: int, gw: int) -> "FitBasis":
        import scipy.sparse as sp

        hh, ww, _ = sample.shape
        x = sample.reshape(-1, 3).astype(np.float64)
        n = x.shape[0]
        # Whole-photo fit: the photo's colours plus the probe colours at low weight, so colours
        # the photo lacks still get sensible transforms.
        pc, pw = _probe_colours()
        step = max(1, math.ceil(math.sqrt(n / WHOLE_SAMPLES)))
        photo_rows = np.arange(n).reshape(hh, ww)[::step, ::step].ravel()
        whole_rows = np.concatenate([photo_rows, n + np.arange(pc.shape[0])])
        xa = np.concatenate([x, pc])
        xw = xa[whole_rows]
        wa = np.concatenate([np.full(photo_rows.size, 1.0 / photo_rows.size), pw / pw.sum() * PROBE_WEIGHT])
        F = _normal_equations(xw, wa, depth)
        Fw = F * wa[:, None]
        ginv = np.linalg.inv(F.T @ Fw + _WHOLE_RIDGE * np.eye(4 * depth))
        whole = ginv @ Fw.T
        whole_offset = ginv @ (_WHOLE_RIDGE * _identity_stack(depth))
        # Per-cell fit: each pixel touches the depth nodes i0, i0 + 1 of up to four cells.
        i0, w0, w1 = _hat_features(x, depth)
        phi = np.concatenate([x, np.ones((n, 1))], 1)
        f = np.concatenate([w0[:, None] * phi, w1[:, None] * phi], 1)  # (N, 8)
        cell_w = sp.csr_matrix(sp.kron(sp.csr_matrix(_cell_weights(hh, gh)), sp.csr_matrix(_cell_weights(ww, gw))))
        coo = cell_w.tocoo()  # (pixels, cells)
        rows = coo.col * (depth - 1) + i0[coo.row]
        bins = sp.csr_matrix((coo.data, (rows, coo.row)), shape=(gh * gw * (depth - 1), n))
        ff = (f[:, :, None] * f[:, None, :]).reshape(n, 64)
        G = _scatter_nodes((bins @ ff).reshape(gh * gw, depth - 1, 8, 8), depth, square=True)
        cell_inverse = np.linalg.inv(G / n + SPATIAL_RIDGE * np.eye(4 * depth))
        return FitBasis(depth, (gh, gw), np.ascontiguousarray(xa, np.float32), n, whole_rows, whole,
                        whole_offset, bins, f, cell_inverse)  # fmt: skip

    def fit_whole(self, Y: np.ndarray) -> np.ndarray:
        """Rendered colours ``colours[whole_rows]`` -> node matrices ``(D, 3, 4)`` shared by every cell."""
        d = self.depth
        return (self.whole @ Y + self.whole_offset).reshape(d, 4, 3).transpose(0, 2, 1)

    def fit_cells(self, Y: np.ndarray, A: np.ndarray) -> np.ndarray:
        """Per-cell fit of the rendered sample pixels ``Y`` ``(N, 3)``, each node pulled towards
        the whole-photo fit ``A`` ``(D, 3, 4)`` -> grid coefficients ``(12, D, Gh, Gw)``.

        One affine per depth node cannot follow a per-hue edit when a luma bin holds many hues,
        but one spatial cell usually holds few. Each pixel is weighted by the bilinear weight the
        slice gives that cell (:func:`model.grid.slice_grid`); nodes no pixel touches keep ``A``.
        (A joint fit through the interpolation was measured no more accurate and about 4x slower.)
        """
        d, (gh, gw), n = self.depth, self.cells, self.n_photo
        fy = (self.features[:, :, None] * Y[:, None, :]).reshape(n, 24)
        R = _scatter_nodes((self.bins @ fy).reshape(gh * gw, d - 1, 8, 3), d, square=False)
        prior = A.transpose(0, 2, 1).reshape(4 * d, 3)
        sol = self.cell_inverse @ (R / n + SPATIAL_RIDGE * prior)
        return sol.reshape(gh, gw, d, 4, 3).transpose(4, 3, 2, 0, 1).reshape(12, d, gh, gw)


def _scatter_nodes(per_bin: np.ndarray, depth: int, square: bool) -> np.ndarray:
    """Sums per depth interval ``(cells, D - 1, 8, 8 or 3)`` -> ``(cells, 4D, 4D or 3)``: interval
    ``k`` covers the unknowns of nodes ``k`` and ``k + 1`` (rows, and columns if ``square``,
    ``4k .. 4k + 8``)."""
    cols = 4 * depth if square else per_bin.shape[-1]
    out = np.zeros((per_bin.shape[0], 4 * depth, cols))
    for k in range(depth - 1):
        s = slice(4 * k, 4 * k + 8)
        if square:
            out[:, s, s] += per_bin[:, k]
        else:
            out[:, s] += per_bin[:, k]
    return out


_WHOLE_RIDGE = 1e-7
_BASES: "OrderedDict[tuple, FitBasis]" = OrderedDict()
_BASES_LOCK = threading.Lock()


def fit_basis(proxy: np.ndarray, depth: int, gh: int, gw: int) -> tuple[FitBasis, np.ndarray]:
    """The :class:`FitBasis` of ``proxy`` (cached for the last few photos) and its sample."""
    sample = _fit_sample(proxy)
    key = (depth, gh, gw, sample.shape, hashlib.blake2b(sample.tobytes(), digest_size=16).digest())
    with _BASES_LOCK:
        basis = _BASES.get(key)
        if basis is not None:
            _BASES.move_to_end(key)
            return basis, sample
    basis = FitBasis.build(sample, depth, gh, gw)
    with _BASES_LOCK:
        _BASES[key] = basis
        while len(_BASES) > 4:
            _BASES.popitem(last=False)
    return basis, sample


def check_grid_shape(grid_shape) -> tuple[int, int, int]:
    try:
        d, gh, gw = (int(v) for v in grid_shape)
    except (TypeError, ValueError):
        raise ValueError(f"grid_shape must be (D, Gh, Gw), got {grid_shape!r}") from None
    if d < 2 or gh < 1 or gw < 1:
        raise ValueError(f"grid_shape must have D >= 2 and Gh, Gw >= 1, got {grid_shape!r}")
    return d, gh, gw


def _to_grid(coeffs: np.ndarray, vignette: float, gh: int, gw: int) -> np.ndarray:
    """Node matrices ``(D, 3, 4)`` shared by every cell, or per-cell coefficients ``(12, D, Gh, Gw)``,
    plus the vignette amount -> grid ``(12, D, Gh, Gw)`` float32."""
    if coeffs.ndim == 3:
        d = coeffs.shape[0]
        grid = np.broadcast_to(coeffs.reshape(d, 12).T[:, :, None, None], (12, d, gh, gw)).astype(np.float64)
    else:
        grid = np.asarray(coeffs, np.float64)
    if vignette != 0.0:
        gain = 1 + 0.6 * vignette * _vignette_cells(gh, gw)
        grid = grid * gain[None, None]
    return np.ascontiguousarray(grid, dtype=np.float32)


def params_to_grid(params: dict, grid_shape=(8, 16, 16), proxy: np.ndarray | None = None) -> np.ndarray:
    """Parameter dict -> bilateral grid ``(12, D, Gh, Gw)`` float32 for the luminance guidance.

    Without ``proxy`` the depth nodes are the least-squares fit over the fixed probe colours (the
    same grid :func:`params_grid_torch` gives). With ``proxy`` ``(h, w, 3)`` float in ``[0, 1]``
    the fit uses the photo's own colours (a block-averaged copy, :data:`FIT_EDGE` px) plus the
    probe colours at low weight; colour-dependent edits (vibrance, per-hue) are then fitted per
    spatial cell (:meth:`FitBasis.fit_cells`). The photo's normal equations are cached
    (:func:`fit_basis`), so a new edit of the same photo costs one render of the sample.
    """
    d, gh, gw = check_grid_shape(grid_shape)
    vals = _full_values(params)
    vig = vals[_INDEX["vignette"]] / 100
    if proxy is None:
        x, S, S0 = _probe_solver(d)
        Y = render(x[None], vals[None], clip=False)[0]
        A = (S @ Y + S0).reshape(d, 4, 3).transpose(0, 2, 1)
        return _to_grid(A, vig, gh, gw)
    proxy = np.asarray(proxy)
    if proxy.ndim != 3 or proxy.shape[2] != 3:
        raise ValueError(f"proxy must be (h, w, 3), got {proxy.shape}")
    basis, _ = fit_basis(proxy, d, gh, gw)
    per_cell = _colour_dependent(vals)
    # Only the colours a fit uses are rendered, in float32: the fits' own error is orders of
    # magnitude above float32 rounding.
    colours = basis.colours if per_cell else basis.colours[basis.whole_rows]
    Y = render(colours[None], vals.astype(np.float32)[None], clip=False)[0].astype(np.float64)
    A = basis.fit_whole(Y[basis.whole_rows] if per_cell else Y)
    if per_cell:
        A = basis.fit_cells(Y[: basis.n_photo], A)
    return _to_grid(A, vig, gh, gw)


def params_grid_torch(vec: torch.Tensor, grid_shape=(8, 16, 16)) -> torch.Tensor:
    """Differentiable: normalised vectors ``(B, P)`` -> grids ``(B, 12, D, Gh, Gw)``.

    Each depth node is the probe-colour least-squares fit (a fixed linear map of the rendered
    probes), so gradients flow from the grid back to the parameter vector.
    """
    import torch

    if vec.dim() != 2 or vec.shape[1] != NUM_PARAMS:
        raise ValueError(f"vec must be (B, {NUM_PARAMS}), got {tuple(vec.shape)}")
    d, gh, gw = check_grid_shape(grid_shape)
    x, S, S0 = (torch.as_tensor(a, dtype=vec.dtype, device=vec.device) for a in _probe_solver(d))
    dtype, device = vec.dtype, vec.device
    b = vec.shape[0]
    values = _denormalise_torch(vec)
    Y = render(x[None].expand(b, -1, -1), values, clip=False)
    A = S @ Y + S0  # (B, 4D, 3)
    A = A.view(b, d, 4, 3).transpose(2, 3).reshape(b, d, 12).transpose(1, 2)  # (B, 12, D)
    grid = A[:, :, :, None, None].expand(b, 12, d, gh, gw)
    cells = torch.as_tensor(_vignette_cells(gh, gw), dtype=dtype, device=device)
    gain = 1 + 0.6 * (values[:, _INDEX["vignette"]] / 100).view(b, 1, 1, 1, 1) * cells
    return grid * gain
