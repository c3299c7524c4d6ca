"""Make a worded edit visible on *this* photo.

A plan says "warmer, amount 0.6"; :func:`plan_to_params` turns that into ``temperature +24``. The
same parameter moves a dark or nearly grey photo much less than a bright colourful one: +24 shifts
mean b* by 5 on a sunny street and by 1 on a night scene, where nobody would see it. A retoucher
asked for "warmer" pushes the slider until the change shows. :func:`visible_params` does the same
for the worded tone and colour attributes: it renders each one alone on a small copy of the proxy,
measures the Lab statistic the attribute is about, and scales the parameter up (never down, at
most :data:`MAX_GAIN` times, within :data:`LIMITS`) until the change reaches the visible size
for the asked intensity (:data:`TARGETS`, ``amount`` 0.3 / 0.6 / 1.0 for "a bit" / plain / "much").

Contrast turns about the photo's own middle tones (``contrast_pivot`` = median luma) rather than a
fixed middle grey, so "more contrast" spreads the tones of a dark photo instead of darkening it.

Explicit parameters ("temperature +10") and auto mode never pass through here.
"""

from __future__ import annotations

import numpy as np

from retouch_studio.model.grid.guidance import LUMA_709
from retouch_studio.model.params import SPECS, check_params, render_pixels

# attribute (= its model.params parameter) -> (statistic, visible change of it at amount 1.0)
TARGETS = {
    "exposure": ("L", 10.0),
    "contrast": ("spread", 5.0),
    "temperature": ("b", 6.0),
    "tint": ("a", 5.0),
    "saturation": ("chroma", 7.0),
    "vibrance": ("chroma", 5.0),
    "shadows": ("shadow_L", 8.0),
    "highlights": ("highlight_L", 8.0),
    "blacks": ("shadow_L", 6.0),
    "whites": ("highlight_L", 6.0),
    "s_curve": ("spread", 5.0),
}
MAX_GAIN = 2.5
# What the edit must not drag along (statistic, largest move in L*): scaling stops there. On a dark
# photo the shadows curve reaches into the upper tones, so "deeper shadows" is not pushed further.
SIDE_EFFECTS = {"exposure": None, "contrast": ("L", 6.0), "temperature": ("L", 6.0), "tint": ("L", 6.0),
                "saturation": ("L", 6.0), "vibrance": ("L", 6.0), "shadows": ("highlight_L", 6.0),
                "highlights": ("shadow_L", 6.0), "blacks": ("highlight_L", 6.0), "whites": ("shadow_L", 6.0),
                "s_curve": ("L", 6.0)}
# The largest magnitude this step may give a parameter (the renderer's range is wider).
LIMITS = {"exposure": 2.0, "contrast": 80.0, "temperature": 70.0, "tint": 60.0, "saturation": 70.0,
          "vibrance": 80.0, "shadows": 100.0, "highlights": 100.0, "blacks": 100.0, "whites": 100.0, "s_curve": 80.0}
PIVOT_RANGE = (0.2, 0.6)
MEASURE_SIZE = 64


