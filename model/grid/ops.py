"""Bilateral-space operations: the one definition every other part of Retouch Studio uses.

Conventions (shared by the differentiable torch ops here, the fused CPU kernel in
``model.fast`` and the slow reference in ``slice_reference``):

* A **grid** ``Γ`` has shape ``(B, 12, D, Gh, Gw)``. Channel ``4*i + j`` holds entry ``(i, j)`` of
  a 3x4 affine colour matrix ``A`` (row ``i`` = output channel R, G, B; column ``j`` = input R, G,
  B, 1). The identity grid has ``A = [I | 0]`` everywhere.
* **Colour values** are sRGB-encoded (the working space; see ``model.imaging``) and scaled to
  ``[0, 1]``. Tensors are channel-first ``(B, 3, H, W)``.
* **Spatial axes** are cell-centred: pixel column ``x`` of a ``W``-wide image sits at grid
  coordinate ``(x + 0.5) * Gw / W - 0.5``, clamped to ``[0, Gw - 1]`` (same for rows). This is
  exactly ``F.interpolate(mode="bilinear", align_corners=False)``.
* **Guidance axis** is node-aligned: guidance ``z`` in ``[0, 1]`` (clamped) sits at depth
  coordinate ``z * (D - 1)``, so depth node ``k`` is the affine transform for guidance
  ``k / (D - 1)``.
* **Guidance** ``z = clamp(sum_c mix_c * curve_c(clamp(rgb_c, 0, 1)) + bias, 0, 1)`` where each
  ``curve_c`` is piecewise linear through ``K + 1`` values at the knots ``j / K``. The default
  (luminance) guidance has straight curves and Rec. 709 luma weights.
* **Strength and mask**: ``A_s = I + s * m * (A - I)``; since ``O`` is linear in ``A`` this equals
  ``O = x + s * m * (A x - x)``, which is how it is computed. ``s = 0`` or ``m = 0`` returns
  the input exactly; ``s > 1`` amplifies.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from retouch_studio.model.grid.guidance import DEFAULT_CURVE_KNOTS, GRID_CHANNELS, LUMA_709, GuidanceParams  # noqa: F401


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def check_grid(grid: torch.Tensor) -> None:
    _check(
        isinstance(grid, torch.Tensor) and grid.dim() == 5 and grid.shape[1] == GRID_CHANNELS,
        f"grid must be a tensor of shape (B, 12, D, Gh, Gw), got {tuple(getattr(grid, 'shape', ()))}",
    )
    _check(grid.shape[2] >= 2, f"grid depth D must be >= 2, got {grid.shape[2]}")


def check_image(rgb: torch.Tensor, name: str = "image") -> None:
    _check(
        isinstance(rgb, torch.Tensor) and rgb.dim() == 4 and rgb.shape[1] == 3,
        f"{name} must be a tensor of shape (B, 3, H, W), got {tuple(getattr(rgb, 'shape', ()))}",
    )


# --------------------------------------------------------------------------------------------
# Grid construction
# --------------------------------------------------------------------------------------------


def identity_grid(
    batch: int = 1,
    depth: int = 8,
    height: int = 16,
    width: int = 16,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Grid of identity transforms, shape ``(batch, 12, depth, height, width)``."""
    eye = torch.zeros(GRID_CHANNELS, dtype=dtype, device=device)
    eye[[0, 5, 10]] = 1.0
    return eye.view(1, GRID_CHANNELS, 1, 1, 1).expand(batch, -1, depth, height, width).clone()


def identity_like(grid: torch.Tensor) -> torch.Tensor:
    b, _, d, h, w = grid.shape
    return identity_grid(b, d, h, w, dtype=grid.dtype, device=grid.device)


# --------------------------------------------------------------------------------------------
# Guidance
# --------------------------------------------------------------------------------------------


