"""Smaller copies: the model's proxy, screen previews, and pixel-type conversions."""

from __future__ import annotations

import numpy as np
from PIL import Image


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 -> float32 in [0, 1]; float input is returned as float32 unchanged."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) * np.float32(1 / 255)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) * np.float32(1 / 65535)
    return pixels.astype(np.float32, copy=False)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        wide = pixels.astype(np.uint32)
        wide *= 255
        wide += 32895
        wide >>= 16  # == round(x / 257) for every uint16 x, without a division
        return wide.astype(np.uint8)
    return (np.clip(np.nan_to_num(pixels), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def fit_size(w: int, h: int, max_size: int | tuple[int, int]) -> tuple[int, int]:
    mw, mh = (max_size, max_size) if isinstance(max_size, int) else max_size
    scale = min(1.0, mw / w, mh / h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _resize_float(img: np.ndarray, size: tuple[int, int], box=None) -> np.ndarray:
    """LANCZOS per channel on float32 (Pillow mode "F"); ``box`` as in ``Image.resize``."""
    chans = [np.asarray(Image.fromarray(np.ascontiguousarray(img[..., c])).resize(size, Image.Resampling.LANCZOS, box=box)) for c in range(img.shape[2])]
    return np.stack(chans, axis=-1)


def _resize(pixels: np.ndarray, size: tuple[int, int], reducing_gap: float = 2.0) -> np.ndarray:
    """Antialiased resize to ``size`` = (w, h): integer box reduce first, then LANCZOS.

    uint8 in -> uint8 out (Pillow, fast); uint16/float in -> float32 in [0, 1] out.
    ``reducing_gap``: the LANCZOS step still shrinks by at least this factor (Pillow's meaning).
    """
    h, w = pixels.shape[:2]
    if (w, h) == size:
        return pixels
    if pixels.dtype == np.uint8:
        im = Image.fromarray(pixels)
        return np.asarray(im.resize(size, Image.Resampling.LANCZOS, reducing_gap=reducing_gap))
    factor = max(1, min(w // size[0], h // size[1]) // 2)
    if factor > 1:
        from retouch_studio.model.imaging.reduce import box_reduce  # numba: imported when needed

        img = box_reduce(pixels, factor)
        return np.clip(_resize_float(img, size, (0, 0, w / factor, h / factor)), 0.0, 1.0)
    return np.clip(_resize_float(to_float(pixels), size), 0.0, 1.0)


def make_proxy(pixels: np.ndarray, long_edge: int = 512) -> np.ndarray:
    """The model's input: ``(h, w, 3)`` float32 in [0, 1], long edge <= ``long_edge``, antialiased.

    pixels: ``(H, W, 3)`` uint8 / uint16 / float in [0, 1], sRGB-encoded. An integer box reduce
    (parallel, one pass over the pixels) brings the photo to between 1x and 2x the target size,
    and LANCZOS resamples that small picture: a 4K or 24 MP photo takes a few ms. Sides below
    ``MIN_PROXY_SIDE`` are enlarged by repetition.
    """
    check_rgb(pixels)
    h, w = pixels.shape[:2]
    size = fit_size(w, h, long_edge)
    factor = min(w // size[0], h // size[1])
    if factor > 1:
        from retouch_studio.model.imaging.reduce import box_reduce  # numba: imported when needed

        small = box_reduce(pixels, factor)  # uint8 stays uint8; other types become float32
        box = (0, 0, w / factor, h / factor)  # edge blocks may hold fewer pixels
        if small.dtype == np.uint8:
            out = np.asarray(Image.fromarray(small).resize(size, Image.Resampling.LANCZOS, box=box))
        else:
            out = np.clip(_resize_float(small, size, box), 0.0, 1.0)
        out = to_float(out)
    else:
        out = to_float(_resize(pixels, size))  # uint8 from Pillow, or the input when it already fits
    if min(out.shape[:2]) < MIN_PROXY_SIDE:  # a tiny (or very thin) photo: repeat its pixels
        ry, rx = (-(-MIN_PROXY_SIDE // n) for n in out.shape[:2])
        out = np.repeat(np.repeat(out, ry, axis=0), rx, axis=1)
    return np.ascontiguousarray(out)


#: Engines need a proxy of at least this many pixels per side (a 3 x 2 photo is still edited).
MIN_PROXY_SIDE = 4


def make_preview(pixels: np.ndarray, max_size: int | tuple[int, int]) -> np.ndarray:
    """A screen picture: ``(h, w, 3)`` uint8, fitting inside ``max_size`` (int or (w, h)), never enlarged."""
    check_rgb(pixels)
    h, w = pixels.shape[:2]
    # 8 bits first (the screen has no more), and a box reduce down to < 2x the target before
    # LANCZOS: about twice as fast as make_proxy's gentler reducing gap, fine for a screen
    out = _resize(to_uint8(pixels), fit_size(w, h, max_size), reducing_gap=1.0)
    return np.ascontiguousarray(out)


def check_rgb(pixels: np.ndarray) -> None:
    if not isinstance(pixels, np.ndarray) or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be an (H, W, 3) array, got {getattr(pixels, 'shape', type(pixels))}")
    if pixels.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ValueError(f"pixels must be uint8, uint16 or float, got {pixels.dtype}")


def to_uint16(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint16:
        return arr
    if arr.dtype == np.uint8:
        return arr.astype(np.uint16) * 257
    if arr.dtype.kind == "f":  # float16 in float32: 65535 does not fit in float16
        return (np.clip(np.nan_to_num(arr.astype(np.float32, copy=False)), 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    if arr.dtype.kind in "ui":
        bits = arr.dtype.itemsize * 8
        return (np.clip(arr, 0, None).astype(np.uint64) >> max(0, bits - 16)).astype(np.uint16)
    raise TypeError(f"unsupported sample type {arr.dtype}")
