"""The router decides, once, how every instruction is served: one table of cases."""

import numpy as np
import pytest

from retouch_studio.model.engines.loader import load_predictor
from retouch_studio.model.engines.router import AUTO, LEARNED, PARAM, PLAN, RENDERER, Route, RoutingPolicy, route
from retouch_studio.model.instructions import ContentEditError

SHIPPED = RoutingPolicy(learned=True, to_params=("*_sat", "*_hue", "vignette"), check_plan=True)
RENDERER_ONLY = RoutingPolicy(learned=False)
PLAIN = RoutingPolicy()


@pytest.mark.parametrize(
    "text, policy, kind, engine, check_plan, refused",
    [
        ("", SHIPPED, AUTO, RENDERER, False, False),
        ("   ", PLAIN, AUTO, RENDERER, False, False),
        ("exposure +0.7, temperature -10", SHIPPED, PARAM, RENDERER, False, False),
        ("shadows: 30", PLAIN, PARAM, RENDERER, False, False),
        ("make it warmer", SHIPPED, PLAN, LEARNED, True, False),
        ("make it warmer", PLAIN, PLAN, LEARNED, False, False),
        ("make it warmer", RENDERER_ONLY, PLAN, RENDERER, False, False),
        ("make the blues more saturated", SHIPPED, PLAN, RENDERER, False, False),
        ("make the blues more saturated", PLAIN, PLAN, LEARNED, False, False),
        ("remove the person", SHIPPED, PLAN, RENDERER, False, True),
        # a mixed request does its tone part (the hat is reported as not done) on the renderer
        ("make it warmer and add a hat", PLAIN, PLAN, RENDERER, False, False),
        ("add a hat", PLAIN, PLAN, RENDERER, False, True),
        ("crop it to a square", RENDERER_ONLY, PLAN, RENDERER, False, True),
    ],
)
def test_route_table(text, policy, kind, engine, check_plan, refused):
    r = route(text, policy)
    assert isinstance(r, Route)
    assert (r.kind, r.engine, r.check_plan, r.refused is not None) == (kind, engine, check_plan, refused)
    if kind == PARAM:
        assert r.params and not r.items
    if kind == PLAN and not refused:
        assert r.items and all("attribute" in item for item in r.items)


def test_routes_are_frozen_values():
    r = route("make it warmer", SHIPPED)
    with pytest.raises(AttributeError):
        r.engine = RENDERER  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.items[0]["attribute"] = "tint"  # type: ignore[index]
    assert route("make it warmer", SHIPPED) == r


def test_explicit_parameters_are_parsed_exactly():
    assert dict(route("exposure +0.7, temperature -10").params) == {"exposure": 0.7, "temperature": -10.0}
    with pytest.raises(ValueError, match="out of range"):
        route("exposure +9")


def test_a_refused_route_names_the_instruction():
    r = route("remove the person")
    with pytest.raises(ContentEditError, match="remove the person"):
        r.raise_if_refused()
    route("make it warmer").raise_if_refused()


def test_policy_read_from_a_model_config():
    config = {"engine": "compact", "route_to_params": ["*_sat"], "verify_with_plan": True}
    assert RoutingPolicy.from_config(config) == RoutingPolicy(True, ("*_sat",), True)
    assert RoutingPolicy.from_config({"engine": "params"}).learned is False


def test_the_loaded_model_serves_what_the_router_decides(tmp_path):
    # A params model serves every route with the renderer and refuses content edits.
    (tmp_path / "config.json").write_text('{"engine": "params", "grid_shape": [8, 4, 4]}')
    predictor = load_predictor(tmp_path)
    proxy = np.full((32, 48, 3), 0.4, np.float32)
    assert predictor.predict(proxy, "make it warmer").plan[0]["attribute"] == "temperature"
    assert predictor.predict(proxy, route("exposure +1", predictor.policy)).plan[0]["amount"] == 1.0
    with pytest.raises(ContentEditError):
        predictor.predict(proxy, "remove the person")
