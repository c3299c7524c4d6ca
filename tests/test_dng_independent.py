"""A DNG written here, independently of ``tests/dng.py``, opens, edits and exports at sensor size.

The writer below was written from the DNG 1.4 specification's tag list, not from the I/O code,
so the loader is checked against a file it was not co-designed with.
"""

import hashlib

import numpy as np
import pytest
import rawpy
import tifffile

from retouch_studio.app.cli.main import main
from retouch_studio.model.imaging import load_photo



def write_bayer_dng(path, rgb_linear: np.ndarray, black=512, white=16383):
    """Mosaic a linear RGB image (floats in [0, 1]) into an RGGB 14-bit DNG."""
    h, w, _ = rgb_linear.shape
    cfa = np.empty((h, w), np.float64)
    cfa[0::2, 0::2] = rgb_linear[0::2, 0::2, 0]
    cfa[0::2, 1::2] = rgb_linear[0::2, 1::2, 1]
    cfa[1::2, 0::2] = rgb_linear[1::2, 0::2, 1]
    cfa[1::2, 1::2] = rgb_linear[1::2, 1::2, 2]
    data = (black + np.clip(cfa, 0, 1) * (white - black)).round().astype(np.uint16)
    srational = lambda vals: [x for v in vals for x in (int(round(v * 10000)), 10000)]  # noqa: E731
    # XYZ(D65) -> camera for a camera whose native space is linear sRGB
    xyz_to_srgb = [3.2404542, -1.5371385, -0.4985314, -0.9692660, 1.8760108, 0.0415560, 0.0556434, -0.2040259, 1.0572252]
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "Independent Test Cam", True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern RGGB
        (50714, "I", 1, (black,), True),  # BlackLevel
        (50717, "I", 1, (white,), True),  # WhiteLevel
        (50721, 10, 9, srational(xyz_to_srgb), True),  # ColorMatrix1, TIFF type 10 = SRATIONAL
        (50778, "H", 1, (21,), True),  # CalibrationIlluminant1 = D65
        (50728, 5, 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral, TIFF type 5 = RATIONAL
        (271, "s", 0, "IndependentMaker", True),  # Make
        (272, "s", 0, "Model X", True),  # Model
    ]
    tifffile.imwrite(
        path, data, photometric=32803, compression=None, subfiletype=0, extratags=tags,
        metadata=None, planarconfig=None,
    )


@pytest.fixture
def scene():
    h, w = 180, 262  # even sensor size, not a multiple of the usual 16
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    lin = np.stack([0.1 + 0.6 * x, 0.15 + 0.5 * y, 0.25 + 0.3 * (1 - x)], -1)
    lin[40:90, 60:140] = (0.6, 0.3, 0.1)  # an orange patch
    return lin


def test_independent_dng_opens_edits_and_exports_16bit(tmp_path, scene):
    dng = tmp_path / "IMG_0001.DNG"
    write_bayer_dng(dng, scene)
    digest = hashlib.sha256(dng.read_bytes()).hexdigest()
    with rawpy.imread(str(dng)) as raw:
        sensor = raw.sizes.raw_height, raw.sizes.raw_width
    photo = load_photo(dng)
    assert photo.pixels.dtype == np.uint16
    assert photo.pixels.shape[:2] == sensor == scene.shape[:2]
    # Colours come out where they were put: the orange patch is orange, not a cast.
    patch = photo.pixels[50:80, 70:130].reshape(-1, 3).mean(0)
    assert patch[0] > patch[1] > patch[2]
    out = tmp_path / "IMG_0001.tif"
    assert main(["apply", str(dng), "-i", "warmer", "-o", str(out), "--format", "tiff16"]) == 0
    res = tifffile.imread(out)
    assert res.dtype == np.uint16 and res.shape == (*sensor, 3)
    assert hashlib.sha256(dng.read_bytes()).hexdigest() == digest
