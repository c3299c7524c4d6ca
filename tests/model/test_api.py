"""The Python API, used as a script would: real photo, shipped model, files on disk."""

import numpy as np
import pytest

from retouch_studio.model import api
from retouch_studio.model.color import srgb_to_lab
from retouch_studio.model.imaging import PhotoError, SourceOverwriteError
from retouch_studio.model.instructions import ContentEditError


@pytest.fixture(scope="module")
def photo(data_dir):
    return api.open_photo(data_dir / "Bridge_by_Sander_Klootwijk.jpg")


def mean_b(pixels):
    return float(srgb_to_lab(pixels[::8, ::8].astype(np.float64) / 255)[..., 2].mean())


def test_edit_apply_at_any_strength_and_mask(photo):
    warm = api.edit(photo, "make it warmer")
    assert warm.plan and warm.plan[0]["attribute"] == "temperature"
    full = warm.apply()
    assert full.shape == photo.pixels.shape and full.dtype == photo.pixels.dtype
    assert np.array_equal(warm.apply(strength=0.0), photo.pixels)
    assert mean_b(warm.apply(0.5)) - mean_b(photo.pixels) > 0.3
    assert mean_b(full) > mean_b(warm.apply(0.5))
    h, w = photo.pixels.shape[:2]
    left = np.zeros((h, w), np.float32)
    left[:, : w // 2] = 1.0
    masked = warm.apply(mask=left)
    assert np.array_equal(masked[:, -8:], photo.pixels[:, -8:])
    assert not np.array_equal(masked[:, :8], photo.pixels[:, :8])
    with pytest.raises(ValueError, match="mask must be"):
        warm.apply(mask=np.ones((4, 4)))


def test_params_as_values_or_text_give_the_same_edit(photo):
    a = api.edit(photo, params={"exposure": 0.5, "temperature": -20}).apply()
    b = api.edit(photo, "exposure +0.5, temperature -20").apply()
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="out of range"):
        api.edit(photo, params={"exposure": 9})
    with pytest.raises(ValueError, match="not both"):
        api.edit(photo, "warmer", params={"exposure": 1})


def test_auto_mode_and_refusal(photo):
    assert api.edit(photo).instruction == ""
    with pytest.raises(ContentEditError):
        api.edit(photo, "remove the bridge")


def test_plan_without_a_photo():
    assert api.plan("").kind == "auto"
    assert api.plan("exposure +0.7").params == {"exposure": 0.7}
    understood = api.plan("a bit warmer but not too bright")
    assert {item["attribute"] for item in understood.items} >= {"temperature"}
    assert api.plan("add a hat").refused is not None


def test_save_keeps_metadata_and_never_the_original(photo, tmp_path):
    out = api.save(photo, api.edit(photo, "make it brighter").apply(), tmp_path / "bright.png")
    again = api.open_photo(out)
    assert again.pixels.shape == photo.pixels.shape and again.pixels.mean() > photo.pixels.mean()
    with pytest.raises(SourceOverwriteError):
        api.save(photo, photo.pixels, photo.path, overwrite=True)
    with pytest.raises(PhotoError):
        api.open_photo(tmp_path / "missing.jpg")
