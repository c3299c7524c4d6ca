"""A decoded picture in the working space: sRGB-encoded pixels, upright, with its metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Photo:
    """A decoded picture in the working space (sRGB-encoded, upright).

    pixels: ``(H, W, 3)`` uint8 or uint16, C-contiguous.
    alpha:  ``(H, W)`` same dtype as ``pixels`` (straight, not premultiplied) or None.
    exif:   EXIF block (TIFF structure, as Pillow's ``exif=`` takes it) with orientation already
            reset to 1, or None.
    icc:    ICC profile that describes ``pixels``: the source's own sRGB profile, the built-in
            sRGB profile when the source was converted, or None when the source had none
            (meaning sRGB; exports then embed the built-in sRGB profile).
    info:   ``format`` (JPEG/PNG/TIFF/WEBP/RAW), ``source_bit_depth``, ``orientation`` (the EXIF
            value that was applied), ``icc_description``, ``icc_converted`` (bool),
            ``source_mode`` (Pillow mode), ``size`` (W, H) of the full picture, ``preview``
            (True for ``load_preview`` results), ``raw`` (RAW settings used) and ``warnings``.
    """

    pixels: np.ndarray
    path: Path | None = None
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    icc: bytes | None = None
    info: dict = field(default_factory=dict)

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of ``pixels``."""
        return self.pixels.shape[1], self.pixels.shape[0]
