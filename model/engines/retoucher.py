"""A model folder as one predictor: the router in front; the learned engine and the parameter
renderer behind it.

:func:`model.engines.loader.load_predictor` returns a :class:`Retoucher`. Its
:meth:`Retoucher.predict` asks the router (``model.engines.router``) how the instruction is
served, hands it to that engine, and runs the plan check when the route asks for it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from retouch_studio.model.engines.base import Prediction, Predictor
from retouch_studio.model.engines.param_renderer import ParamRenderer, param_items
from retouch_studio.model.engines.router import (
    AUTO,
    LEARNED,
    PARAM,
    PLAN,
    STYLE,
    Route,
    RoutingPolicy,
    keeps_learned_edit,
    route,
)

# Worded edits that the parameter renderer serves for a learned model are fitted on a proxy this
# small: it keeps the colour distribution and makes the least-squares fit ~10x cheaper than 512 px.
PLAN_FIT_EDGE = 128
# The plan check compares the photo with the learned edit at this size.
PLAN_CHECK_EDGE = 64


class Retoucher:
    """``predict(proxy, instruction)`` for one model folder (the ``Predictor`` protocol).

    learned: the folder's learned engine, or None for a parameter-renderer folder. exact: renders
    auto mode and explicit parameters. plan_renderer: renders the worded edits routed away from the
    learned engine (default: ``exact``).
    """

    def __init__(
        self,
        learned: Predictor | None,
        policy: RoutingPolicy,
        exact: ParamRenderer,
        plan_renderer: ParamRenderer | None = None,
    ):
        self.learned = learned
        self.policy = policy
        self.exact = exact
        self.plan_renderer = plan_renderer or exact
        self.model_id = learned.model_id if learned is not None else exact.model_id

    def route(self, instruction: str) -> Route:
        return route(instruction, self.policy)

    def prepare_text(self, instruction: str | Route) -> None:
        """Do the text work now (routing, the learned engine's text encoding), so a following
        :meth:`predict` runs only the image side (``retouch apply --timings`` times them apart)."""
        r = instruction if isinstance(instruction, Route) else self.route(instruction)
        prepare = getattr(self.learned, "prepare_text", None)
        if r.engine == LEARNED and prepare is not None:
            prepare(r.text)

    def predict(self, proxy: np.ndarray, instruction: str | Route) -> Prediction:
        """proxy ``(h, w, 3)`` float32 in ``[0, 1]``; ``instruction`` as text or as the route
        already made for it. Raises ``ContentEditError`` for a refused one."""
        r = instruction if isinstance(instruction, Route) else self.route(instruction)
        r.raise_if_refused()
        if r.kind == STYLE:
            from retouch_studio.model.style.predictor import predict_with_style
            from retouch_studio.model.style.store import load_style

            # The style renders first; its words come back here as an instruction of their own.
            return predict_with_style(proxy, r.text, self.predict, load_style)
        if r.engine == LEARNED:
            learned = self.learned.predict(proxy, r.text)
            if not r.check_plan or self._shows_plan(proxy, learned, r):
                # What was understood is the plan the edit was checked against.
                return replace(learned, plan=[dict(item, source="learned") for item in r.items] or learned.plan)
        return self._render(np.asarray(proxy, np.float32), r)

    def _render(self, proxy: np.ndarray, r: Route) -> Prediction:
        if r.kind != PLAN:
            return self.exact.predict(proxy, *params_for(r, proxy))
        if self.learned is not None:
            proxy = _shrink(proxy, PLAN_FIT_EDGE)
        return self.plan_renderer.predict(proxy, *params_for(r, proxy))

    def _shows_plan(self, proxy: np.ndarray, learned: Prediction, r: Route) -> bool:
        from retouch_studio.model.pipeline import apply_prediction

        small = _shrink(np.asarray(proxy, np.float32), PLAN_CHECK_EDGE)
        return keeps_learned_edit(r, small, apply_prediction(small, learned))


def params_for(r: Route, proxy: np.ndarray) -> tuple[dict, list[dict]]:
    """The parameter values the renderer uses for route ``r`` on this photo, and the plan items
    that report them: auto mode measures the proxy, explicit values stay as written, worded edits
    are scaled so they show on this photo. Raises ``ContentEditError`` for a refused route."""
    from retouch_studio.model.instructions import auto_params

    r.raise_if_refused()
    if r.kind == AUTO:
        params = auto_params(proxy)
        return params, param_items(params, "auto")
    if r.kind == PARAM:
        params = dict(r.params)
        return params, param_items(params, "param")
    from retouch_studio.model.instructions.reading import Reading, resolve

    items = [dict(item) for item in r.items if item.get("source") != "not_done"]
    not_done = [dict(item) for item in r.items if item.get("source") == "not_done"]
    # Worded edits made visible on this photo, what the words leave open from the photo,
    # constraints held (model.instructions.reading.resolve).
    params, items = resolve(Reading(r.text, "plan", items), proxy)
    return params, items + not_done


def _shrink(proxy: np.ndarray, edge: int) -> np.ndarray:
    from retouch_studio.model.imaging import make_proxy

    return make_proxy(proxy, edge) if max(proxy.shape[:2]) > edge else proxy
