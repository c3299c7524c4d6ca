"""Fused full-resolution slice-and-apply for the CPU (numba), plus the preview re-blend.

Implements exactly the definition in ``model.grid`` (same coordinates, same guidance), one pass
over the pixels, without per-pixel gathers from the grid:

* for each image row the grid is interpolated along y once, giving ``D x Gw`` matrices;
* the row is split into segments that share the same pair of grid columns, and inside a segment
  the coefficient planes are accumulated over the depth nodes with hat weights, so the inner
  loop runs over contiguous pixels with scalar constants and vectorises (SIMD) cleanly;
* only the depth nodes the segment's guidance actually reaches are visited.

Memory: besides the input and output arrays, each worker holds a few rows of float32 scratch,
so a 100 MP photo needs no full-size intermediate. Rows are processed in parallel bands; a band
size can be forced (``rows_per_tile``) and gives bit-identical results.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from retouch_studio.model.grid.guidance import GuidanceParams
from retouch_studio.model.numba_cache import numba

njit, prange = numba.njit, numba.prange

_KERNEL_OPTS = dict(cache=True, fastmath=True, nogil=True)


@njit(**_KERNEL_OPTS)
def _axis_coords(n: int, g: int):
    """Cell-centred coordinates of ``n`` pixels on a ``g``-cell axis: (i0, i1, weight)."""
    i0 = np.empty(n, np.int32)
    i1 = np.empty(n, np.int32)
    w = np.empty(n, np.float32)
    for p in range(n):
        c = (p + 0.5) * g / n - 0.5
        if c < 0.0:
            c = 0.0
        if c > g - 1.0:
            c = g - 1.0
        a = int(np.floor(c))
        if a > g - 2:
            a = max(g - 2, 0)
        b = min(a + 1, g - 1)
        i0[p] = a
        i1[p] = b
        w[p] = np.float32(c - a)
    return i0, i1, w


@njit(**_KERNEL_OPTS)
def _curve_lut(curves, mix, levels):
    """Per-channel LUT of ``mix_c * curve_c(v / (levels - 1))`` for integer inputs."""
    k = curves.shape[1] - 1
    lut = np.empty((3, levels), np.float32)
    for c in range(3):
        for v in range(levels):
            pos = v / (levels - 1) * k
            j = min(int(pos), k - 1)
            t = pos - j
            lut[c, v] = mix[c] * (curves[c, j] + t * (curves[c, j + 1] - curves[c, j]))
    return lut


@njit(inline="always", **_KERNEL_OPTS)
def _accumulate(acc_k, hat, xw, a0, a1):
    da = a1 - a0
    for x in range(acc_k.shape[0]):
        acc_k[x] += hat[x] * (a0 + xw[x] * da)


@njit(inline="always", **_KERNEL_OPTS)
def _hat(out, pos, d):
    for x in range(out.shape[0]):
        out[x] = max(np.float32(1.0) - abs(pos[x] - d), np.float32(0.0))


@njit(inline="always", **_KERNEL_OPTS)
def _add_curve(z, v, curve, weight, kn):
    for x in range(z.shape[0]):
        p = min(max(v[x], np.float32(0.0)), np.float32(1.0)) * kn
        j = min(int(p), kn - 1)
        z[x] += weight * (curve[j] + (p - j) * (curve[j + 1] - curve[j]))


@njit(inline="always", **_KERNEL_OPTS)
def _deinterleave(row, r, g, b, inv):
    for x in range(r.shape[0]):
        r[x] = row[3 * x] * inv
        g[x] = row[3 * x + 1] * inv
        b[x] = row[3 * x + 2] * inv


@njit(inline="always", **_KERNEL_OPTS)
def _linear_pos(pos, r, g, b, mix, bias, top):
    m0, m1, m2 = mix[0], mix[1], mix[2]
    for x in range(pos.shape[0]):
        z = m0 * r[x] + m1 * g[x] + m2 * b[x] + bias
        pos[x] = min(max(z, np.float32(0.0)), np.float32(1.0)) * top


@njit(inline="always", **_KERNEL_OPTS)
def _transform(o, r, g, b, a0, a1, a2, a3):
    for x in range(o.shape[0]):
        o[x] = a0[x] * r[x] + a1[x] * g[x] + a2[x] * b[x] + a3[x]


@njit(inline="always", **_KERNEL_OPTS)
def _blend(o, v, wrow):
    for x in range(o.shape[0]):
        o[x] = v[x] + wrow[x] * (o[x] - v[x])


@njit(inline="always", **_KERNEL_OPTS)
def _store_int(orow, o_r, o_g, o_b, scale):
    zero = np.float32(0.0)
    half = np.float32(0.5)
    for x in range(o_r.shape[0]):
        orow[3 * x] = int(min(max(o_r[x] * scale + half, zero), scale))
        orow[3 * x + 1] = int(min(max(o_g[x] * scale + half, zero), scale))
        orow[3 * x + 2] = int(min(max(o_b[x] * scale + half, zero), scale))


@njit(inline="always", **_KERNEL_OPTS)
def _store_float(orow, o_r, o_g, o_b):
    for x in range(o_r.shape[0]):
        orow[3 * x] = o_r[x]
        orow[3 * x + 1] = o_g[x]
        orow[3 * x + 2] = o_b[x]


@njit(**_KERNEL_OPTS)
def _rows(src, dst, grid, lut, curves, mix, bias, strength, mask, has_mask, scale, guide_kind,
          y_start, y_stop, yi0, yi1, yw, xi0, xi1, xw, seg_start):
    """Process image rows ``[y_start, y_stop)`` (indices into the full image).

    guide_kind: 0 = guidance linear in the colour (straight curves, computed), 1 = integer
    pixels through the per-level ``lut``, 2 = general curves evaluated per pixel. Every loop over
    a row works on contiguous 1-D rows with few streams so that LLVM vectorises it.
    """
    n_out, depth, gh, gw = grid.shape
    w = src.shape[1]
    inv = np.float32(1.0 / scale)
    kn = curves.shape[1] - 1
    r = np.empty(w, np.float32)
    g = np.empty(w, np.float32)
    b = np.empty(w, np.float32)
    pos = np.empty(w, np.float32)
    hat = np.empty(w, np.float32)
    o_r = np.empty(w, np.float32)
    o_g = np.empty(w, np.float32)
    o_b = np.empty(w, np.float32)
    acc = np.empty((12, w), np.float32)
    row_grid = np.empty((depth, gw, 12), np.float32)
    top = np.float32(depth - 1)
    for y in range(y_start, y_stop):
        y0 = yi0[y]
        y1 = yi1[y]
        wy = yw[y]
        for d in range(depth):
            for xc in range(gw):
                for k in range(12):
                    a = grid[k, d, y0, xc]
                    row_grid[d, xc, k] = a + wy * (grid[k, d, y1, xc] - a)
        # Planar float copies of the row and the guidance position.
        row = src[y].reshape(-1)
        _deinterleave(row, r, g, b, inv)
        if guide_kind == 0:
            _linear_pos(pos, r, g, b, mix, bias, top)
        elif guide_kind == 1:
            for x in range(w):
                z = lut[0, int(row[3 * x])] + lut[1, int(row[3 * x + 1])] + lut[2, int(row[3 * x + 2])] + bias
                pos[x] = min(max(z, np.float32(0.0)), np.float32(1.0)) * top
        else:
            for x in range(w):
                pos[x] = bias
            _add_curve(pos, r, curves[0], mix[0], kn)
            _add_curve(pos, g, curves[1], mix[1], kn)
            _add_curve(pos, b, curves[2], mix[2], kn)
            for x in range(w):
                pos[x] = min(max(pos[x], np.float32(0.0)), np.float32(1.0)) * top
        # Segments of constant grid columns: accumulate coefficient planes over depth nodes.
        # Loops run over slices from index 0 so LLVM can drop negative-index checks and vectorise.
        for s in range(seg_start.shape[0] - 1):
            xs = seg_start[s]
            xe = seg_start[s + 1]
            if xe <= xs:
                continue
            c0 = xi0[xs]
            c1 = xi1[xs]
            seg_pos = pos[xs:xe]
            seg_hat = hat[xs:xe]
            seg_w = xw[xs:xe]
            lo = seg_pos.min()
            hi = seg_pos.max()
            d_lo = max(int(np.floor(lo)), 0)
            d_hi = min(int(np.ceil(hi)), depth - 1)
            if d_hi == d_lo:
                if d_hi < depth - 1:
                    d_hi += 1
                else:
                    d_lo -= 1
            for k in range(12):
                acc[k, xs:xe] = 0.0
            for d in range(d_lo, d_hi + 1):
                _hat(seg_hat, seg_pos, np.float32(d))
                for k in range(12):
                    _accumulate(acc[k, xs:xe], seg_hat, seg_w, row_grid[d, c0, k], row_grid[d, c1, k])
        # Apply the affine transforms, then blend by strength (and mask), one channel per loop.
        _transform(o_r, r, g, b, acc[0], acc[1], acc[2], acc[3])
        _transform(o_g, r, g, b, acc[4], acc[5], acc[6], acc[7])
        _transform(o_b, r, g, b, acc[8], acc[9], acc[10], acc[11])
        wrow = hat  # reuse as the per-pixel blend weight row
        if has_mask:
            mrow = mask[y]
            for x in range(w):
                wrow[x] = strength * mrow[x]
        else:
            wrow[:] = strength
        if not (strength == 1.0 and not has_mask):
            _blend(o_r, r, wrow)
            _blend(o_g, g, wrow)
            _blend(o_b, b, wrow)
        orow = dst[y].reshape(-1)
        if scale == 1.0:
            _store_float(orow, o_r, o_g, o_b)
        else:
            _store_int(orow, o_r, o_g, o_b, scale)


@njit(parallel=True, **_KERNEL_OPTS)
def _apply_bands(src, dst, grid, lut, curves, mix, bias, strength, mask, has_mask, scale, guide_kind,
                 band, yi0, yi1, yw, xi0, xi1, xw, seg_start):
    h = src.shape[0]
    n_bands = (h + band - 1) // band
    for i in prange(n_bands):
        y0 = i * band
        y1 = min(h, y0 + band)
        _rows(src, dst, grid, lut, curves, mix, bias, strength, mask, has_mask, scale, guide_kind,
              y0, y1, yi0, yi1, yw, xi0, xi1, xw, seg_start)


@contextlib.contextmanager
def _keep_torch_threads():
    """numba's OpenMP layer shares libgomp with torch and resets its thread count; put it back."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        if torch is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)


