"""Camera RAW through LibRaw, on DNG files written by tests/dng.py."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest
import rawpy
import tifffile
from PIL import Image

from retouch_studio.model.imaging import CorruptPhotoError, EmptyFileError, PhotoError, UnsupportedPhotoError, load_photo, load_preview, save_photo
from retouch_studio.model.imaging.raw import RawOptions, load_raw, load_raw_preview
from tests.dng import mosaic, srgb_encode, test_scene, write_dng

H, W = 120, 180


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return test_scene(H, W)


@pytest.fixture(scope="module")
def dng(tmp_path_factory, scene):
    path = tmp_path_factory.mktemp("raw") / "scene.dng"
    write_dng(path, mosaic(scene), make="Retouch", model="Synthetic Bayer")
    return path


def _rawpy_reference(path, **params) -> np.ndarray:
    """rawpy with explicit settings (its defaults auto-brighten and use daylight WB), sRGB curve in float."""
    settings = dict(
        use_camera_wb=True,
        no_auto_bright=True,
        output_bps=16,
        gamma=(1.0, 1.0),
        output_color=rawpy.ColorSpace.sRGB,
        adjust_maximum_thr=0.0,
        highlight_mode=rawpy.HighlightMode.Clip,
    )
    settings.update(params)
    with rawpy.imread(str(path)) as raw:
        linear = raw.postprocess(**settings)
    return srgb_encode(linear / 65535.0)


def test_full_decode_matches_rawpy_with_explicit_settings(dng):
    ph = load_photo(dng)
    assert ph.pixels.dtype == np.uint16 and ph.pixels.shape == (H, W, 3) and ph.pixels.flags.c_contiguous
    assert ph.info["format"] == "RAW" and ph.info["raw"]["white_balance"] == "camera"
    assert np.abs(ph.pixels / 65535.0 - _rawpy_reference(dng)).max() < 2e-5


def test_decode_reproduces_the_scene(dng, scene):
    """Black/white level, ColorMatrix and AsShotNeutral are honoured: the scene comes back in sRGB."""
    got = load_photo(dng).pixels / 65535.0
    expected = srgb_encode(scene)
    inner = np.s_[4:-4, 4:-4]
    assert np.median(np.abs(got - expected)[inner]) < 0.004
    bands = [0.02, 0.05, 0.1, 0.18, 0.35, 0.6, 0.9]  # the grey step wedge of test_scene
    for i, grey in enumerate(bands):
        x = int((i + 0.5) * W / len(bands))
        patch = got[int(H * 0.85) : int(H * 0.95), x - 4 : x + 4].reshape(-1, 3).mean(axis=0)
        assert np.abs(patch - srgb_encode(grey)).max() < 0.01, grey  # neutral, right level


def test_white_balance_and_highlight_settings(dng, tmp_path, scene):
    daylight = load_photo(dng, white_balance="daylight").pixels
    auto = load_photo(dng, white_balance="auto").pixels
    ref = _rawpy_reference(dng, use_camera_wb=False, use_auto_wb=True)
    assert np.abs(auto / 65535.0 - ref).max() < 2e-5
    assert daylight.shape == auto.shape

    bright = tmp_path / "bright.dng"
    write_dng(bright, mosaic(np.clip(scene * 3.0, 0, 1)))
    for mode, rp in [("clip", rawpy.HighlightMode.Clip), ("blend", rawpy.HighlightMode.Blend)]:
        got = load_photo(bright, highlights=mode).pixels / 65535.0
        assert np.abs(got - _rawpy_reference(bright, highlight_mode=rp)).max() < 2e-5, mode
    with pytest.raises(ValueError):
        RawOptions(white_balance="tungsten")
    with pytest.raises(TypeError):
        load_photo(bright, exposure=2)


def test_half_size_and_orientation(tmp_path, scene):
    upright = tmp_path / "o1.dng"
    rotated = tmp_path / "o6.dng"
    write_dng(upright, mosaic(scene))
    write_dng(rotated, mosaic(scene), orientation=6)
    a = load_photo(upright).pixels
    b = load_photo(rotated).pixels
    assert b.shape == (W, H, 3) and load_photo(rotated).info["orientation"] == 6
    assert np.array_equal(b, np.rot90(a, -1))
    half = load_raw(upright, RawOptions(half_size=True))
    assert half.pixels.shape == (H // 2, W // 2, 3)


def test_preview_from_embedded_thumbnail_and_half_size(tmp_path, scene):
    thumb = (srgb_encode(scene) * 255 + 0.5).astype(np.uint8)
    thumb[:10] = (255, 0, 0)  # mark it so we can tell where the preview came from
    with_thumb = tmp_path / "thumb.dng"
    write_dng(with_thumb, mosaic(scene), preview=thumb)
    prev = load_preview(with_thumb, 1024)
    assert prev.info["preview_source"] == "thumbnail" and prev.info["size"] == (W, H)
    assert prev.pixels.dtype == np.uint8 and tuple(prev.pixels[2, 50]) == (255, 0, 0)

    plain = tmp_path / "plain.dng"
    write_dng(plain, mosaic(scene), orientation=8)
    prev = load_raw_preview(plain, 64)
    assert prev.info["preview_source"] == "half-size" and max(prev.pixels.shape[:2]) == 64
    assert prev.info["size"] == (H, W) and prev.pixels.shape[0] > prev.pixels.shape[1]  # upright portrait
    full = load_photo(plain).pixels
    ref = np.asarray(Image.fromarray((full >> 8).astype(np.uint8)).resize(prev.pixels.shape[1::-1], Image.Resampling.BOX))
    assert np.abs(prev.pixels.astype(int) - ref).mean() < 6


def test_dng_opens_edits_and_exports_16bit_tiff_at_sensor_size(tmp_path, scene):
    """Issue 3 'done when': a DNG opens, edits and exports as a 16-bit TIFF at sensor size."""
    src = tmp_path / "shot.dng"
    write_dng(src, mosaic(scene), make="Acme", model="Sensor 9000")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    ph = load_photo(src)
    edited = (ph.pixels.astype(np.float32) * 0.8).astype(np.uint16)
    out = save_photo(tmp_path / "shot.tif", replace(ph, pixels=edited), "tiff16")
    with tifffile.TiffFile(out) as tif:
        page = tif.pages.first
        assert page.shape == (H, W, 3) and page.dtype == np.uint16
        assert np.array_equal(page.asarray(), edited)
    back = load_photo(out)
    ex = Image.Exif()
    ex.load(back.exif[6:])
    assert ex.get(271) == "Acme" and ex.get(272) == "Sensor 9000"
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before


def test_bad_raw_files(tmp_path, dng):
    data = dng.read_bytes()
    cases = {
        "empty.nef": (b"", EmptyFileError),
        "garbage.cr2": (np.random.default_rng(0).bytes(3000), UnsupportedPhotoError),
        "text.arw": (b"not a raw file\n" * 100, UnsupportedPhotoError),
        "cut.dng": (data[: len(data) // 2], CorruptPhotoError),
        "header.dng": (data[:200], CorruptPhotoError),
    }
    for name, (content, error) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        for loader in (load_photo, load_preview):
            with pytest.raises(error) as info:
                loader(path)
            assert name in str(info.value) and isinstance(info.value, PhotoError)
