"""Photos in and out: decoding, orientation, colour management, metadata, exports, bad files."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from retouch_studio.model import imaging as P
from retouch_studio.model.imaging import encode
from retouch_studio.model.imaging import (
    FORMATS,
    CorruptPhotoError,
    EmptyFileError,
    NotAnImageError,
    Photo,
    PhotoError,
    PhotoExistsError,
    PhotoNotFoundError,
    SourceOverwriteError,
    TooLargeError,
    UnsupportedPhotoError,
    is_supported,
    load_photo,
    load_preview,
    make_preview,
    make_proxy,
    save_photo,
    to_float,
)
from tests.dng import srgb_decode, srgb_encode

ADOBE_RGB_PRIMARIES = [(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)]
P3_PRIMARIES = [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)]
SRGB_PRIMARIES = [(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)]
D65 = (0.3127, 0.3290)


def _rgb_profile(primaries, gamma: float) -> bytes:
    """An RGB matrix/TRC ICC profile (LittleCMS through imagecodecs)."""
    flat = [v for xy in primaries for v in (*xy, 1.0)]
    return imagecodecs.cms_profile("rgb", whitepoint=[*D65, 1.0], primaries=flat, gamma=gamma)


def _rgb_to_xyz(primaries) -> np.ndarray:
    def xyz(x, y):
        return np.array([x / y, 1.0, (1 - x - y) / y])

    m = np.stack([xyz(*p) for p in primaries], axis=1)
    return m * np.linalg.solve(m, xyz(*D65))


def _reference_to_srgb(encoded: np.ndarray, primaries, gamma: float) -> np.ndarray:
    """Independent float reference: decode gamma, primaries -> sRGB primaries (same white), clip, sRGB curve."""
    linear = np.power(encoded, gamma) @ (np.linalg.inv(_rgb_to_xyz(SRGB_PRIMARIES)) @ _rgb_to_xyz(primaries)).T
    return srgb_encode(np.clip(linear, 0.0, 1.0))


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _exif_block(orientation: int = 1) -> bytes:
    ex = Image.Exif()
    ex[271] = "Canon"
    ex[272] = "EOS R5"
    ex[306] = "2024:05:01 10:00:00"
    ex[0x0112] = orientation
    ex[0x8769] = {
        0x9003: "2024:05:01 09:59:58",
        0xA434: "RF24-70mm F2.8 L IS USM",
        0x829D: 2.8,
        0x8827: 400,
        0xA002: 12345,  # PixelXDimension, deliberately stale: exports rewrite it
        0xA003: 678,
    }
    ex[0x8825] = {1: "N", 2: (47.0, 30.0, 12.5), 3: "E", 4: (8.0, 10.0, 5.0)}
    return ex.tobytes()


def _read_exif(block: bytes | None) -> Image.Exif:
    assert block, "no EXIF"
    ex = Image.Exif()
    ex.load(block[6:] if block.startswith(b"Exif\x00\x00") else block)
    return ex


def _assert_capture_data(ex: Image.Exif) -> None:
    assert ex.get(271) == "Canon" and ex.get(272) == "EOS R5"
    assert ex.get(0x0112, 1) == 1
    sub = ex.get_ifd(0x8769)
    assert sub[0x9003] == "2024:05:01 09:59:58"
    assert sub[0xA434] == "RF24-70mm F2.8 L IS USM"
    assert float(sub[0x829D]) == pytest.approx(2.8)
    gps = ex.get_ifd(0x8825)
    assert gps[1] == "N" and [float(v) for v in gps[2]] == pytest.approx([47.0, 30.0, 12.5])


def _ramp16(h: int = 64, w: int = 1024) -> np.ndarray:
    """Every row a smooth 16-bit ramp with all-different values: 8 bits cannot hold it."""
    base = np.linspace(0, 65535, w * h).reshape(h, w)
    return np.stack([base, base[::-1], np.roll(base, 5, axis=1)], axis=-1).round().astype(np.uint16)


# ---------------------------------------------------------------------------------------------
# decoding


def test_loads_committed_photos(photo_paths):
    for path in photo_paths:
        ph = load_photo(path)
        with Image.open(path) as im:
            w, h = ImageOps.exif_transpose(im).size
        assert ph.pixels.shape == (h, w, 3) and ph.pixels.dtype == np.uint8
        assert ph.pixels.flags.c_contiguous and ph.bit_depth == 8
        assert ph.path == Path(path) and ph.info["format"] == "JPEG"
        if ph.info["source_mode"] == "L":
            assert np.array_equal(ph.pixels[..., 0], ph.pixels[..., 2])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    rng = np.random.default_rng(orientation)
    stored = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    path = tmp_path / "o.png"
    Image.fromarray(stored).save(path, exif=_exif_block(orientation))
    ph = load_photo(path)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert np.array_equal(ph.pixels, expected)
    assert ph.info["orientation"] == orientation
    assert _read_exif(ph.exif).get(0x0112) == 1  # the pixels are upright now
    assert ph.info["size"] == (expected.shape[1], expected.shape[0])


def test_grey_palette_cmyk_alpha_modes(tmp_path):
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    ph = load_photo(tmp_path / "g.png")
    assert np.array_equal(ph.pixels, np.repeat(grey[..., None], 3, axis=2)) and ph.alpha is None

    rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    ph = load_photo(tmp_path / "a.png")
    assert np.array_equal(ph.pixels, rgba[..., :3]) and np.array_equal(ph.alpha, rgba[..., 3])

    la = Image.fromarray(grey).convert("LA")
    la.putalpha(Image.fromarray(255 - grey))
    la.save(tmp_path / "la.png")
    ph = load_photo(tmp_path / "la.png")
    assert np.array_equal(ph.alpha, 255 - grey) and np.array_equal(ph.pixels[..., 1], grey)

    pal = Image.fromarray(rgba[..., :3]).quantize(16)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    ph = load_photo(tmp_path / "p.png")
    expected = np.asarray(Image.open(tmp_path / "p.png").convert("RGBA"))
    assert np.array_equal(ph.pixels, expected[..., :3]) and np.array_equal(ph.alpha, expected[..., 3])
    assert (ph.alpha == 0).any()

    Image.fromarray(grey > 128).save(tmp_path / "b.png")
    assert set(np.unique(load_photo(tmp_path / "b.png").pixels)) <= {0, 255}

    cmyk = Image.fromarray(rgba, "RGBA").convert("RGB").convert("CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=95)
    ph = load_photo(tmp_path / "c.jpg")
    assert np.array_equal(ph.pixels, np.asarray(Image.open(tmp_path / "c.jpg").convert("RGB")))

    g16 = (rng.random((20, 30)) * 65535).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    ph = load_photo(tmp_path / "g16.png")
    assert ph.pixels.dtype == np.uint16 and np.array_equal(ph.pixels[..., 2], g16)


def test_16bit_png_and_tiff_decoders(tmp_path):
    ramp = _ramp16(32, 300)
    (tmp_path / "r.png").write_bytes(imagecodecs.png_encode(ramp))  # libpng, not our writer
    tifffile.imwrite(tmp_path / "r.tif", ramp, photometric="rgb", compression="lzw")
    rgba = np.dstack([ramp, ramp[..., 0]])
    tifffile.imwrite(tmp_path / "a.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    for name in ("r.png", "r.tif"):
        ph = load_photo(tmp_path / name)
        assert ph.pixels.dtype == np.uint16 and np.array_equal(ph.pixels, ramp), name
    ph = load_photo(tmp_path / "a.tif")
    assert np.array_equal(ph.pixels, ramp) and np.array_equal(ph.alpha, ramp[..., 0])
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(ramp, -1, 0), photometric="rgb", planarconfig="separate")
    assert np.array_equal(load_photo(tmp_path / "planar.tif").pixels, ramp)
    grey_alpha = np.ascontiguousarray(ramp[..., :2])
    (tmp_path / "ga.png").write_bytes(imagecodecs.png_encode(grey_alpha))
    ph = load_photo(tmp_path / "ga.png")
    assert np.array_equal(ph.pixels[..., 1], ramp[..., 0]) and np.array_equal(ph.alpha, ramp[..., 1])


# ---------------------------------------------------------------------------------------------
# colour management


def test_adobe_rgb_jpeg_converted_with_littlecms(tmp_path):
    adobe = _rgb_profile(ADOBE_RGB_PRIMARIES, 563 / 256)
    rng = np.random.default_rng(2)
    src = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    path = tmp_path / "adobe.png"  # lossless so the reference sees the same numbers
    Image.fromarray(src).save(path, icc_profile=adobe)
    ph = load_photo(path)
    assert ph.info["icc_converted"] and ph.icc == P.srgb_profile()
    assert "RGB" in ph.info["icc_description"]
    reference = _reference_to_srgb(src / 255.0, ADOBE_RGB_PRIMARIES, 563 / 256) * 255
    assert np.abs(ph.pixels - reference).max() <= 1.6  # LittleCMS 8-bit vs float math
    assert np.abs(ph.pixels.astype(int) - src).max() > 20  # it really changed the numbers
    untouched = load_photo(path, convert_icc=False)
    assert np.array_equal(untouched.pixels, src) and untouched.icc == adobe


def test_display_p3_16bit_converted_exactly(tmp_path):
    p3 = _rgb_profile(P3_PRIMARIES, 2.2)
    ramp = _ramp16(16, 256)
    path = tmp_path / "p3.tif"
    tifffile.imwrite(path, ramp, photometric="rgb", iccprofile=p3)
    ph = load_photo(path)
    assert ph.pixels.dtype == np.uint16 and ph.info["icc_converted"]
    reference = _reference_to_srgb(ramp / 65535.0, P3_PRIMARIES, 2.2)
    assert np.abs(ph.pixels / 65535.0 - reference).max() < 2e-4
    assert len(np.unique(ph.pixels[..., 1])) > 2000  # still a 16-bit gradation


def test_srgb_profile_is_kept_untouched(tmp_path):
    rng = np.random.default_rng(3)
    src = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    Image.fromarray(src).save(tmp_path / "s.png", icc_profile=P.srgb_profile())
    ph = load_photo(tmp_path / "s.png")
    assert np.array_equal(ph.pixels, src) and not ph.info["icc_converted"] and ph.icc == P.srgb_profile()


def test_jpeg_keeps_exif_and_icc_through_an_edit(tmp_path, photo_path):
    """Issue 3 'done when': a JPEG with EXIF and an ICC profile keeps both through an edit."""
    adobe = _rgb_profile(ADOBE_RGB_PRIMARIES, 563 / 256)
    src_path = tmp_path / "shot.jpg"
    with Image.open(photo_path) as im:
        im.convert("RGB").save(src_path, quality=95, exif=_exif_block(6), icc_profile=adobe)
    before = _sha(src_path)
    ph = load_photo(src_path)
    assert ph.info["orientation"] == 6 and ph.info["icc_converted"]
    edited = np.clip(ph.pixels.astype(np.int16) + 20, 0, 255).astype(np.uint8)  # the "edit"
    for fmt in FORMATS:
        out = save_photo(tmp_path / f"out_{fmt}{FORMATS[fmt][0]}", replace(ph, pixels=edited), fmt)
        back = load_photo(out)
        ex = _read_exif(back.exif)
        _assert_capture_data(ex)
        assert (ex.get_ifd(0x8769)[0xA002], ex.get_ifd(0x8769)[0xA003]) == (edited.shape[1], edited.shape[0]), fmt
        assert back.icc is not None and "sRGB" in back.info["icc_description"], fmt
        assert not back.info["icc_converted"], fmt  # already sRGB: decoded as written
        assert back.pixels.shape == edited.shape, fmt
        tol = 6 if fmt in ("jpeg", "webp") else 1
        assert np.abs(to_float(back.pixels) * 255 - edited).mean() < tol, fmt
    assert _sha(src_path) == before


def test_strip_metadata_drops_exif_keeps_icc(tmp_path, photo_path):
    src = tmp_path / "s.jpg"
    with Image.open(photo_path) as im:
        im.save(src, exif=_exif_block())
    ph = load_photo(src)
    out = save_photo(tmp_path / "o.jpg", ph, strip_metadata=True)
    with Image.open(out) as im:
        assert "exif" not in im.info and im.info.get("icc_profile") == P.srgb_profile()


# ---------------------------------------------------------------------------------------------
# exports


@pytest.mark.parametrize(("fmt", "compression"), [("tiff16", "deflate"), ("tiff16", None), ("png16", None), ("tiff", None)])
def test_16bit_gradations_survive_export(tmp_path, fmt, compression):
    ramp = _ramp16()
    alpha = ramp[..., 1].copy()
    out = save_photo(tmp_path / "r", ramp, fmt, alpha=alpha, compression=compression)
    back = load_photo(out)
    assert back.pixels.dtype == np.uint16  # "tiff" keeps the pixels' depth
    assert np.array_equal(back.pixels, ramp) and np.array_equal(back.alpha, alpha)
    if fmt.startswith("tiff"):
        with tifffile.TiffFile(out) as tif:
            assert tif.pages.first.compression == (8 if compression else 1)
            assert tif.pages.first.tags[34675].value == P.srgb_profile()  # ICC embedded


def test_8bit_exports_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    px = rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (30, 50), dtype=np.uint8)
    for fmt, exact in [("png", True), ("tiff", True), ("webp", False), ("jpeg", False)]:
        out = save_photo(tmp_path / f"x.{fmt}", px, fmt, alpha=alpha, lossless=True)
        back = load_photo(out)
        assert back.pixels.dtype == np.uint8
        if exact:
            assert np.array_equal(back.pixels, px) and np.array_equal(back.alpha, alpha), fmt
        if fmt == "webp":
            assert np.array_equal(back.alpha, alpha)  # lossless WebP keeps alpha
        if fmt == "jpeg":
            assert back.alpha is None
    out = save_photo(tmp_path / "down.png", _ramp16(), "png", bit_depth=8)
    assert load_photo(out).pixels.dtype == np.uint8
    np.testing.assert_array_equal(load_photo(out).pixels, ((_ramp16().astype(np.uint32) + 128) // 257).astype(np.uint8))


def test_format_resolution_and_bad_arguments(tmp_path):
    px = np.zeros((4, 4, 3), np.uint8)
    assert P.resolve_format(None, "a.JPG") == "jpeg" and P.resolve_format("tif", None) == "tiff"
    with pytest.raises(UnsupportedPhotoError):
        save_photo(tmp_path / "a.bmp", px)
    with pytest.raises(UnsupportedPhotoError):
        save_photo(tmp_path / "a.jpg", px, "gif")
    with pytest.raises(UnsupportedPhotoError):
        save_photo(tmp_path / "a.jpg", px, bit_depth=16)
    with pytest.raises(ValueError):
        save_photo(tmp_path / "a.jpg", px[..., :2])
    with pytest.raises(ValueError):
        save_photo(tmp_path / "a.jpg", px, quality=0)
    assert list(tmp_path.iterdir()) == []


def test_writes_are_atomic_and_never_clobber(tmp_path, photo_path, monkeypatch):
    ph = load_photo(photo_path)
    target = tmp_path / "out.jpg"
    target.write_bytes(b"precious")
    with pytest.raises(PhotoExistsError):
        save_photo(target, ph)
    assert target.read_bytes() == b"precious"
    save_photo(target, ph, overwrite=True)
    assert load_photo(target).pixels.shape == ph.pixels.shape

    # the source is refused even with overwrite=True, by path or through a link to it
    with pytest.raises(SourceOverwriteError):
        save_photo(photo_path, ph, overwrite=True)
    link = tmp_path / "link.jpg"
    link.symlink_to(photo_path)
    with pytest.raises(SourceOverwriteError):
        save_photo(link, ph.pixels, source=photo_path, overwrite=True)

    # an encoder failing half-way leaves nothing behind
    def broken(f, *args):
        f.write(b"half a picture")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(encode, "_write_png", broken)
    with pytest.raises(P.PhotoWriteError, match="disk on fire"):
        save_photo(tmp_path / "new.png", ph)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jpg", "out.jpg"]

    with pytest.raises(P.PhotoWriteError):
        save_photo(tmp_path / "missing" / "x.jpg", ph)


# ---------------------------------------------------------------------------------------------
# bad input


def test_bad_files_raise_typed_errors_naming_the_file(tmp_path, photo_path):
    data = Path(photo_path).read_bytes()
    cases = {
        "empty.jpg": (b"", EmptyFileError),
        "text.jpg": (b"hello, this is not a picture\n" * 20, NotAnImageError),
        "truncated.jpg": (data[: len(data) // 3], CorruptPhotoError),
        "garbage.png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, CorruptPhotoError),
    }
    for name, (content, error) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(error) as info:
            load_photo(path)
        assert name in str(info.value) and info.value.path == str(path)
        assert isinstance(info.value, PhotoError) and info.value.kind
    with pytest.raises(PhotoNotFoundError):
        load_photo(tmp_path / "nope.jpg")
    with pytest.raises(NotAnImageError):
        load_photo(tmp_path)


def _png_with_size(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_refused_before_decoding(tmp_path, photo_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_with_size(20000, 15000))  # 300 MP declared in 100 bytes
    with pytest.raises(TooLargeError, match="300 MP"):
        load_photo(bomb)
    big_but_fine = tmp_path / "ok.png"
    big_but_fine.write_bytes(_png_with_size(15000, 15000))  # 225 MP: passes the size check
    with pytest.raises(CorruptPhotoError):  # ... and fails on its missing data instead
        load_photo(big_but_fine)
    with pytest.raises(TooLargeError):
        load_photo(photo_path, max_pixels=1000)
    assert load_photo(photo_path, max_pixels=1000, allow_large=True).pixels.size > 0
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's own global guard is restored


def test_batch_pattern_mixed_good_and_bad(tmp_path, photo_paths):
    """What the batch command relies on: bad files raise PhotoError, good ones export, inputs untouched."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for src in photo_paths[:3]:
        (inputs / src.name).write_bytes(src.read_bytes())
    (inputs / "empty.jpg").write_bytes(b"")
    (inputs / "cut.jpg").write_bytes(photo_paths[0].read_bytes()[:5000])
    (inputs / "notes.png").write_text("not a picture")
    (inputs / "garbage.cr2").write_bytes(np.random.default_rng(0).bytes(4096))
    hashes = {p.name: _sha(p) for p in inputs.iterdir()}
    out = tmp_path / "out"
    out.mkdir()
    bad = {}
    for path in sorted(p for p in inputs.iterdir() if is_supported(p)):
        try:
            ph = load_photo(path)
            save_photo(out / (path.stem + ".tif"), replace(ph, pixels=255 - ph.pixels), "tiff")
        except PhotoError as exc:
            bad[path.name] = exc.kind
    assert bad == {"cut.jpg": "corrupt", "empty.jpg": "empty", "garbage.cr2": "unsupported", "notes.png": "not-image"}
    assert sorted(p.name for p in out.iterdir()) == sorted(s.stem + ".tif" for s in photo_paths[:3])
    assert {p.name: _sha(p) for p in inputs.iterdir()} == hashes