SEGMENT_PIXELS = 128


def _segments(xi0: np.ndarray, longest: int = SEGMENT_PIXELS) -> np.ndarray:
    """Starts of the row segments (plus the row's end): a segment shares one pair of grid columns
    and is at most ``longest`` pixels, so the guidance inside it spans few depth nodes (the
    kernel visits every node between the segment's lowest and highest guidance)."""
    change = np.flatnonzero(np.diff(xi0)) + 1
    cuts = np.union1d(change, np.arange(longest, xi0.shape[0], longest))
    return np.concatenate([[0], cuts, [xi0.shape[0]]]).astype(np.int64)


def slice_apply(
    pixels: np.ndarray,
    grid: np.ndarray,
    guidance: GuidanceParams | None = None,
    strength: float = 1.0,
    mask: np.ndarray | None = None,
    *,
    out: np.ndarray | None = None,
    rows_per_tile: int | None = None,
) -> np.ndarray:
    """Slice ``grid`` at the photo's resolution and apply it, in one pass.

    pixels: ``(H, W, 3)`` uint8, uint16 or float32 (``[0, 1]`` scale); grid ``(12, D, Gh, Gw)``;
    mask ``(H, W)`` float32 in ``[0, 1]`` or None. Returns an array of the input's dtype and shape
    (integers are rounded and clamped; floats are not clamped), ``out`` when given. ``out`` may
    be ``pixels`` itself: each row is read whole into scratch before its output is written.
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be (H, W, 3), got {pixels.shape}")
    if pixels.dtype not in (np.uint8, np.uint16, np.float32):
        raise ValueError(f"pixels must be uint8, uint16 or float32, got {pixels.dtype}")
    grid = np.ascontiguousarray(grid, dtype=np.float32)
    if grid.ndim != 4 or grid.shape[0] != 12 or grid.shape[1] < 2:
        raise ValueError(f"grid must be (12, D>=2, Gh, Gw), got {grid.shape}")
    h, w, _ = pixels.shape
    if mask is not None:
        mask = np.ascontiguousarray(mask, dtype=np.float32)
        if mask.shape != (h, w):
            raise ValueError(f"mask must be ({h}, {w}), got {mask.shape}")
    gp = guidance or GuidanceParams.luminance()
    curves = np.ascontiguousarray(gp.curves, dtype=np.float32)
    mix = np.ascontiguousarray(gp.mix, dtype=np.float32)
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(pixels.dtype, 1.0)
    lut = np.zeros((3, 2), np.float32)
    knots = np.linspace(0.0, 1.0, curves.shape[1], dtype=np.float32)
    if np.allclose(curves, knots, rtol=0.0, atol=1e-7):
        guide_kind = 0  # straight curves (the luminance guidance): a dot product per pixel
    elif pixels.dtype == np.uint8:
        guide_kind = 1  # a 256-level table per channel stays in L1
        lut = _curve_lut(curves, mix, 256)
    else:
        guide_kind = 2
    src = np.ascontiguousarray(pixels)
    dst = out if out is not None else np.empty_like(src)
    if dst.shape != src.shape or dst.dtype != src.dtype:
        raise ValueError("out must match pixels in shape and dtype")
    _, _, gh, gw = grid.shape
    xi0, xi1, xw = _axis_coords(w, gw)
    yi0, yi1, yw = _axis_coords(h, gh)
    if rows_per_tile is None:
        threads = numba.get_num_threads()
        rows_per_tile = max(1, min(64, -(-h // (threads * 4))))
    with _keep_torch_threads():
        _apply_bands(
            src, dst, grid, lut, curves, mix, np.float32(gp.bias), np.float32(strength),
            mask if mask is not None else np.zeros((1, 1), np.float32), mask is not None,
            np.float32(scale), guide_kind, int(rows_per_tile), yi0, yi1, yw, xi0, xi1, xw,
            _segments(xi0, SEGMENT_PIXELS),
        )
    return dst


# --------------------------------------------------------------------------------------------
# Preview re-blend (the strength slider and brushes at screen size)
# --------------------------------------------------------------------------------------------


@njit(**_KERNEL_OPTS)
def _blend_u8(orig, edited, dst, weight_q):
    # Flat loop over bytes: vectorises; one thread is enough (~1 ms per 1080p frame).
    for i in range(orig.shape[0]):
        o = np.int32(orig[i])
        v = o + (((np.int32(edited[i]) - o) * weight_q + 128) >> 8)
        dst[i] = min(max(v, 0), 255)


@njit(**_KERNEL_OPTS)
def _blend_u8_mask(orig, edited, dst, weight_q, mask):
    # Per-pixel weight in Q8: strength (Q8) * mask / 255, with /255 done as *257 >> 16.
    for p in range(mask.shape[0]):
        wq = (weight_q * np.int32(mask[p]) * 257 + 32768) >> 16
        for c in range(3):
            i = 3 * p + c
            o = np.int32(orig[i])
            v = o + (((np.int32(edited[i]) - o) * wq + 128) >> 8)
            dst[i] = min(max(v, 0), 255)


def blend_u8(
    original: np.ndarray,
    edited: np.ndarray,
    strength: float,
    mask: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Fixed-point ``original + strength * mask * (edited - original)`` on uint8 previews.

    original/edited: ``(H, W, 3)`` uint8; strength in ``[0, 2]`` (8 fractional bits); mask
    ``(H, W)`` uint8 (255 = full edit) or None. Strength 0 returns ``original`` exactly.
    """
    if original.shape != edited.shape or original.dtype != np.uint8 or edited.dtype != np.uint8:
        raise ValueError("original and edited must be uint8 arrays of the same shape")
    if mask is not None and (mask.shape != original.shape[:2] or mask.dtype != np.uint8):
        raise ValueError(f"mask must be uint8 of shape {original.shape[:2]}")
    dst = out if out is not None else np.empty_like(original)
    weight_q = np.int32(round(float(strength) * 256))
    flat_o = np.ascontiguousarray(original).reshape(-1)
    flat_e = np.ascontiguousarray(edited).reshape(-1)
    flat_d = dst.reshape(-1)
    if mask is None:
        _blend_u8(flat_o, flat_e, flat_d, weight_q)
    else:
        _blend_u8_mask(flat_o, flat_e, flat_d, weight_q, np.ascontiguousarray(mask).reshape(-1))
    return dst
