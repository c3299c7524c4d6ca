"""Bilateral-space ops: torch (differentiable) and fused CPU kernel against the slow reference."""

import numpy as np
import pytest
import torch
from PIL import Image

from retouch_studio.model.grid import cpu_slice as fast
from retouch_studio.model.grid.ops import (
    BilateralSlice,
    Guidance,
    GuidanceParams,
    apply_affine,
    bilateral_apply,
    blend,
    gamut_penalty,
    grid_laplacian,
    guidance_map,
    identity_grid,
    refine_mask,
    slice_grid,
    slice_reference,
    strength_grid,
)
from retouch_studio.model.pipeline import _apply_torch
from retouch_studio.model.engines.base import Prediction

RNG = np.random.default_rng(1234)


def random_grid(depth=7, gh=5, gw=9, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    g = identity_grid(1, depth, gh, gw).numpy()[0]
    return (g + rng.normal(0, noise, g.shape)).astype(np.float32)


def random_guidance(knots=8, seed=0):
    rng = np.random.default_rng(seed)
    curves = np.sort(rng.random((3, knots + 1)), axis=1).astype(np.float32)
    return GuidanceParams(curves, np.array([0.3, 0.5, 0.25], np.float32), -0.03)


def to_t(rgb):
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]


def from_t(t):
    return t[0].permute(1, 2, 0).detach().numpy()


def torch_apply(grid, rgb, gp, strength=1.0, mask=None):
    x = to_t(rgb.astype(np.float32))
    c, m, b = gp.tensors()
    mt = None if mask is None else torch.from_numpy(mask)[None, None]
    return from_t(bilateral_apply(torch.from_numpy(grid)[None], x, guidance_map(x, c, m, b), strength, mt))


@pytest.fixture(scope="module")
def photo_rgb(photo_path):
    with Image.open(photo_path) as im:
        return np.asarray(im.convert("RGB"))


# ---------------------------------------------------------------- identity


def test_identity_grid_shape_and_values():
    g = identity_grid(2, 8, 16, 12)
    assert g.shape == (2, 12, 8, 16, 12)
    a = g[0, :, 3, 5, 7].view(3, 4)
    assert torch.equal(a, torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]]))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_identity_grid_returns_input_fast(photo_rgb, dtype):
    px = photo_rgb[:101, :77]
    if dtype == np.uint16:
        px = px.astype(np.uint16) * 257 + 3
    elif dtype == np.float32:
        px = px.astype(np.float32) / 255.0
    grid = identity_grid(1, 8, 16, 16).numpy()[0]
    out = fast.slice_apply(np.ascontiguousarray(px), grid, random_guidance())
    assert out.dtype == px.dtype
    if dtype == np.float32:
        np.testing.assert_allclose(out, px, atol=1e-6)
    else:
        assert np.array_equal(out, px)


def test_identity_grid_returns_input_torch():
    x = torch.rand(2, 3, 19, 23)
    out = bilateral_apply(identity_grid(2, 8, 4, 6), x)
    torch.testing.assert_close(out, x, atol=1e-6, rtol=0)


# ---------------------------------------------------------------- reference parity


@pytest.mark.parametrize("shape", [(13, 29), (31, 17), (1, 7)])
@pytest.mark.parametrize("grid_dims", [(7, 5, 9), (2, 1, 3), (5, 11, 2)])
def test_torch_and_fast_match_reference_float(shape, grid_dims):
    h, w = shape
    grid = random_grid(*grid_dims)
    gp = random_guidance()
    rgb = RNG.random((h, w, 3)).astype(np.float32)
    ref = slice_reference(grid, rgb, gp)
    np.testing.assert_allclose(torch_apply(grid, rgb, gp), ref, atol=2e-5)
    np.testing.assert_allclose(fast.slice_apply(rgb, grid, gp), ref, atol=2e-5)


@pytest.mark.parametrize("dtype,scale", [(np.uint8, 255), (np.uint16, 65535)])
def test_fast_integer_paths_match_reference(dtype, scale):
    grid = random_grid(6, 4, 7, noise=0.1, seed=3)
    gp = random_guidance(seed=3)
    px = (RNG.random((23, 37, 3)) * scale).astype(dtype)
    ref = np.clip(slice_reference(grid, px / scale, gp) * scale, 0, scale)
    out = fast.slice_apply(px, grid, gp)
    assert out.dtype == dtype
    # rounding to nearest: within half a level plus float32 noise
    assert np.abs(out.astype(np.float64) - ref).max() <= 0.5 + 1e-3 * scale / 255