def test_is_supported():
    assert is_supported("a/B.JPG") and is_supported("x.dng") and is_supported("y.CR3") and is_supported("t.tiff")
    assert not is_supported("notes.txt") and not is_supported(".hidden.jpg") and not is_supported("noext")


# ---------------------------------------------------------------------------------------------
# proxies and previews


def test_make_proxy_shapes_and_depths(photo_path):
    ph = load_photo(photo_path)
    proxy = make_proxy(ph.pixels)
    assert proxy.dtype == np.float32 and max(proxy.shape[:2]) == 512 and proxy.shape[2] == 3
    assert 0.0 <= proxy.min() and proxy.max() <= 1.0
    h, w = ph.pixels.shape[:2]
    assert proxy.shape[1] / proxy.shape[0] == pytest.approx(w / h, rel=0.01)
    from16 = make_proxy(ph.pixels.astype(np.uint16) * 257)
    from_float = make_proxy(to_float(ph.pixels))
    assert np.abs(from16 - proxy).max() < 3 / 255 and np.abs(from_float - from16).max() < 1e-5
    small = ph.pixels[:100, :80]
    assert make_proxy(small).shape == (100, 80, 3)  # never enlarged
    for px in (small, small.astype(np.uint16) * 257, to_float(small)):  # ... and scaled to [0, 1]
        np.testing.assert_allclose(make_proxy(px), to_float(small), atol=1e-6)


