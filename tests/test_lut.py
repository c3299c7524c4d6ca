"""model.lut: CIEDE2000, trilinear lookup, LUT fitting, .cube read/write, Pillow parity."""

import numpy as np
import pytest
from PIL import Image, ImageFilter

from retouch_studio.model import lut as L

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula", Table 1 (selected pairs,
# covering the hue-averaging branches and the blue-region rotation term).
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
]


def _photo(photo_path, long_edge=320):
    im = Image.open(photo_path).convert("RGB")
    im.thumbnail((long_edge, long_edge))
    return np.asarray(im)


def _global_edit(u8):
    """A smooth global look: colour matrix, then a gamma lift (what a LUT can represent)."""
    f = u8.astype(np.float64) / 255.0
    m = np.array([[1.08, 0.04, 0.0], [0.0, 1.0, 0.03], [-0.04, 0.0, 0.9]])
    return (np.clip(np.clip(f @ m.T, 0, 1) ** 0.8 + 0.02, 0, 1)).astype(np.float32)


@pytest.mark.parametrize("lab1,lab2,expected", SHARMA)
def test_ciede2000_reference_pairs(lab1, lab2, expected):
    assert float(L.delta_e_2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-4)
    # symmetric
    assert float(L.delta_e_2000(np.array(lab2), np.array(lab1))) == pytest.approx(expected, abs=1e-4)


def test_srgb_to_lab_reference_values():
    lab = L.srgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.02)  # sRGB red, D65


