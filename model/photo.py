"""Photos in and out (minimal first version; the I/O issue extends this module).

Working space: sRGB-encoded values. ``Photo.pixels`` is ``(H, W, 3)`` uint8 or uint16.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


class PhotoError(Exception):
    """A photo could not be read or written; the message names the file and the reason."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass
class Photo:
    pixels: np.ndarray
    path: Path | None = None
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    icc: bytes | None = None
    info: dict = field(default_factory=dict)

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8


def load_photo(path: str | os.PathLike) -> Photo:
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.uint16)
                pixels = np.repeat(arr[..., None], 3, axis=2)
            else:
                pixels = np.asarray(im.convert("RGB"))
            return Photo(np.ascontiguousarray(pixels), path, exif=im.info.get("exif"), icc=im.info.get("icc_profile"))
    except FileNotFoundError:
        raise PhotoError(path, "file not found") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure becomes one typed error
        raise PhotoError(path, f"cannot read image ({exc})") from exc


def to_float(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535.0
    return pixels.astype(np.float32)


def make_proxy(pixels: np.ndarray, long_edge: int = 512) -> np.ndarray:
    """Antialiased proxy, ``(h, w, 3)`` float32 in ``[0, 1]`` with long edge <= ``long_edge``."""
    h, w = pixels.shape[:2]
    scale = min(1.0, long_edge / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    elif pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)
    im = Image.fromarray(pixels)
    if size != (w, h):
        im.draft("RGB", size)
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(im, dtype=np.float32) / 255.0


def save_photo(path: str | os.PathLike, pixels: np.ndarray, fmt: str | None = None, quality: int = 95) -> Path:
    """Write atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if pixels.dtype == np.uint16 and fmt in ("tiff16", "tif", "tiff"):
        import tifffile

        writer = lambda p: tifffile.imwrite(p, pixels, photometric="rgb")  # noqa: E731
    else:
        if pixels.dtype == np.uint16:
            pixels = (pixels >> 8).astype(np.uint8)
        im = Image.fromarray(pixels)
        pil_fmt = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "tif": "TIFF", "tiff": "TIFF", "tiff16": "TIFF", "webp": "WEBP"}[fmt]
        kw = {"quality": quality} if pil_fmt in ("JPEG", "WEBP") else {}
        writer = lambda p: im.save(p, pil_fmt, **kw)  # noqa: E731
    fd, tmp = tempfile.mkstemp(prefix=".retouch-", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