def test_box_reduce_is_the_block_mean():
    from retouch_studio.model.imaging.reduce import box_reduce

    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, (31, 47, 3)).astype(np.uint8)
    mean = px[:30, :45].astype(np.float64).reshape(10, 3, 15, 3, 3).mean((1, 3))
    edge = px[30:, 45:].astype(np.float64).mean((0, 1))  # the corner block holds 1 x 2 pixels
    assert np.abs(box_reduce(px, 3)[10, 15] - edge).max() <= 0.5 + 1e-4
    out = box_reduce(px, 3)[:10, :15]
    assert out.dtype == np.uint8
    assert np.abs(out - mean).max() <= 0.5 + 1e-4  # rounded to nearest
    np.testing.assert_allclose(box_reduce(px, 3, np.float32)[:10, :15], mean / 255, atol=1e-6)
    np.testing.assert_allclose(box_reduce(px.astype(np.uint16) * 257, 3)[:10, :15], mean / 255, atol=1e-6)
    np.testing.assert_allclose(box_reduce(px / 255.0, 3)[:10, :15], mean / 255, atol=1e-6)
    with pytest.raises(ValueError, match="larger than the picture"):
        box_reduce(px, 50)


def test_proxy_matches_pillow_resize(photo_path):
    """The fast proxy (parallel box reduce + LANCZOS on the small picture) stays close to a
    LANCZOS resize of the whole photo."""
    ph = load_photo(photo_path)
    big = np.asarray(Image.fromarray(ph.pixels).resize((2000, 1500), Image.Resampling.BICUBIC))
    ref = np.asarray(Image.fromarray(big).resize((512, 384), Image.Resampling.LANCZOS)) / 255.0
    proxy = make_proxy(big)
    assert proxy.shape == ref.shape
    # Same colours in the same places (the box filter is a little softer at edges): channel means
    # within a quarter level, 8 x 8 block means (the network sees 64 px) within a level or two.
    assert np.abs(proxy.mean((0, 1)) - ref.mean((0, 1))).max() < 0.25 / 255
    blocks = np.abs(proxy - ref).reshape(48, 8, 64, 8, 3).mean((1, 3))
    assert blocks.mean() < 1.0 / 255 and blocks.max() < 6 / 255