@pytest.mark.parametrize("dtype,scale", [(np.float32, 1.0), (np.uint8, 255), (np.uint16, 65535)])
def test_fast_straight_guidance_and_long_rows_match_reference(dtype, scale):
    """Straight curves (any mix and bias) take the kernel's computed-guidance path, and rows
    longer than a segment are cut into several; both must keep the definition."""
    grid = random_grid(5, 3, 2, noise=0.1, seed=7)
    lum = GuidanceParams.luminance()
    gp = GuidanceParams(lum.curves, np.array([0.5, 0.3, 0.3], np.float32), -0.05)
    rgb = RNG.random((4, 3 * fast.SEGMENT_PIXELS + 7, 3))
    px = rgb.astype(np.float32) if dtype == np.float32 else (rgb * scale).astype(dtype)
    ref = slice_reference(grid, px / scale, gp) * scale
    out = fast.slice_apply(px, grid, gp, 0.7)
    ref = px + 0.7 * (ref - px)
    if dtype == np.float32:
        np.testing.assert_allclose(out, ref, atol=2e-5)
    else:
        assert np.abs(out.astype(np.float64) - np.clip(ref, 0, scale)).max() <= 0.5 + 1e-3 * scale / 255


def test_fast_in_place_equals_out_of_place(photo_rgb):
    grid = random_grid(8, 6, 10, noise=0.1, seed=5)
    px = np.ascontiguousarray(photo_rgb)
    expected = fast.slice_apply(px, grid, None, 0.9)
    same = px.copy()
    assert fast.slice_apply(same, grid, None, 0.9, out=same) is same
    np.testing.assert_array_equal(same, expected)


def test_torch_band_path_matches_fast():
    """The CUDA code path (torch, banded) computed on the CPU equals the fused kernel."""
    grid = random_grid(8, 6, 10, noise=0.1, seed=5)
    gp = random_guidance(seed=5)
    px = (RNG.random((57, 83, 3)) * 65535).astype(np.uint16)
    pred = Prediction(grid, gp)
    import retouch_studio.model.pipeline as pipeline

    old = pipeline._CUDA_BAND_PIXELS
    pipeline._CUDA_BAND_PIXELS = 83 * 10  # force several bands
    try:
        banded = _apply_torch(px, pred, 0.8, None, "cpu")
    finally:
        pipeline._CUDA_BAND_PIXELS = old
    ref = fast.slice_apply(px, grid, gp, 0.8)
    assert np.abs(banded.astype(int) - ref.astype(int)).max() <= 1


# ---------------------------------------------------------------- strength and masks


def test_strength_zero_returns_input_exactly(photo_rgb):
    grid = random_grid(8, 16, 16, seed=2)
    out = fast.slice_apply(photo_rgb, grid, None, 0.0)
    assert np.array_equal(out, photo_rgb)
    x = torch.rand(1, 3, 11, 13)
    torch.testing.assert_close(bilateral_apply(torch.from_numpy(grid)[None], x, strength=0.0), x, atol=0, rtol=0)


def test_strength_is_linear():
    grid = random_grid(seed=4)
    rgb = RNG.random((21, 18, 3)).astype(np.float32)
    gp = GuidanceParams.luminance()
    full = fast.slice_apply(rgb, grid, gp, 1.0) - rgb
    for s in (0.25, 0.5, 1.5, 2.0):
        np.testing.assert_allclose(fast.slice_apply(rgb, grid, gp, s) - rgb, s * full, atol=1e-5)
    # A_s = I + s (A - I) sliced equals the blended output
    x = to_t(rgb)
    g = torch.from_numpy(grid)[None]
    torch.testing.assert_close(
        bilateral_apply(strength_grid(g, 1.7), x), bilateral_apply(g, x, strength=1.7), atol=1e-5, rtol=0
    )


def test_mask_zero_is_input_and_one_is_full():
    grid = random_grid(seed=6)
    rgb = RNG.random((15, 22, 3)).astype(np.float32)
    zero = np.zeros((15, 22), np.float32)
    np.testing.assert_array_equal(fast.slice_apply(rgb, grid, None, 1.3, zero), rgb)
    one = np.ones((15, 22), np.float32)
    np.testing.assert_allclose(fast.slice_apply(rgb, grid, None, 1.3, one), fast.slice_apply(rgb, grid, None, 1.3), atol=1e-6)
    half = np.full((15, 22), 0.5, np.float32)
    np.testing.assert_allclose(fast.slice_apply(rgb, grid, None, 1.0, half), fast.slice_apply(rgb, grid, None, 0.5), atol=1e-6)
    gp = GuidanceParams.luminance()
    ramp = np.linspace(0, 1, 15 * 22, dtype=np.float32).reshape(15, 22)
    np.testing.assert_allclose(fast.slice_apply(rgb, grid, gp, 0.9, ramp), torch_apply(grid, rgb, gp, 0.9, ramp), atol=2e-5)


def test_tiling_equals_untiled(photo_rgb):
    grid = random_grid(8, 16, 16, noise=0.05, seed=8)
    a = fast.slice_apply(photo_rgb, grid, random_guidance())
    for rows in (1, 7, 64, 10_000):
        assert np.array_equal(fast.slice_apply(photo_rgb, grid, random_guidance(), rows_per_tile=rows), a)