def apply_curves(values: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear per-channel curves.

    values: ``(B, 3, H, W)`` (clamped to ``[0, 1]`` here); curves: ``(3, K + 1)`` or
    ``(B, 3, K + 1)`` values at knots ``j / K``. Returns ``(B, 3, H, W)``.
    """
    k = curves.shape[-1] - 1
    _check(k >= 1, "curves need at least two knots")
    b = values.shape[0]
    if curves.dim() == 2:
        curves = curves.unsqueeze(0).expand(b, -1, -1)
    pos = values.clamp(0.0, 1.0) * k
    idx = pos.detach().floor().clamp(0, k - 1).long()
    t = pos - idx.to(pos.dtype)
    flat = idx.flatten(2)  # (B, 3, N)
    lo = torch.gather(curves, 2, flat).view_as(values)
    hi = torch.gather(curves, 2, flat + 1).view_as(values)
    return lo + t * (hi - lo)


def guidance_map(
    rgb: torch.Tensor,
    curves: torch.Tensor | None = None,
    mix: torch.Tensor | None = None,
    bias: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Guidance ``z`` in ``[0, 1]``: rgb ``(B, 3, H, W)`` -> ``(B, 1, H, W)``.

    With no ``curves``/``mix`` this is plain Rec. 709 luma of the encoded values.
    ``mix`` is ``(3,)`` or ``(B, 3)``; ``bias`` a scalar or ``(B,)``.
    """
    check_image(rgb, "rgb")
    if curves is not None:
        shaped = apply_curves(rgb, curves)
    else:
        shaped = rgb.clamp(0.0, 1.0)
    if mix is None:
        mix = torch.tensor(LUMA_709, dtype=rgb.dtype, device=rgb.device)
    mix = mix.to(rgb.dtype)
    if mix.dim() == 1:
        mix = mix.unsqueeze(0).expand(rgb.shape[0], -1)
    z = (shaped * mix[:, :, None, None]).sum(1, keepdim=True)
    bias = torch.as_tensor(bias, dtype=rgb.dtype, device=rgb.device)
    if bias.dim() == 1:
        bias = bias[:, None, None, None]
    return (z + bias).clamp(0.0, 1.0)


class Guidance(nn.Module):
    """Learned HDRNet-style guidance: per-channel piecewise-linear curves and a channel mix.

    Initialised to plain luminance, so an untrained model slices by luma.
    """

    def __init__(self, knots: int = DEFAULT_CURVE_KNOTS):
        super().__init__()
        p = GuidanceParams.luminance(knots)
        self.curves = nn.Parameter(torch.from_numpy(p.curves.copy()))
        self.mix = nn.Parameter(torch.from_numpy(p.mix.copy()))
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return guidance_map(rgb, self.curves, self.mix, self.bias)

    def params(self) -> GuidanceParams:
        return GuidanceParams(
            self.curves.detach().cpu().numpy().astype(np.float32),
            self.mix.detach().cpu().numpy().astype(np.float32),
            float(self.bias.detach()),
        )


# --------------------------------------------------------------------------------------------
# Slice and apply
# --------------------------------------------------------------------------------------------


def slice_grid(grid: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Trilinear slice: grid ``(B, 12, D, Gh, Gw)`` and guide ``(B, 1, H, W)`` -> ``(B, 12, H, W)``.

    Differentiable with respect to both the grid and the guide.
    """
    check_grid(grid)
    _check(
        guide.dim() == 4 and guide.shape[1] == 1 and guide.shape[0] == grid.shape[0],
        f"guide must be (B, 1, H, W) with B={grid.shape[0]}, got {tuple(guide.shape)}",
    )
    b, c, d, gh, gw = grid.shape
    h, w = guide.shape[-2:]
    # Spatial bilinear (cell-centred, clamped) on every depth slice.
    spatial = F.interpolate(
        grid.reshape(b, c * d, gh, gw), size=(h, w), mode="bilinear", align_corners=False
    ).view(b, c, d, h, w)
    # Linear along depth, node-aligned.
    pos = guide.clamp(0.0, 1.0) * (d - 1)
    idx = pos.detach().floor().clamp(0, d - 2).long()
    t = pos - idx.to(pos.dtype)  # (B, 1, H, W)
    index = idx.unsqueeze(1).expand(b, c, 1, h, w)
    lo = torch.gather(spatial, 2, index).squeeze(2)
    hi = torch.gather(spatial, 2, index + 1).squeeze(2)
    return lo + t * (hi - lo)


def apply_affine(coeffs: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    """``O = A · [r, g, b, 1]``: coeffs ``(B, 12, H, W)``, rgb ``(B, 3, H, W)`` -> ``(B, 3, H, W)``."""
    check_image(rgb, "rgb")
    _check(
        coeffs.dim() == 4 and coeffs.shape[1] == GRID_CHANNELS and coeffs.shape[-2:] == rgb.shape[-2:],
        f"coeffs must be (B, 12, H, W) matching rgb, got {tuple(coeffs.shape)} vs {tuple(rgb.shape)}",
    )
    a = coeffs.view(coeffs.shape[0], 3, 4, *coeffs.shape[-2:])
    return (a[:, :, :3] * rgb.unsqueeze(1)).sum(2) + a[:, :, 3]


def blend(
    rgb: torch.Tensor,
    edited: torch.Tensor,
    strength: float | torch.Tensor = 1.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``x + s * m * (edited - x)``; mask ``(B, 1, H, W)`` in ``[0, 1]`` or None."""
    weight = torch.as_tensor(strength, dtype=rgb.dtype, device=rgb.device)
    if weight.dim() == 1:
        weight = weight[:, None, None, None]
    if mask is not None:
        _check(
            mask.dim() == 4 and mask.shape[1] == 1 and mask.shape[-2:] == rgb.shape[-2:],
            f"mask must be (B, 1, H, W) matching the image, got {tuple(mask.shape)}",
        )
        weight = weight * mask
    return rgb + weight * (edited - rgb)


def bilateral_apply(
    grid: torch.Tensor,
    rgb: torch.Tensor,
    guide: torch.Tensor | None = None,
    strength: float | torch.Tensor = 1.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Slice ``grid`` with ``guide`` (luminance if None) and apply it to ``rgb`` with strength/mask."""
    check_image(rgb, "rgb")
    if guide is None:
        guide = guidance_map(rgb)
    edited = apply_affine(slice_grid(grid, guide), rgb)
    return blend(rgb, edited, strength, mask)


def strength_grid(grid: torch.Tensor, strength: float | torch.Tensor) -> torch.Tensor:
    """``I + s (Γ - I)`` as a grid (used where a scaled grid itself is needed, e.g. LUT export)."""
    ident = identity_like(grid)
    s = torch.as_tensor(strength, dtype=grid.dtype, device=grid.device)
    if s.dim() == 1:
        s = s[:, None, None, None, None]
    return ident + s * (grid - ident)


class BilateralSlice(nn.Module):
    """Module wrapper of :func:`bilateral_apply` with a learned :class:`Guidance`."""

    def __init__(self, knots: int = DEFAULT_CURVE_KNOTS):
        super().__init__()
        self.guidance = Guidance(knots)

    def forward(self, grid, rgb, strength=1.0, mask=None):
        return bilateral_apply(grid, rgb, self.guidance(rgb), strength, mask)


# --------------------------------------------------------------------------------------------
# Edge-aware mask refinement in bilateral space
# --------------------------------------------------------------------------------------------


def splat_mask_grid(
    mask: torch.Tensor,
    rgb: torch.Tensor,
    grid_hw: tuple[int, int],
    *,
    depth: int = 12,
    blur_passes: int = 2,
) -> torch.Tensor:
    """Splat ``mask`` into a bilateral grid guided by ``rgb``'s luminance, then blur it.

    mask ``(B, 1, H, W)``, rgb ``(B, 3, H, W)`` -> ``(B, 2, depth, Gh, Gw)``: channel 0 holds the
    summed mask, channel 1 the summed weights (their ratio, sliced, is the refined mask). The grid
    is resolution independent, so it may be built from a downscaled copy of the photo.
    """
    check_image(rgb, "rgb")
    b, _, h, w = rgb.shape
    gh, gw = grid_hw
    z = guidance_map(rgb)
    # Nearest splat in space, linear in depth.
    ys = torch.clamp((torch.arange(h, device=rgb.device) * gh) // h, 0, gh - 1)
    xs = torch.clamp((torch.arange(w, device=rgb.device) * gw) // w, 0, gw - 1)
    pos = z * (depth - 1)
    i0 = pos.floor().clamp(0, depth - 2).long()
    t = pos - i0.to(pos.dtype)
    cell_index = (ys[:, None] * gw + xs[None, :]).view(1, 1, h, w).expand(b, 1, h, w)
    values = torch.zeros(b, 2, depth * gh * gw, dtype=rgb.dtype, device=rgb.device)
    for offset, weight in ((0, 1.0 - t), (1, t)):
        flat = ((i0 + offset) * gh * gw + cell_index).view(b, 1, -1).expand(b, 2, -1)
        data = torch.cat([mask * weight, weight], 1).view(b, 2, -1)
        values.scatter_add_(2, flat, data)
    g = values.view(b, 2, depth, gh, gw)
    kernel = torch.tensor([0.25, 0.5, 0.25], dtype=rgb.dtype, device=rgb.device)
    for _ in range(blur_passes):
        for axis in (2, 3, 4):
            shape = [1, 1, 1, 1, 1]
            shape[axis] = 3
            pad = [0, 0, 0, 0, 0, 0]
            pad[2 * (4 - axis)] = pad[2 * (4 - axis) + 1] = 1
            gp = F.pad(g.view(b * 2, 1, depth, gh, gw), pad, mode="replicate")
            g = F.conv3d(gp, kernel.view(shape)).view(b, 2, depth, gh, gw)
    return g


def finish_refined_mask(num: torch.Tensor, den: torch.Tensor, sharpen: bool = True) -> torch.Tensor:
    """Normalise sliced mask sums by their weights; optionally smoothstep (see ``refine_mask``)."""
    refined = (num / den.clamp_min(1e-6)).clamp(0.0, 1.0)
    if sharpen:
        t = ((refined - 0.2) / 0.6).clamp(0.0, 1.0)
        refined = t * t * (3.0 - 2.0 * t)
    return refined


def refine_mask(
    mask: torch.Tensor,
    rgb: torch.Tensor,
    *,
    cell: int = 16,
    depth: int = 12,
    blur_passes: int = 2,
    sharpen: bool = True,
) -> torch.Tensor:
    """Snap a rough mask to the photo's edges: splat into a bilateral grid, blur, slice.

    mask ``(B, 1, H, W)`` in ``[0, 1]``, rgb ``(B, 3, H, W)``; ``cell`` is the spatial cell size in
    pixels, ``depth`` the number of luminance bins. Returns ``(B, 1, H, W)`` in ``[0, 1]``.
    Pixels on the far side of an edge fall into other luminance bins and so do not inherit the
    stroke, which is what makes a brush follow edges. With ``sharpen`` the normalised result goes
    through a smoothstep between 0.2 and 0.8, so inside each region the side most of the stroke
    covers wins and a small spill across an edge is dropped. (For full-resolution photos,
    ``model.recipe.refine_mask_np`` builds the grid from a downscaled copy and slices it with the
    fused kernel instead, which needs no ``2·D·H·W`` buffer.)
    """
    check_image(rgb, "rgb")
    b, _, h, w = rgb.shape
    gh, gw = max(1, -(-h // cell)), max(1, -(-w // cell))
    g = splat_mask_grid(mask, rgb, (gh, gw), depth=depth, blur_passes=blur_passes)
    # Slice back (trilinear) with the same guidance.
    z = guidance_map(rgb)
    pos = z * (depth - 1)
    i0 = pos.floor().clamp(0, depth - 2).long()
    t = pos - i0.to(pos.dtype)
    sliced = F.interpolate(
        g.reshape(b, 2 * depth, gh, gw), size=(h, w), mode="bilinear", align_corners=False
    ).view(b, 2, depth, h, w)
    idx = i0.unsqueeze(1).expand(b, 2, 1, h, w)
    lo = torch.gather(sliced, 2, idx).squeeze(2)
    hi = torch.gather(sliced, 2, idx + 1).squeeze(2)
    num_den = lo + t * (hi - lo)
    return finish_refined_mask(num_den[:, :1], num_den[:, 1:], sharpen)


# --------------------------------------------------------------------------------------------
# Regularisers (paper eq. 8)
# --------------------------------------------------------------------------------------------


def grid_laplacian(grid: torch.Tensor) -> torch.Tensor:
    """Mean squared 3D Laplacian of a grid ``(B, 12, D, Gh, Gw)`` (smoothness, paper eq. 8)."""
    check_grid(grid)
    b, c, d, h, w = grid.shape
    g = F.pad(grid.reshape(b * c, 1, d, h, w), (1, 1, 1, 1, 1, 1), mode="replicate")
    k = torch.zeros(1, 1, 3, 3, 3, dtype=grid.dtype, device=grid.device)
    k[0, 0, 1, 1, 1] = -6.0
    for z, y, x in ((0, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), (1, 1, 0), (1, 1, 2)):
        k[0, 0, z, y, x] = 1.0
    return F.conv3d(g, k).pow(2).mean()


def gamut_penalty(rgb: torch.Tensor) -> torch.Tensor:
    """Soft out-of-gamut penalty Ψ: mean squared distance of values outside ``[0, 1]``."""
    return (F.relu(-rgb).pow(2) + F.relu(rgb - 1.0).pow(2)).mean()


# --------------------------------------------------------------------------------------------
# Slow explicit reference (tests only)
# --------------------------------------------------------------------------------------------


def slice_reference(
    grid: np.ndarray,
    rgb: np.ndarray,
    guidance: GuidanceParams | None = None,
) -> np.ndarray:
    """Pixel-by-pixel trilinear slice-and-apply, written out with loops.

    grid ``(12, D, Gh, Gw)``, rgb ``(H, W, 3)`` float in ``[0, 1]`` -> ``(H, W, 3)`` float64.
    Deliberately independent of torch so the fast paths can be checked against it.
    """
    grid = np.asarray(grid, np.float64)
    rgb = np.asarray(rgb, np.float64)
    _, d, gh, gw = grid.shape
    h, w, _ = rgb.shape
    gp = guidance or GuidanceParams.luminance()
    curves = np.asarray(gp.curves, np.float64)
    k = curves.shape[1] - 1
    out = np.zeros((h, w, 3))

    def curve(c: int, v: float) -> float:
        v = min(max(v, 0.0), 1.0) * k
        j = min(int(np.floor(v)), k - 1)
        return curves[c, j] + (v - j) * (curves[c, j + 1] - curves[c, j])

    def axis(coord: float, n: int):
        coord = min(max(coord, 0.0), n - 1.0)
        i0 = min(int(np.floor(coord)), max(n - 2, 0))
        i1 = min(i0 + 1, n - 1)
        return i0, i1, coord - i0

    for y in range(h):
        y0, y1, ty = axis((y + 0.5) * gh / h - 0.5, gh)
        for x in range(w):
            x0, x1, tx = axis((x + 0.5) * gw / w - 0.5, gw)
            px = rgb[y, x]
            z = sum(float(gp.mix[c]) * curve(c, px[c]) for c in range(3)) + float(gp.bias)
            z0, z1, tz = axis(min(max(z, 0.0), 1.0) * (d - 1), d)
            a = np.zeros(12)
            for zi, wz in ((z0, 1 - tz), (z1, tz)):
                for yi, wy in ((y0, 1 - ty), (y1, ty)):
                    for xi, wx in ((x0, 1 - tx), (x1, tx)):
                        a += wz * wy * wx * grid[:, zi, yi, xi]
            m = a.reshape(3, 4)
            out[y, x] = m[:, :3] @ px + m[:, 3]
    return out