def _small(proxy: np.ndarray, size: int = MEASURE_SIZE) -> np.ndarray:
    h, w = proxy.shape[:2]
    step = max(1, int(max(h, w) // size))
    return np.ascontiguousarray(proxy[::step, ::step], np.float32)


def _lab(rgb: np.ndarray) -> np.ndarray:
    from retouch_studio.model.color import srgb_to_lab

    return srgb_to_lab(np.clip(rgb, 0, 1))


def _statistic(name: str, lab: np.ndarray, L0: np.ndarray) -> float:
    """One Lab statistic of ``lab``; ``L0`` (the input's L*) defines the shadow/highlight pixels."""
    L = lab[..., 0]
    if name == "L":
        return float(L.mean())
    if name == "a":
        return float(lab[..., 1].mean())
    if name == "b":
        return float(lab[..., 2].mean())
    if name == "chroma":
        return float(np.hypot(lab[..., 1], lab[..., 2]).mean())
    if name == "spread":
        return float(np.abs(L - L.mean()).mean())
    if name == "shadow_L":
        return float(L[L0 <= np.quantile(L0, 0.3)].mean())
    if name == "highlight_L":
        return float(L[L0 >= np.quantile(L0, 0.7)].mean())
    raise ValueError(f"unknown statistic {name!r}")


# The smallest change of each statistic that counts as visible (the issue's own examples: mean L*
# +2, b* 1.5 ...): an edit below it in the asked direction is not "done".
VISIBLE_MIN = {"L": 2.0, "spread": 1.0, "b": 1.5, "a": 1.0, "chroma": 1.5, "shadow_L": 1.5, "highlight_L": 1.5}
# The largest move of a statistic nobody asked for that a learned edit may make (L* / Lab units).
UNASKED_MAX = {"L": 6.0, "a": 4.0, "b": 5.0, "chroma": 5.0}
# Statistics an asked one moves by its nature (more saturation moves a* and b*; lifting the
# shadows raises the mean L*; brightening or adding contrast changes the Lab chroma).
LINKED = {"chroma": ("a", "b"), "a": ("chroma",), "b": ("chroma",), "shadow_L": ("L",), "highlight_L": ("L",),
          "L": ("chroma",), "spread": ("chroma",)}


def shows_plan(before: np.ndarray, after: np.ndarray, items: list[dict]) -> bool:
    """Whether ``after`` (an edit of ``before``, both ``(h, w, 3)``) visibly does every worded
    tone/colour item of the plan: each statistic moves the asked way by at least
    ``max(VISIBLE_MIN, half the visible target for the item's amount)``. Items of other
    attributes make the answer False (nothing here can check them)."""
    # Items the photo decides and constraints are not the words' own direction: not checked here.
    items = [it for it in items if it.get("direction", 1) and not it.get("constraint")]
    if not items:
        return False
    small0, small1 = _small(before), _small(after)
    lab0, lab1 = _lab(small0), _lab(small1)
    L0 = lab0[..., 0]
    asked = set()
    for it in items:
        spec = TARGETS.get(it.get("attribute"))
        if spec is None:
            return False
        stat, per_amount = spec
        asked.add(stat)
        need = max(VISIBLE_MIN[stat], 0.5 * per_amount * float(it.get("amount", 0.6)))
        moved = _statistic(stat, lab1, L0) - _statistic(stat, lab0, L0)
        if moved * (1 if it.get("direction", 1) >= 0 else -1) < need:
            return False
    # ... and nothing else moves much: a learned "deeper shadows" that also drains the colour and
    # darkens the whole photo is not what was asked.
    exempt = set(asked).union(*(LINKED.get(stat, ()) for stat in asked))
    for stat, bound in UNASKED_MAX.items():
        if stat not in exempt and abs(_statistic(stat, lab1, L0) - _statistic(stat, lab0, L0)) > bound:
            return False
    return True


def median_luma(proxy: np.ndarray) -> float:
    """Median Rec.709 luma of the (sRGB-encoded) proxy."""
    return float(np.median(_small(proxy) @ np.asarray(LUMA_709, np.float32)))


def visible_params(params: dict, items: list[dict], proxy: np.ndarray) -> dict:
    """``params`` (from ``plan_to_params(items)``) with worded tone/colour edits made visible on ``proxy``."""
    out = dict(check_params(params))
    small = _small(np.asarray(proxy, np.float32))
    if "contrast" in out:
        lo, hi = PIVOT_RANGE
        out["contrast_pivot"] = round(float(np.clip(median_luma(small), lo, hi)), 4)
    lab0 = _lab(small)
    L0 = lab0[..., 0]
    wanted: dict[str, float] = {}
    for it in items:
        name = it.get("attribute")
        if name not in TARGETS or not it.get("direction", 1) or it.get("constraint"):
            continue
        stat, per_amount = TARGETS[name]
        # Even "a touch" must show: never less than a fifth above the visible minimum.
        size = max(1.2 * VISIBLE_MIN[stat], per_amount * float(it.get("amount", 0.6)))
        wanted[name] = max(wanted.get(name, 0.0), size)
    for name, (stat, _) in TARGETS.items():
        value = out.get(name, 0.0)
        if name not in wanted or abs(value) < 1e-9:
            continue
        sign = float(np.sign(value))
        # What the whole edit does to this statistic (other edits interact: brightening raises
        # Lab chroma, so "desaturate and brighten" needs more desaturation than desaturate alone).
        lab_all = _lab(render_pixels(small, out))
        total = sign * (_statistic(stat, lab_all, L0) - _statistic(stat, lab0, L0))
        if total >= wanted[name]:
            continue
        without = {k: v for k, v in out.items() if k != name}
        lab_wo = _lab(render_pixels(small, without))
        own = sign * (_statistic(stat, lab_all, L0) - _statistic(stat, lab_wo, L0))
        if own <= 1e-6:
            continue  # no measurable effect in the asked direction (a grey photo and "more saturation")
        gain = min(MAX_GAIN, (own + wanted[name] - total) / own)
        side = SIDE_EFFECTS.get(name)
        if side is not None:
            dragged = abs(_statistic(side[0], lab_all, L0) - _statistic(side[0], lab_wo, L0))
            if dragged > 1e-6:
                gain = min(gain, side[1] / dragged)
        if gain <= 1.0:
            continue
        limit = min(LIMITS[name], max(abs(SPECS[name].lo), abs(SPECS[name].hi)))
        out[name] = round(float(sign * min(limit, max(abs(value), abs(value) * gain))), 4)
    return check_params(out)


__all__ = ["visible_params", "shows_plan", "VISIBLE_MIN", "median_luma", "TARGETS", "MAX_GAIN", "LIMITS", "SIDE_EFFECTS"]
