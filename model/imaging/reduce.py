"""Integer box reduction of full-resolution photos (numba, parallel over output rows).

The first step of every proxy: a 4K or 24 MP photo is averaged over ``f x f`` blocks in one pass
over its bytes, so the resampling filter that follows only sees a picture about the target size.
Each output row sums ``f`` input rows into a contiguous float row (vectorises), then folds the
row's blocks; no full-size intermediate is made. As in Pillow's ``reduce``, blocks at the right
and bottom edges that hold fewer pixels are averaged over the pixels they hold, so the reduced
picture covers exactly ``W / f x H / f`` of its pixels (the ``box`` a following resize uses).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def _reduce(src, dst, factor, scale, rounding):
    h, w, _ = src.shape
    oh, ow, _ = dst.shape
    for oy in prange(oh):
        y0 = oy * factor
        y1 = min(y0 + factor, h)
        acc = np.zeros(w * 3, np.float32)
        for y in range(y0, y1):
            row = src[y].reshape(-1)
            for i in range(w * 3):
                acc[i] += np.float32(row[i])
        for ox in range(ow):
            x0 = ox * factor
            x1 = min(x0 + factor, w)
            norm = np.float32(scale / ((y1 - y0) * (x1 - x0)))
            for c in range(3):
                s = np.float32(0.0)
                for x in range(x0, x1):
                    s += acc[3 * x + c]
                dst[oy, ox, c] = s * norm + rounding


def box_reduce(pixels: np.ndarray, factor: int, out_dtype=None) -> np.ndarray:
    """Mean over ``factor x factor`` blocks: ``(H, W, 3)`` -> ``(ceil(H / f), ceil(W / f), 3)``.

    uint8 input gives uint8 (rounded to nearest) unless ``out_dtype=np.float32``, which gives the
    exact means scaled to ``[0, 1]``; uint16 and float input always give float32 in ``[0, 1]``
    (float input is taken as already in ``[0, 1]``).
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be (H, W, 3), got {pixels.shape}")
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    h, w, _ = pixels.shape
    if factor > min(h, w):
        raise ValueError(f"factor {factor} is larger than the picture ({w}x{h})")
    oh, ow = -(-h // factor), -(-w // factor)
    src = np.ascontiguousarray(pixels)
    top = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(src.dtype, 1.0)
    if src.dtype == np.uint8 and out_dtype in (None, np.uint8):
        dst = np.empty((oh, ow, 3), np.uint8)
        _reduce(src, dst, factor, 1.0, np.float32(0.5))
        return dst
    dst = np.empty((oh, ow, 3), np.float32)
    _reduce(src, dst, factor, 1.0 / top, np.float32(0.0))
    return dst