def test_proxy_is_antialiased():
    checker = (np.indices((1200, 1800)).sum(axis=0) % 2 * 255).astype(np.uint8)
    img = np.repeat(checker[..., None], 3, axis=2)
    for px in (img, img.astype(np.uint16) * 257):
        proxy = make_proxy(px, 256)
        assert abs(proxy.mean() - 0.5) < 0.01 and proxy.std() < 0.02  # a flat grey, no moire


def test_make_preview_fits_the_box(photo_path):
    ph = load_photo(photo_path)
    prev = make_preview(ph.pixels, (200, 100))
    assert prev.dtype == np.uint8 and prev.shape[0] <= 100 and prev.shape[1] <= 200 and prev.flags.c_contiguous
    assert make_preview(_ramp16(), 4000).shape == _ramp16().shape
    with pytest.raises(ValueError):
        make_preview(ph.pixels[..., 0], 100)


def test_load_preview_jpeg_uses_draft(tmp_path, photo_path):
    with Image.open(photo_path) as im:
        big = im.resize((im.width * 4, im.height * 4))
    path = tmp_path / "big.jpg"
    big.save(path, exif=_exif_block(8))
    prev = load_preview(path, 300)
    assert max(prev.pixels.shape[:2]) == 300 and prev.info["preview"]
    assert prev.info["size"] == (big.height, big.width)  # upright full size (orientation 8 swaps)
    full = load_photo(path)
    assert full.pixels.shape[:2] == (big.width, big.height)
    ref = make_preview(full.pixels, 300)
    assert prev.pixels.shape == ref.shape and np.abs(prev.pixels.astype(int) - ref).mean() < 4


def test_oversized_exif_is_trimmed_for_jpeg(tmp_path):
    """A PNG's eXIf has no size limit but a JPEG APP1 segment holds 64 KB: drop the MakerNote."""
    ex = _read_exif(_exif_block())
    sub = dict(ex.get_ifd(0x8769))
    sub[0x927C] = b"\x00" * 70_000  # a fat MakerNote
    ex[0x8769] = sub
    src = tmp_path / "fat.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src, exif=ex.tobytes())
    ph = load_photo(src)
    assert len(ph.exif) > 70_000
    back = load_photo(save_photo(tmp_path / "slim.jpg", ph))
    _assert_capture_data(_read_exif(back.exif))
    assert 0x927C not in _read_exif(back.exif).get_ifd(0x8769)
