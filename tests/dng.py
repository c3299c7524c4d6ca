"""Write small DNG files that LibRaw (rawpy) opens, for tests and benchmarks.

Facts LibRaw needs (learned the hard way): Bayer CFA data as *uncompressed* uint16 (it rejects
the zlib variant); tags CFARepeatPatternDim, CFAPattern, DNGVersion, BlackLevel, WhiteLevel,
ColorMatrix1 with CalibrationIlluminant1 = D65 (21) and AsShotNeutral. Without black/white
level the picture comes out ~4x too dark; without AsShotNeutral it gets a cast.

The synthetic "camera" here has linear-sRGB primaries scaled per channel by ``neutral``:
``camera = diag(neutral) @ XYZ_to_linear_sRGB @ XYZ``, so ColorMatrix1 is exactly that matrix
and a scene given in linear sRGB comes back from LibRaw (camera white balance, sRGB output,
no auto-brightening) as the sRGB encoding of the scene.

    from tests.dng import write_dng, mosaic, srgb_encode
    write_dng(path, mosaic(scene_linear_rgb), neutral=(0.5, 1.0, 0.7))
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

#: linear sRGB -> XYZ (D65), IEC 61966-2-1.
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
XYZ_TO_SRGB = np.linalg.inv(SRGB_TO_XYZ)

_PATTERNS = {"RGGB": (0, 1, 1, 2), "BGGR": (2, 1, 1, 0), "GRBG": (1, 0, 2, 1), "GBRG": (1, 2, 0, 1)}


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    encoded = np.clip(encoded, 0.0, 1.0)
    return np.where(encoded <= 0.04045, encoded / 12.92, np.power((encoded + 0.055) / 1.055, 2.4))


def mosaic(
    scene: np.ndarray,
    pattern: str = "RGGB",
    black: int = 512,
    white: int = 16383,
    neutral: tuple[float, float, float] = (0.5, 1.0, 0.7),
) -> np.ndarray:
    """Sample a linear-sRGB scene ``(H, W, 3)`` in [0, 1] through a Bayer filter -> uint16 ``(H, W)``.

    H and W must be even. ``neutral`` is the camera's response to white (pass the same value to
    :func:`write_dng` as AsShotNeutral).
    """
    h, w, _ = scene.shape
    if h % 2 or w % 2:
        raise ValueError(f"mosaic needs even sizes, got {w}x{h}")
    colours = _PATTERNS[pattern]
    out = np.empty((h, w), np.float64)
    for i, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        c = colours[i]
        out[dy::2, dx::2] = scene[dy::2, dx::2, c] * neutral[c]
    raw = black + np.clip(out, 0.0, 1.0) * (white - black)
    return (raw + 0.5).astype(np.uint16)


def _rationals(values, signed: bool, denominator: int = 1_000_000) -> list[int]:
    flat: list[int] = []
    for v in np.ravel(values):
        frac = Fraction(float(v)).limit_denominator(denominator)
        if not signed and frac < 0:
            raise ValueError("negative value in an unsigned rational")
        flat += [frac.numerator, frac.denominator]
    return flat


def write_dng(
    path: str | os.PathLike,
    cfa: np.ndarray,
    *,
    pattern: str = "RGGB",
    black: int = 512,
    white: int = 16383,
    neutral: tuple[float, float, float] = (0.5, 1.0, 0.7),
    color_matrix: np.ndarray | None = None,
    orientation: int = 1,
    make: str = "Retouch",
    model: str = "Synthetic Bayer",
    preview: np.ndarray | None = None,
) -> None:
    """Write ``cfa`` (``(H, W)`` uint16 Bayer data) as an uncompressed DNG 1.4.

    color_matrix: ColorMatrix1 (XYZ -> camera, D65); default matches :func:`mosaic`'s camera.
    preview: optional ``(h, w, 3)`` uint8 picture stored in IFD0 as the embedded preview (the
    raw data then goes to a SubIFD, as cameras and Adobe's converter do).
    """
    import tifffile

    cfa = np.ascontiguousarray(cfa, dtype=np.uint16)
    if cfa.ndim != 2:
        raise ValueError(f"cfa must be (H, W), got {cfa.shape}")
    if color_matrix is None:
        color_matrix = np.diag(neutral) @ XYZ_TO_SRGB
    # Tag codes: 50706 DNGVersion, 50707 DNGBackwardVersion, 50708 UniqueCameraModel, 50721
    # ColorMatrix1, 50778 CalibrationIlluminant1, 50728 AsShotNeutral, 271/272 Make/Model,
    # 274 Orientation; 33421/33422 CFARepeatPatternDim/CFAPattern, 50710 CFAPlaneColor,
    # 50711 CFALayout, 50714 BlackLevel, 50717 WhiteLevel.
    main_tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),
        (50707, "B", 4, (1, 1, 0, 0), True),
        (50708, "s", 0, f"{make} {model}", True),
        (271, "s", 0, make, True),
        (272, "s", 0, model, True),
        (274, "H", 1, orientation, True),
        (50721, "2i", 9, _rationals(color_matrix, signed=True), True),
        (50778, "H", 1, 21, True),
        (50728, "2I", 3, _rationals(neutral, signed=False), True),
    ]
    raw_tags = [
        (33421, "H", 2, (2, 2), True),
        (33422, "B", 4, _PATTERNS[pattern], True),
        (50710, "B", 3, (0, 1, 2), True),
        (50711, "H", 1, 1, True),
        (50714, "I", 1, int(black), True),
        (50717, "I", 1, int(white), True),
    ]
    with tifffile.TiffWriter(path) as tif:
        if preview is None:
            tif.write(cfa, photometric=32803, compression=None, subfiletype=0, metadata=None, extratags=main_tags + raw_tags)
        else:
            tif.write(
                np.ascontiguousarray(preview, dtype=np.uint8),
                photometric="rgb",
                compression=None,
                subfiletype=1,
                subifds=1,
                metadata=None,
                extratags=main_tags,
            )
            tif.write(cfa, photometric=32803, compression=None, subfiletype=0, metadata=None, extratags=raw_tags)


def test_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A linear-sRGB test scene: smooth colour gradients, a grey step wedge and a white patch."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([max(1, height - 1), max(1, width - 1)])[:, None, None]
    scene = np.stack([0.05 + 0.7 * x, 0.05 + 0.6 * y, 0.4 - 0.3 * x * y], axis=-1)
    bands = np.array([0.02, 0.05, 0.1, 0.18, 0.35, 0.6, 0.9])
    band = (x * len(bands)).astype(int).clip(0, len(bands) - 1)
    wedge = y > 0.75
    scene[wedge] = bands[band[wedge]][:, None]
    scene += rng.normal(0, 0.002, scene.shape)
    return np.clip(scene, 0.0, 1.0)


test_scene.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
