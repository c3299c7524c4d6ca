"""The router: every decision about how an instruction is served, made in one place.

``route(text, policy)`` reads an instruction and returns a frozen :class:`Route`:

* empty text -> auto mode (corrections measured on the photo itself);
* explicit parameters (``"exposure +0.7, shadows +30"``) -> rendered exactly as written, never
  re-interpreted by a network;
* a content edit ("remove the person") -> refused, with the reason;
* a learned style (``"style: NAME[, words]"``) -> the style, its words served as any others;
* worded edits -> the matcher's plan, served by the learned engine unless the model folder sends
  one of the plan's attributes to the parameter renderer (``RoutingPolicy.to_params``), and
  checked against the plan when the folder asks for it (``RoutingPolicy.check_plan``).

The GUI worker, ``retouch apply``, ``batch``, ``export-lut``, ``plan`` and ``presets`` ask here;
the engines only predict. :func:`keeps_learned_edit` is the plan check itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

import numpy as np

# Where a route's parameters come from.
AUTO = "auto"  # empty text: measured on the photo
PARAM = "param"  # explicit parameters, as written
PLAN = "plan"  # a worded edit, read into a plan
STYLE = "style"  # a learned style by name, with optional words (model.style)
# Which engine serves it.
LEARNED = "learned"
RENDERER = "params"


@dataclass(frozen=True)
class RoutingPolicy:
    """What a model folder's ``config.json`` says about serving instructions.

    learned: the folder has a learned engine (False for an ``"engine": "params"`` folder).
    to_params: fnmatch patterns over each plan item's ``attribute`` and ``attribute:+1`` /
    ``attribute:-1`` (``"*_sat"``, ``"exposure:-1"``): a plan that matches one is served by the
    parameter renderer (``route_to_params`` in the config).
    check_plan: a learned edit that does not visibly do what the plan asks is replaced by the
    parameter renderer's (``verify_with_plan`` in the config).
    """

    learned: bool = True
    to_params: tuple[str, ...] = ()
    check_plan: bool = False

    @staticmethod
    def from_config(config: Mapping) -> "RoutingPolicy":
        return RoutingPolicy(
            learned=config.get("engine") != "params",
            to_params=tuple(str(p) for p in config.get("route_to_params", ())),
            check_plan=bool(config.get("verify_with_plan", False)),
        )


@dataclass(frozen=True)
class Route:
    """How one instruction is served; made by :func:`route`, never changed.

    kind: :data:`AUTO`, :data:`PARAM`, :data:`PLAN` or :data:`STYLE`. engine: :data:`LEARNED` or
    :data:`RENDERER`. params: the explicit parameters of a :data:`PARAM` route. items: the plan
    (read-only mappings, see ``model.instructions.plan``). check_plan: the learned edit is checked
    against ``items``. refused: the ``ContentEditError`` that refuses the instruction (a content
    edit, or text that cannot be read), None when it is served.
    """

    text: str
    kind: str
    engine: str
    params: Mapping[str, float] | None = None
    items: tuple[Mapping, ...] = ()
    check_plan: bool = False
    refused: Exception | None = field(default=None, compare=False)

    def raise_if_refused(self) -> None:
        """Raise the refusal (a ``ContentEditError``, a ValueError naming the instruction)."""
        if self.refused is not None:
            raise self.refused.with_traceback(None)


def route(text: str | None, policy: RoutingPolicy = RoutingPolicy()) -> Route:
    """Decide how ``text`` is served under ``policy``.

    Raises ValueError for explicit parameters that are misspelt or out of range; a content edit
    comes back with ``refused`` set.
    """
    read = _read((text or "").strip())
    if read.kind != PLAN or read.refused is not None:
        return read
    if not policy.learned or _sent_to_params(read.items, policy.to_params) or _left_to_photo(read.items):
        return read
    return Route(read.text, PLAN, LEARNED, items=read.items, check_plan=policy.check_plan and bool(read.items))


def explicit_params(text: str | None) -> dict | None:
    """The values of ``text`` written as parameters (``"exposure +0.7, shadows +30"``), else None.

    Only syntax is read, so this is quick enough for the GUI thread. ValueError names a value out
    of range.
    """
    from retouch_studio.model.params import looks_like_params, parse_params

    text = (text or "").strip()
    return parse_params(text) if text and looks_like_params(text) else None


@lru_cache(maxsize=512)
def _read(text: str) -> Route:
    """What the words alone decide (the parameter renderer serves): kind, parameters, plan, refusal."""
    from retouch_studio.model.instructions import ContentEditError, check_instruction
    from retouch_studio.model.instructions.reading import not_done_items

    if not text:
        return Route(text, AUTO, RENDERER)
    params = explicit_params(text)
    if params is not None:
        return Route(text, PARAM, RENDERER, params=MappingProxyType(params))
    try:
        reading = check_instruction(text)  # NotUnderstoodError (a ValueError) when nothing was read
    except ContentEditError as exc:
        return Route(text, PLAN, RENDERER, refused=exc)
    from retouch_studio.model.style.reference import split_style_reference

    if split_style_reference(text)[0] is not None:
        return Route(text, STYLE, RENDERER)
    items = reading.plan + not_done_items(reading)
    return Route(text, PLAN, RENDERER, items=tuple(MappingProxyType(dict(item)) for item in items))


def _left_to_photo(items) -> bool:
    """What the words leave to the photo ("fix the exposure"), constraints ("keep the highlights")
    and parts that cannot be done ("remove the trailer") are served by the parameter renderer."""
    return any(item.get("photo") or item.get("constraint") or item.get("source") == "not_done" for item in items)


def params_route(params: Mapping[str, float]) -> Route:
    """The route of explicit parameters given as values (``{"exposure": 0.7}``) rather than text;
    ValueError names an unknown or out-of-range one."""
    from retouch_studio.model.params import check_params, format_params

    values = check_params(dict(params))
    return Route(format_params(values), PARAM, RENDERER, params=MappingProxyType(values))


def _sent_to_params(items: tuple[Mapping, ...], patterns: tuple[str, ...]) -> bool:
    keys = []
    for item in items:
        sign = "+1" if item.get("direction", 1) >= 0 else "-1"
        keys += [item["attribute"], f"{item['attribute']}:{sign}"]
    return any(fnmatch(key, pattern) for key in keys for pattern in patterns)


def keeps_learned_edit(route: Route, before: np.ndarray, after: np.ndarray) -> bool:
    """The plan check: whether a learned edit (``after``, of ``before``; small ``(h, w, 3)``
    copies) visibly does what ``route``'s plan asks. An empty plan leaves nothing to check
    against, so the learned reading stands."""
    from retouch_studio.model.instructions.visible import shows_plan

    return not route.items or shows_plan(before, after, [dict(item) for item in route.items])
