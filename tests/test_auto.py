"""Auto mode: degraded photos get closer to the original, good photos are barely touched.

Degradations are made with the param renderer (exposure, white balance, tint); the correction goes
through the real path (proxy -> auto_params -> grid fitted on the proxy -> slice). Distances are
mean CIEDE2000 to the original photo.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from retouch_studio.model.color import mean_delta_e
from retouch_studio.model.grid.ops import bilateral_apply
from retouch_studio.model.instructions import auto_params
from retouch_studio.model.instructions.auto import estimate_cast
from retouch_studio.model.params import params_to_grid, render_pixels


def _small(path, size=160):
    im = Image.open(path).convert("RGB")
    im.thumbnail((size, size))
    return np.asarray(im).astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def photos(photo_paths):
    return {p.name: _small(p) for p in photo_paths}


def _auto(x):
    p = auto_params(x)
    grid = params_to_grid(p, (8, 16, 16), proxy=x)
    t = torch.from_numpy(x).permute(2, 0, 1)[None]
    return bilateral_apply(torch.from_numpy(grid)[None], t).clamp(0, 1)[0].permute(1, 2, 0).numpy(), p


def _improvement(photos, degradation):
    before, after = [], []
    for x in photos.values():
        y = render_pixels(x, degradation)
        before.append(mean_delta_e(y, x))
        after.append(mean_delta_e(_auto(y)[0], x))
    return np.array(before), np.array(after)


def test_good_photos_are_barely_touched(photos):
    # Measured on the 8 test photos: median 0.0, mean ~1.7 (one dark night scene is brightened).
    changes = [mean_delta_e(_auto(x)[0], x) for x in photos.values()]
    assert np.median(changes) < 1.0, changes
    assert np.mean(np.array(changes) < 1.5) >= 0.6, changes


def test_underexposed_photos_improve(photos):
    before, after = _improvement(photos, {"exposure": -1.5})
    # Measured: mean dE 15.9 -> ~9; most photos improve.
    assert after.mean() < 0.75 * before.mean(), (before, after)
    assert np.mean(after < before) >= 0.75


def test_overexposed_photos_improve(photos):
    before, after = _improvement(photos, {"exposure": 1.0})
    assert after.mean() < before.mean(), (before, after)


@pytest.mark.parametrize("cast", [{"temperature": 50}, {"temperature": -50}, {"tint": -40}])
def test_colour_casts_improve(photos, cast):
    before, after = _improvement(photos, cast)
    assert after.mean() < before.mean(), (cast, before, after)
    assert np.mean(after <= before + 0.05) >= 0.6, (cast, before, after)


def test_cast_estimate_follows_the_cast(photos):
    x = photos["aitzgorri_by_Aitzol_Berasategi.jpg"]
    rb0, _ = estimate_cast(x)
    rb_warm, _ = estimate_cast(render_pixels(x, {"temperature": 50}))
    rb_cool, _ = estimate_cast(render_pixels(x, {"temperature": -50}))
    assert rb_warm > rb0 + 0.1 and rb_cool < rb0 - 0.1


def test_strength_grows_with_degradation(photos):
    x = photos["aitzgorri_by_Aitzol_Berasategi.jpg"]
    evs = [auto_params(render_pixels(x, {"exposure": -d})).get("exposure", 0.0) for d in (0.0, 1.5, 2.5)]
    assert evs[0] <= evs[1] < evs[2], evs
    assert evs[2] > 0.5
    assert evs[0] == pytest.approx(0.0, abs=0.05)


def test_bad_proxy():
    with pytest.raises(ValueError, match="proxy"):
        auto_params(np.zeros((10, 10)))
    with pytest.raises(ValueError, match="NaN"):
        auto_params(np.full((8, 8, 3), np.nan, np.float32))


def test_restricted_to_the_attributes_named(photos):
    y = render_pixels(photos["aitzgorri_by_Aitzol_Berasategi.jpg"], {"exposure": -1.5, "temperature": 50})
    assert set(auto_params(y, ("exposure",))) == {"exposure"}