def test_refine_mask_snaps_to_edges():
    # Left half dark, right half bright; a rough stroke spills 6 px over the edge.
    h, w = 48, 72
    rgb = torch.full((1, 3, h, w), 0.1)
    rgb[..., 32:] = 0.9
    rough = torch.zeros(1, 1, h, w)
    rough[..., 8:40, 4:38] = 1.0
    refined = refine_mask(rough, rgb, cell=8, depth=8)
    assert refined.shape == rough.shape
    spill = refined[..., 12:36, 33:37].mean()
    inside = refined[..., 12:36, 10:28].mean()
    assert inside > 0.9
    assert spill < 0.25
    # Without an edge (flat photo) the same stroke keeps its spill: the refinement follows edges.
    flat = refine_mask(rough, torch.full((1, 3, h, w), 0.5), cell=8, depth=8)
    assert flat[..., 12:36, 33:37].mean() > spill + 0.3
    assert float(refined.min()) >= 0.0 and float(refined.max()) <= 1.0


def test_blend_u8_preview():
    orig = (RNG.random((30, 40, 3)) * 255).astype(np.uint8)
    edit = (RNG.random((30, 40, 3)) * 255).astype(np.uint8)
    assert np.array_equal(fast.blend_u8(orig, edit, 0.0), orig)
    assert np.array_equal(fast.blend_u8(orig, edit, 1.0), edit)
    ref = np.clip(orig + 1.5 * (edit.astype(float) - orig), 0, 255)
    assert np.abs(fast.blend_u8(orig, edit, 1.5).astype(float) - ref).max() <= 1
    mask = np.zeros((30, 40), np.uint8)
    mask[:, 20:] = 255
    out = fast.blend_u8(orig, edit, 1.0, mask)
    assert np.array_equal(out[:, :20], orig[:, :20]) and np.array_equal(out[:, 20:], edit[:, 20:])


# ---------------------------------------------------------------- gradients and modules


def test_gradcheck_slice_apply():
    torch.manual_seed(0)
    grid = (identity_grid(1, 4, 3, 3, dtype=torch.float64) + 0.1 * torch.randn(1, 12, 4, 3, 3, dtype=torch.float64))
    grid.requires_grad_(True)
    rgb = torch.rand(1, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    guide = torch.rand(1, 1, 5, 6, dtype=torch.float64) * 0.9 + 0.05
    guide.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda g, x, z: apply_affine(slice_grid(g, z), x), (grid, rgb, guide), eps=1e-6, atol=1e-4)


def test_gradcheck_guidance_curves():
    torch.manual_seed(1)
    rgb = torch.rand(1, 3, 4, 5, dtype=torch.float64) * 0.9 + 0.05
    curves = torch.linspace(0, 1, 9, dtype=torch.float64).repeat(3, 1).requires_grad_(True)
    mix = torch.tensor([0.3, 0.4, 0.2], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(0.01, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda c, m, b: guidance_map(rgb, c, m, b), (curves, mix, bias), eps=1e-6, atol=1e-4)


def test_module_equals_function_and_learns():
    torch.manual_seed(2)
    mod = BilateralSlice()
    grid = identity_grid(1, 8, 4, 4) + 0.05 * torch.randn(1, 12, 8, 4, 4)
    x = torch.rand(1, 3, 16, 16)
    expected = bilateral_apply(grid, x, guidance_map(x))  # untrained guidance = luminance
    torch.testing.assert_close(mod(grid, x), expected, atol=1e-6, rtol=0)
    loss = mod(grid, x).sum()
    loss.backward()
    assert mod.guidance.curves.grad is not None and mod.guidance.curves.grad.abs().sum() > 0
    assert isinstance(mod.guidance, Guidance)
    p = mod.guidance.params()
    assert p.curves.shape == (3, 17) and GuidanceParams.from_dict(p.to_dict()).curves.shape == (3, 17)


def test_regularisers():
    g = identity_grid(1, 8, 6, 6)
    assert float(grid_laplacian(g)) == 0.0
    bumpy = g.clone()
    bumpy[0, 3, 4, 3, 3] = 0.5
    assert float(grid_laplacian(bumpy)) > 0.0
    assert float(gamut_penalty(torch.rand(1, 3, 4, 4))) == 0.0
    assert float(gamut_penalty(torch.full((1, 3, 4, 4), 1.2))) > 0.0


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="grid must be"):
        slice_grid(torch.zeros(1, 9, 8, 4, 4), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="rgb must be"):
        apply_affine(torch.zeros(1, 12, 4, 4), torch.zeros(1, 4, 4, 4))
    with pytest.raises(ValueError, match="mask must be"):
        blend(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), 1.0, torch.zeros(1, 1, 3, 4))
    with pytest.raises(ValueError, match="pixels must be"):
        fast.slice_apply(np.zeros((4, 4), np.uint8), random_grid())
    with pytest.raises(ValueError, match="uint8, uint16 or float32"):
        fast.slice_apply(np.zeros((4, 4, 3), np.int32), random_grid())
    with pytest.raises(ValueError, match="mask must be"):
        fast.slice_apply(np.zeros((4, 4, 3), np.uint8), random_grid(), mask=np.zeros((3, 3), np.float32))


def test_colour_conversion_is_one_definition_for_numpy_and_torch():
    from retouch_studio.model import color

    x = np.random.default_rng(0).uniform(-0.1, 1.1, (300, 3))
    ref = color.srgb_to_lab_torch(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(color.srgb_to_lab(x), ref, atol=1e-9)
    assert isinstance(color.srgb_to_lab(x), np.ndarray)
