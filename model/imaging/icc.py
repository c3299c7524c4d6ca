"""Colour management: embedded ICC profiles converted to sRGB with LittleCMS."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import ImageCms


@functools.lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """The built-in LittleCMS sRGB profile (embedded in exports whose source had none).

    LittleCMS stamps a profile with the time it was made (header bytes 24-35) and so the profile
    ID; both are zeroed so the same photo and edit always give byte-identical files, whichever
    process or machine writes them.
    """
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = bytes(12)
    data[84:100] = bytes(16)
    return bytes(data)


@functools.lru_cache(maxsize=1)
def _srgb_cms() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def open_profile(icc: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(icc))


def profile_description(icc: bytes) -> str:
    try:
        return ImageCms.getProfileDescription(open_profile(icc)).strip()
    except Exception:  # noqa: BLE001 - a damaged profile only loses its name here
        return "?"


def is_srgb(icc: bytes) -> bool:
    """Heuristic: an RGB profile whose description names sRGB ("sRGB IEC61966-2.1", ...)."""
    try:
        prof = open_profile(icc)
        return prof.profile.xcolor_space.strip() == "RGB" and "srgb" in ImageCms.getProfileDescription(prof).lower()
    except Exception:  # noqa: BLE001
        return False


@functools.lru_cache(maxsize=16)
def pil_transform(icc: bytes, in_mode: str) -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(
        open_profile(icc), _srgb_cms(), in_mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
    )


def cms_16bit(pixels: np.ndarray, icc: bytes, colorspace: str, out: np.ndarray | None = None) -> np.ndarray:
    """16-bit LittleCMS conversion to sRGB through the float pipeline (exact, unclamped) in strips.

    ``out`` may be ``pixels`` itself (RGB in place: a huge picture is not held twice)."""
    try:
        import imagecodecs
    except ImportError as exc:  # pragma: no cover - imagecodecs is a dependency
        raise RuntimeError("16-bit colour management needs the imagecodecs package") from exc
    out = np.empty(pixels.shape[:2] + (3,), np.uint16) if out is None else out
    rows = max(1, 1_000_000 // max(1, pixels.shape[1]))
    dst = srgb_profile()
    for y in range(0, pixels.shape[0], rows):
        strip = pixels[y : y + rows].astype(np.float32)
        strip *= 1.0 / 65535.0
        res = imagecodecs.cms_transform(
            strip, icc, dst, colorspace=colorspace, outcolorspace="rgb", intent=0, outdtype=np.float32
        )
        np.clip(res, 0.0, 1.0, out=res)
        res *= 65535.0
        res += 0.5
        out[y : y + rows] = res.astype(np.uint16)
    return out
