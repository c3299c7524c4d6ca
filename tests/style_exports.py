"""Before/after folders as a photographer would have them: originals, and the exports of another
editor (resized, re-encoded, in Adobe RGB, one rotated through its EXIF orientation, one PNG).

The "photographer" is a stand-in: the parameter renderer with a photo-dependent exposure (every
photo pulled towards one brightness) and a fixed warm, contrasty look.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

ADOBE_RGB_PRIMARIES = [(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)]
D65 = (0.3127, 0.3290)


def adobe_rgb_profile() -> bytes:
    import imagecodecs

    flat = [v for xy in ADOBE_RGB_PRIMARIES for v in (*xy, 1.0)]
    return imagecodecs.cms_profile("rgb", whitepoint=[*D65, 1.0], primaries=flat, gamma=563 / 256)


def house_params(x: np.ndarray) -> dict:
    lin = np.clip(x, 0, 1).reshape(-1, 3) ** 2.2
    geo = math.exp(np.log(lin @ np.array([0.2126, 0.7152, 0.0722]) + 1e-3).mean())
    return {"exposure": float(np.clip(0.8 * math.log2(0.18 / geo), -2.5, 2.5)), "temperature": 25.0,
            "contrast": 20.0, "saturation": 10.0}


def house_style(x: np.ndarray) -> np.ndarray:
    from retouch_studio.model.params import render_pixels

    return render_pixels(x, house_params(x))


def _to_adobe(img_u8: np.ndarray) -> Image.Image:
    srgb = ImageCms.createProfile("sRGB")
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb_profile()))
    return ImageCms.profileToProfile(Image.fromarray(img_u8), srgb, adobe, outputMode="RGB")


def write_export_pairs(sources: list[Path], before_dir: Path, after_dir: Path, edge: int = 256) -> list[str]:
    """Write one before (JPEG, ``edge`` px) and one after (half size, another editor's export)
    per source photo; returns the stems."""
    before_dir.mkdir(parents=True, exist_ok=True)
    after_dir.mkdir(parents=True, exist_ok=True)
    exif_orientation = Image.Exif()
    exif_orientation[0x0112] = 6  # viewers rotate the stored pixels 90 degrees clockwise
    stems = []
    for i, src in enumerate(sources):
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        before = np.asarray(im)
        stem = f"IMG_{i:04d}"
        Image.fromarray(before).save(before_dir / f"{stem}.jpg", quality=95)
        after = (np.clip(house_style(before / 255.0), 0, 1) * 255 + 0.5).astype(np.uint8)
        small = Image.fromarray(after).resize((before.shape[1] // 2, before.shape[0] // 2), Image.Resampling.LANCZOS)
        icc = adobe_rgb_profile()
        if i == 1:  # stored on its side, upright through EXIF
            _to_adobe(np.asarray(small)).transpose(Image.Transpose.ROTATE_90).save(
                after_dir / f"{stem}.jpg", quality=90, icc_profile=icc, exif=exif_orientation
            )
        elif i == 2:
            _to_adobe(np.asarray(small)).save(after_dir / f"{stem}.png", icc_profile=icc)
        else:
            _to_adobe(np.asarray(small)).save(after_dir / f"{stem}.jpg", quality=88, icc_profile=icc)
        stems.append(stem)
    return stems
