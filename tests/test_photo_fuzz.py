"""Fuzz the loaders: random bytes, truncations and bit flips of real files.

Whatever the bytes, ``load_photo`` / ``load_preview`` either return a well-formed Photo or raise
a ``PhotoError``; nothing else escapes. Examples are few so the file runs in seconds
(``RETOUCH_FUZZ_EXAMPLES`` raises the count).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from retouch_studio.model.imaging import PhotoError, load_photo, load_preview, save_photo
from tests.dng import mosaic, test_scene, write_dng

# RETOUCH_FUZZ_EXAMPLES=2000 for a deeper (minutes long) run; random seeds then, too.
_EXAMPLES = int(os.environ.get("RETOUCH_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=_EXAMPLES, deadline=None, derandomize=_EXAMPLES <= 25, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _samples(root: Path) -> dict[str, bytes]:
    """Small real files of every format (from a committed photo, plus a DNG)."""
    photo = sorted((Path(__file__).parent / "data").glob("*.jpg"))[0]
    with Image.open(photo) as im:
        px = np.asarray(im.convert("RGB").resize((96, 64)))
    out = {}
    for fmt, suffix in [("jpeg", ".jpg"), ("png", ".png"), ("png16", ".png"), ("tiff16", ".tif"), ("webp", ".webp")]:
        path = save_photo(root / f"s_{fmt}{suffix}", px, fmt, alpha=px[..., 0].copy() if fmt == "png" else None)
        out[fmt] = path.read_bytes()
    write_dng(root / "s.dng", mosaic(test_scene(32, 48)))
    out["dng"] = (root / "s.dng").read_bytes()
    return out


SUFFIX = {"jpeg": ".jpg", "png": ".png", "png16": ".png", "tiff16": ".tif", "webp": ".webp", "dng": ".dng"}


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, bytes]:
    return _samples(tmp_path_factory.mktemp("fuzz_src"))


def _check(path: Path) -> None:
    for loader in (load_photo, lambda p: load_preview(p, 32)):
        try:
            ph = loader(path)
        except PhotoError as exc:
            assert exc.path == str(path) and exc.reason
            continue
        assert ph.pixels.ndim == 3 and ph.pixels.shape[2] == 3 and ph.pixels.dtype in (np.uint8, np.uint16)
        assert ph.alpha is None or ph.alpha.shape == ph.pixels.shape[:2]


@FUZZ
@given(data=st.binary(min_size=0, max_size=2048), suffix=st.sampled_from(sorted(set(SUFFIX.values()) | {".cr2", ".nef"})))
def test_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    _check(path)


@FUZZ
@given(kind=st.sampled_from(sorted(SUFFIX)), cut=st.floats(0.0, 0.999))
def test_truncations(tmp_path, samples, kind, cut):
    data = samples[kind]
    path = tmp_path / f"cut{SUFFIX[kind]}"
    path.write_bytes(data[: int(len(data) * cut)])
    _check(path)


@FUZZ
@given(kind=st.sampled_from(sorted(SUFFIX)), flips=st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(0, 7)), min_size=1, max_size=8))
def test_bit_flips(tmp_path, samples, kind, flips):
    data = bytearray(samples[kind])
    for where, bit in flips:
        data[int(len(data) * where)] ^= 1 << bit
    path = tmp_path / f"flip{SUFFIX[kind]}"
    path.write_bytes(bytes(data))
    _check(path)


@FUZZ
@given(kind=st.sampled_from(sorted(SUFFIX)), where=st.integers(0, 400), junk=st.binary(min_size=1, max_size=16))
def test_header_damage(tmp_path, samples, kind, where, junk):
    """Headers are where decoders trust sizes and offsets: overwrite bytes near the start."""
    data = bytearray(samples[kind])
    where = min(where, len(data) - 1)
    data[where : where + len(junk)] = junk
    path = tmp_path / f"head{SUFFIX[kind]}"
    path.write_bytes(bytes(data))
    _check(path)


def test_samples_are_valid(samples, tmp_path):
    """The fuzz seeds themselves decode (otherwise the fuzzing above proves little)."""
    for kind, data in samples.items():
        path = tmp_path / f"ok{SUFFIX[kind]}"
        path.write_bytes(data)
        ph = load_photo(path)
        assert ph.pixels.shape[:2] in ((64, 96), (32, 48)), kind
        path.unlink()
