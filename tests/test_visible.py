"""Worded edits made visible on the photo (model.instructions.visible) and the contrast pivot."""

import numpy as np
import pytest

from retouch_studio.model.color import srgb_to_lab
from retouch_studio.model.instructions import plan, plan_to_params, visible_params
from retouch_studio.model.instructions.visible import MAX_GAIN, median_luma, shows_plan
from retouch_studio.model.engines.loader import load_renderer
from retouch_studio.model.params import render_pixels
from retouch_studio.model.imaging import load_photo, make_proxy
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def proxy(name, size=128):
    return make_proxy(load_photo(DATA / name).pixels, size)


def lab_mean(rgb):
    return srgb_to_lab(np.clip(rgb, 0, 1)).reshape(-1, 3).mean(0)


def spread(rgb):
    L = srgb_to_lab(np.clip(rgb, 0, 1))[..., 0]
    return float(np.abs(L - L.mean()).mean())


def test_warmer_on_a_yellow_photo_is_scaled_up():
    # A photo that is already yellow barely moves in b* with the plain amount (+0.6 b*).
    px = proxy("mate_YellowFlower.jpg")
    items = plan("make it warmer")
    base = plan_to_params(items)
    scaled = visible_params(base, items, px)
    assert base["temperature"] < scaled["temperature"] <= MAX_GAIN * base["temperature"] + 1e-6
    before = lab_mean(render_pixels(px, base))[2] - lab_mean(px)[2]
    after = lab_mean(render_pixels(px, scaled))[2] - lab_mean(px)[2]
    assert after > 1.5 * before


def test_a_bright_colourful_photo_is_not_pushed_further():
    px = proxy("Bridge_by_Sander_Klootwijk.jpg")  # +7 b* with the plain amount
    items = plan("make it warmer")
    base = plan_to_params(items)
    assert visible_params(base, items, px)["temperature"] == pytest.approx(base["temperature"])


def test_explicit_parameters_are_never_scaled():
    px = proxy("plasma_DarkestHour.jpg")
    shown = load_renderer().predict(px, "temperature +10").plan
    assert {item["attribute"]: item["amount"] for item in shown} == {"temperature": 10.0}


def test_contrast_turns_about_the_photos_middle_tones():
    px = proxy("plasma_DarkestHour.jpg")
    pivot = median_luma(px)
    assert pivot < 0.35
    # At the default pivot (0.5) the curve is the plain smoothstep S about middle grey.
    ramp = np.linspace(0, 1, 64, dtype=np.float32)[None, :, None].repeat(3, 2)
    plain = render_pixels(ramp, {"contrast": 50})
    assert np.allclose(plain, render_pixels(ramp, {"contrast": 50, "contrast_pivot": 0.5}), atol=1e-6)
    y = ramp[0, :, 0]
    assert np.allclose(plain[0, :, 0], y + 0.5 * (y * y * (3 - 2 * y) - y), atol=2e-3)
    # About the photo's own median the same amount spreads a dark photo's tones more.
    about_grey = spread(render_pixels(px, {"contrast": 50})) - spread(px)
    about_median = spread(render_pixels(px, {"contrast": 50, "contrast_pivot": pivot})) - spread(px)
    assert about_median > about_grey and about_median > 1.0


def test_worded_contrast_gets_the_pivot():
    px = proxy("plasma_DarkestHour.jpg")
    items = plan("more contrast")
    params = visible_params(plan_to_params(items), items, px)
    assert params["contrast"] > 0 and params["contrast_pivot"] == pytest.approx(max(0.2, median_luma(px)), abs=1e-3)


def test_shows_plan_checks_direction_size_and_side_effects():
    px = proxy("Bridge_by_Sander_Klootwijk.jpg")
    warmer = plan("make it warmer")
    assert shows_plan(px, render_pixels(px, {"temperature": 40}), warmer)
    assert not shows_plan(px, render_pixels(px, {"temperature": -40}), warmer)  # wrong way
    assert not shows_plan(px, render_pixels(px, {"temperature": 2}), warmer)  # too small to see
    assert not shows_plan(px, render_pixels(px, {"temperature": 40, "exposure": -1.5}), warmer)  # unasked
    assert not shows_plan(px, px, [])
    assert not shows_plan(px, render_pixels(px, {"vignette": -50}), plan("add a vignette"))  # cannot check
