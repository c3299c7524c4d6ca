"""What a request asks, and what the photo decides: ``read(text)`` and ``resolve(reading, proxy)``.

:func:`read` sorts a request into one of five modes:

* ``auto``: empty instruction; every estimated attribute is decided by the photo;
* ``param``: explicit parameters ("exposure +0.7, shadows +30"), rendered as written;
* ``plan``: something doable was understood; clauses asking for what retouching cannot do
  ("remove the trailer", "sharpen it") are listed in ``not_done``;
* ``refused``: only undoable requests (content, geometry or detail edits);
* ``not_understood``: nothing read as a request at all ("asdf qwerty"): no edit.

:func:`resolve` turns a reading into parameters for one photo: worded edits as the matcher reads
them (made visible on this photo), items the words leave open from the photo-quality estimator
(restricted to the attributes named), and constraints ("keep the highlights", "not too
bright") enforced by compensating the attribute they protect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from retouch_studio.model.instructions.auto import photo_corrections
from retouch_studio.model.params import check_params, looks_like_params, parse_params, render_pixels
from retouch_studio.model.instructions.language import InstructionError, check_text
from retouch_studio.model.instructions.errors import ContentEditError
from retouch_studio.model.instructions.matcher import PROTECTED, normalise, plan, plan_to_params
from retouch_studio.model.instructions.refusal import clause_reason
from retouch_studio.model.instructions.vague import ESTIMATED, clarity, not_doable
from retouch_studio.model.instructions.visible import TARGETS, _lab, _small, _statistic, visible_params

MODES = ("plan", "auto", "param", "refused", "not_understood")
NOT_UNDERSTOOD = (
    "could not read {text!r} as a retouching request; say what to change, e.g. \"brighter\", "
    "\"warmer, more contrast\", \"fix the white balance\", or leave it empty for an automatic correction"
)


@dataclass
class Reading:
    instruction: str
    mode: str
    plan: list = field(default_factory=list)
    not_done: list = field(default_factory=list)
    params: dict = field(default_factory=dict)  # worded / explicit parameters (no photo needed)
    message: str = ""

    def to_dict(self) -> dict:
        return {"instruction": self.instruction, "mode": self.mode, "plan": self.plan,
                "not_done": self.not_done, "params": self.params}


def read(text: str) -> Reading:
    """Read ``text`` without a photo (the items left to the photo stay unresolved)."""
    try:
        check_text(text)  # encoding, length, words, language (TypeError for what is not text)
    except InstructionError as exc:
        return Reading(text, "not_understood", [], [], {}, exc.reason)
    t = text.strip()
    if not t:
        return Reading(text, "auto", [_photo_item(a, "auto") for a in ESTIMATED])
    if looks_like_params(t):
        params = parse_params(t)
        return Reading(text, "param", [], [], params)
    not_done, doable = [], []
    for clause in _segments(t):
        reason = clause_reason(clause)
        detail = not_doable(clause) if reason is None else None
        if reason is not None or detail is not None:
            not_done.append(clause)
            # "remove the glare and make it lighter" is split; "lighten it and sharpen" too. A
            # clause that asks for both ("brighten and sharpen the face") keeps its doable part.
            if detail is not None and (_has_tone_words(clause) or clarity(clause)):
                doable.append(clause)
        else:
            doable.append(clause)
    items = plan(", ".join(doable)) if doable else []
    edits = [it for it in items if not it.get("constraint")]
    if edits:
        return Reading(text, "plan", items, not_done, plan_to_params(items))
    if not_done:
        return Reading(text, "refused", [], not_done, {}, str(ContentEditError(t, "nothing in it is a tone or colour edit")))
    if _embedding_content(t):
        return Reading(text, "refused", [], [t], {}, str(ContentEditError(t, "reads like a content edit")))
    return Reading(text, "not_understood", [], [], {}, NOT_UNDERSTOOD.format(text=t[:80]))


# Coarser than the matcher's clauses: "replace the sky with a sunset" and "turn it into a
# painting" stay whole, so the object of a content edit is never read as a look of its own.
_SEGMENT = re.compile(r"[,;.!?]|\b(?:and|but|then|also|plus|while)\b|&")


def _segments(text: str) -> list[str]:
    t = normalise(text)
    kept = {}
    for i, phrase in enumerate(PROTECTED):  # "black and white" is one request
        if phrase in t:
            kept[f"qq{i}qq"] = phrase
            t = t.replace(phrase, f"qq{i}qq")
    parts = []
    for part in _SEGMENT.split(t):
        for key, phrase in kept.items():
            part = part.replace(key, phrase)
        if part.strip(" -"):
            parts.append(part.strip(" -"))
    return parts or [text]


_TONE_WORDS = re.compile(r"\b(?:bright\w*|light\w*|dark\w*|warm\w*|cool\w*|colou?r\w*|contrast|saturat\w*|"
                         r"exposure|shadows?|highlights?|vivid|vibran\w*|tone|tones)\b")


def _has_tone_words(clause: str) -> bool:
    return bool(_TONE_WORDS.search(clause))


def _embedding_content(text: str) -> bool:
    from retouch_studio.model.instructions.refusal import _embedding_says_content

    return _embedding_says_content(text)[0]


def _photo_item(name: str, source: str) -> dict:
    return {"attribute": name, "direction": 0, "label": "from the photo", "amount": 0.0, "confidence": 0.0,
            "clause": "", "source": source, "photo": "direction"}


# ---- resolving against a photo -----------------------------------------------------------------

# attribute -> (statistic it is held by, parameter that compensates it)
_HOLD = {name: (TARGETS[name][0], name) for name in ("exposure", "contrast", "temperature", "tint", "saturation",
                                                     "shadows", "highlights", "blacks", "whites")}
HOLD_TOL = {"L": 1.0, "spread": 0.7, "b": 1.0, "a": 1.0, "chroma": 1.0, "shadow_L": 1.0, "highlight_L": 1.0}
_UNITS = {"exposure": " EV"}


def resolve(reading: Reading, proxy: np.ndarray) -> tuple[dict, list]:
    """(parameters, plan with the photo's values filled in) for ``reading`` on ``proxy``.

    Raises :class:`ContentEditError` for a refused reading and ``ValueError`` for one that was not
    understood (nothing to edit).
    """
    if reading.mode == "refused":
        raise ContentEditError(reading.instruction, "nothing in it is a tone or colour edit")
    if reading.mode == "not_understood":
        raise NotUnderstoodError(reading.message or NOT_UNDERSTOOD.format(text=reading.instruction))
    if reading.mode == "param":
        return dict(reading.params), []
    proxy = np.asarray(proxy, np.float32)
    items = [dict(it) for it in reading.plan]
    open_items = [it for it in items if it.get("photo") == "direction"]
    amount_items = [it for it in items if it.get("photo") == "amount" and it.get("direction")]
    values, confidence = photo_corrections(proxy) if open_items or amount_items else ({}, 0.0)
    # Worded edits whose amount the photo shows to be larger keep the photo's amount.
    for it in amount_items:
        v = float(values.get(it["attribute"], 0.0))
        if v * it["direction"] > 0:
            it["_photo_value"] = v
    worded = [it for it in items if it.get("direction") and not it.get("constraint")]
    params = visible_params(plan_to_params(worded), worded, proxy) if worded else {}
    for it in amount_items:
        v = it.pop("_photo_value", None)
        if v is not None and abs(v) > abs(params.get(it["attribute"], 0.0)):
            params[it["attribute"]] = v
            it["label"] = f"{it['label']}, amount from the photo ({_fmt(it['attribute'], v)})"
    for it in open_items:
        v = float(values.get(it["attribute"], 0.0))
        it["confidence"] = round(float(confidence), 3)
        if v:
            params[it["attribute"]] = v
        it["amount"] = round(v, 3)
        it["label"] = f"from the photo ({_fmt(it['attribute'], v)})"
    holds = [it for it in items if it.get("constraint")]
    if holds:
        params = _hold(params, holds, proxy)
    return check_params({k: v for k, v in params.items() if abs(v) > 1e-6 or k == "contrast_pivot"}), items


def _fmt(name: str, v: float) -> str:
    if abs(v) < 1e-3:
        return "no change"
    return f"{v:+.2f}{_UNITS.get(name, '')}" if name == "exposure" else f"{v:+.0f}"


def _hold(params: dict, holds: list, proxy: np.ndarray) -> dict:
    """Compensate each held statistic ("keep": stays put; "limit": does not move ``direction``)."""
    small = _small(proxy)
    lab0 = _lab(small)
    L0 = lab0[..., 0]
    out = dict(params)
    for it in holds:
        stat, knob = _HOLD.get(it["attribute"], (None, None))
        if stat is None:
            continue
        base = _statistic(stat, lab0, L0)
        tol = HOLD_TOL[stat]

        def moved(v: float) -> float:
            trial = dict(out, **{knob: v})
            return _statistic(stat, _lab(render_pixels(small, trial)), L0) - base

        v0 = float(out.get(knob, 0.0))
        d0 = moved(v0)
        sign = it["direction"] if it["constraint"] == "limit" else float(np.sign(d0))
        if sign == 0 or d0 * sign <= tol:
            continue
        # Secant steps on the knob until the statistic is back within the tolerance.
        v1 = v0 - sign * (0.3 if knob == "exposure" else 20.0)
        d1 = moved(v1)
        for _ in range(6):
            if abs(d1 - d0) < 1e-6:
                break
            v2 = v1 - (d1 - sign * tol * 0.5) * (v1 - v0) / (d1 - d0)
            lo, hi = (-3.0, 3.0) if knob == "exposure" else (-100.0, 100.0)
            v2 = float(np.clip(v2, lo, hi))
            v0, d0, v1, d1 = v1, d1, v2, moved(v2)
            if d1 * sign <= tol:
                break
        out[knob] = round(v1, 4)
        it["label"] = f"{it['label']} (held: {knob} {_fmt(knob, v1)})"
    return out


class NotUnderstoodError(ValueError):
    """Nothing in the instruction reads as a retouching request: no edit is made."""


def check_instruction(text: str) -> Reading:
    """Raise :class:`ContentEditError` when nothing in ``text`` is a tone or colour edit and
    :class:`NotUnderstoodError` when nothing in it reads as a request; return the reading otherwise
    (also for the empty instruction, auto mode)."""
    from retouch_studio.model.style.reference import split_style_reference

    style, words = split_style_reference(text)
    if style is not None:  # a learned style is tone and colour; only its words are read
        if not words.strip():
            return Reading(text, "plan")
        text = words
    check_text(text or "")  # unreadable text is its own error (InstructionError), not "not understood"
    reading = read(text or "")
    if reading.mode == "refused":
        raise ContentEditError(text, "nothing in it is a tone or colour edit: " + "; ".join(reading.not_done))
    if reading.mode == "not_understood":
        raise NotUnderstoodError(reading.message)
    return reading


def is_content_edit(text: str) -> bool:
    """Whether ``text`` is refused: it asks only for content, geometry or detail edits."""
    return read(text or "").mode == "refused"


def params_for(text: str, proxy: np.ndarray) -> tuple[dict, list, Reading]:
    """One call: read ``text`` and resolve it on ``proxy`` -> (params, plan, reading)."""
    reading = read(text)
    params, items = resolve(reading, proxy)
    return params, items, reading


def not_done_items(reading: Reading) -> list[dict]:
    """The parts not done, as plan entries an engine reports beside its plan (the app shows them)."""
    return [{"attribute": "not done", "direction": 0, "label": f"{clause!r} (only tone and colour)", "amount": 0.0,
             "confidence": 1.0, "clause": clause, "source": "not_done"} for clause in reading.not_done]


__all__ = ["MODES", "NotUnderstoodError", "Reading", "check_instruction", "is_content_edit", "not_done_items",
           "params_for", "read", "resolve"]