def test_identity_lut_layout_red_fastest():
    lut = L.identity_lut(3)
    flat = lut.reshape(-1, 3)
    np.testing.assert_array_equal(flat[:3], [[0, 0, 0], [0.5, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(flat[3], [0, 0.5, 0])
    np.testing.assert_array_equal(flat[9], [0, 0, 0.5])


def test_apply_identity_and_trilinear_reference():
    rng = np.random.default_rng(0)
    rgb = rng.random((50, 3))
    np.testing.assert_allclose(L.apply_lut(L.identity_lut(5), rgb), rgb, atol=1e-6)
    lut = rng.random((4, 4, 4, 3)).astype(np.float32)
    for p in rgb[:10]:
        c = p * 3
        i = np.minimum(np.floor(c).astype(int), 2)
        t = c - i
        ref = np.zeros(3)
        for db in (0, 1):
            for dg in (0, 1):
                for dr in (0, 1):
                    w = (t[0] if dr else 1 - t[0]) * (t[1] if dg else 1 - t[1]) * (t[2] if db else 1 - t[2])
                    ref += w * lut[i[2] + db, i[1] + dg, i[0] + dr]
        np.testing.assert_allclose(L.apply_lut(lut, p[None]), ref[None], atol=1e-5)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"\(S, S, S, 3\)"):
        L.apply_lut(np.zeros((4, 4, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="LUT size"):
        L.identity_lut(1)
    with pytest.raises(ValueError, match="smoothness"):
        L.fit_lut(np.zeros((4, 3)), np.zeros((4, 3)), size=5, smoothness=0)
    with pytest.raises(ValueError, match="matching"):
        L.fit_lut(np.zeros((4, 3)), np.zeros((5, 3)), size=5)


def test_merge_colors_equivalent():
    src = np.array([[1, 2, 3], [1, 2, 3], [9, 9, 9]], np.uint8)
    dst = np.array([[0.1, 0.2, 0.3], [0.3, 0.4, 0.5], [0.9, 0.9, 0.9]])
    colors, mean, counts = L.merge_colors(src, dst)
    np.testing.assert_allclose(colors * 255, [[1, 2, 3], [9, 9, 9]])
    np.testing.assert_allclose(mean, [[0.2, 0.3, 0.4], [0.9, 0.9, 0.9]])
    np.testing.assert_array_equal(counts, [2, 1])


def test_no_edit_gives_identity_everywhere(photo_path):
    src = _photo(photo_path, 160)
    fit = L.fit_photo_lut(src, src.astype(np.float32) / 255, size=9)
    np.testing.assert_allclose(fit.lut, L.identity_lut(9), atol=1e-5)
    assert fit.delta_e_mean < 1e-3


def test_empty_cells_follow_the_edit():
    # Data only in a dark-grey corner; a constant offset must spread to the empty cells.
    rng = np.random.default_rng(1)
    src = rng.random((400, 3)) * 0.3
    lut, _ = L.fit_lut(src, src + 0.05, size=9, smoothness=1e-3)
    far = np.array([[0.6, 0.5, 0.7], [0.8, 0.2, 0.4]])
    np.testing.assert_allclose(L.apply_lut(lut, far), far + 0.05, atol=2e-3)


def test_fit_reproduces_global_edit(photo_path):
    src = _photo(photo_path)
    dst = _global_edit(src)
    before = float(L.delta_e_rgb(src / 255.0, dst).mean())
    fit = L.fit_photo_lut(src, dst, size=33)
    assert before > 5  # the edit is visible
    assert fit.delta_e_mean < 0.3 and fit.delta_e_p95 < 1.0
    assert fit.pixels == src.shape[0] * src.shape[1]
    # colours the photo does not contain are still close to the true look
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (2000, 3)).astype(np.uint8)
    de = L.delta_e_rgb(L.apply_lut(fit.lut, rgb), _global_edit(rgb[None])[0])
    assert np.median(de) < 3


def test_cube_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    lut = rng.random((5, 5, 5, 3)).astype(np.float32)
    path = L.write_cube(tmp_path / "look.cube", lut, title='warm "film"', comments=["made by a test", "line two"])
    text = path.read_text()
    lines = text.splitlines()
    assert lines[:2] == ["# made by a test", "# line two"]
    assert "TITLE \"warm 'film'\"" in text and "LUT_3D_SIZE 5" in text
    assert "DOMAIN_MIN 0.0 0.0 0.0" in text and "DOMAIN_MAX 1.0 1.0 1.0" in text
    first = [float(v) for v in lines[6].split()]
    np.testing.assert_allclose(first, lut[0, 0, 0], atol=1e-6)
    second = [float(v) for v in lines[7].split()]
    np.testing.assert_allclose(second, lut[0, 0, 1], atol=1e-6)  # red fastest
    cube = L.read_cube(path)
    np.testing.assert_allclose(cube.lut, lut, atol=1e-6)
    assert cube.title == "warm 'film'"
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    "body,match",
    [
        ("LUT_1D_SIZE 4\n", "1D LUTs"),
        ("0 0 0\n", "no LUT_3D_SIZE"),
        ("LUT_3D_SIZE 2\n0 0 0\n", "expected 8 table rows"),
        ("LUT_3D_SIZE 2\n" + "0 0 x\n" * 8, "line 2"),
        ("LUT_3D_SIZE 2\nDOMAIN_MIN 1 1 1\nDOMAIN_MAX 0 0 0\n" + "0 0 0\n" * 8, "DOMAIN_MIN"),
    ],
)
def test_read_cube_errors(tmp_path, body, match):
    p = tmp_path / "bad.cube"
    p.write_text(body)
    with pytest.raises(L.CubeError, match=match) as info:
        L.read_cube(p)
    assert info.value.path == str(p)


def test_read_cube_missing_and_binary(tmp_path):
    with pytest.raises(L.CubeError, match="file not found"):
        L.read_cube(tmp_path / "none.cube")
    p = tmp_path / "bin.cube"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(L.CubeError, match="cannot read"):
        L.read_cube(p)


def test_write_cube_unwritable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(L.CubeError, match="cannot write"):
        L.write_cube(blocker / "look.cube", L.identity_lut(2))


def test_pillow_color3dlut_matches_fit(photo_path, tmp_path):
    """The written .cube, applied by another implementation, reproduces the edit within the
    reported ΔE (plus Pillow's 8-bit output rounding)."""
    src = _photo(photo_path)
    dst = _global_edit(src)
    fit = L.fit_photo_lut(src, dst, size=17)
    cube = L.read_cube(L.write_cube(tmp_path / "look.cube", fit.lut))
    size = cube.lut.shape[0]
    flt = ImageFilter.Color3DLUT(size, cube.lut.reshape(-1).tolist())
    out = np.asarray(Image.fromarray(src).filter(flt)).astype(np.float32) / 255
    de = float(L.delta_e_rgb(out, dst).mean())
    assert de <= fit.delta_e_mean + 0.35
    np.testing.assert_allclose(out, L.apply_lut(cube.lut, src), atol=2.5 / 255)


def test_cube_domain_is_honoured(tmp_path):
    # a LUT over [0, 2]: node k of 3 sits at input k; this one halves the input
    rows = [(r / 2, g / 2, b / 2) for b in range(3) for g in range(3) for r in range(3)]
    p = tmp_path / "wide.cube"
    p.write_text("LUT_3D_SIZE 3\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 2 2 2\n" + "".join(f"{r} {g} {b}\n" for r, g, b in rows))
    cube = L.read_cube(p)
    assert cube.domain_max == (2.0, 2.0, 2.0)
    np.testing.assert_allclose(cube.apply(np.array([[1.0, 0.5, 2.0]])), [[0.5, 0.25, 1.0]], atol=1e-6)
