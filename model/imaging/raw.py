"""Camera RAW through LibRaw (rawpy): a fast first picture and the full 16-bit demosaic.

Every format LibRaw reads (DNG, CR2/CR3, NEF, ARW, RAF, ORF, RW2, ...) decodes into the
working space of :mod:`model.imaging`: sRGB primaries, the exact sRGB transfer curve, uint16.
LibRaw demosaics into *linear* 16-bit sRGB with the chosen white balance and no
auto-brightening (the exposure is the camera's: raw white level maps to 1.0); the sRGB curve is
applied here with a lookup table, because LibRaw's ``gamma=(2.4, 12.92)`` is only close to sRGB.

``load_raw_preview`` gives a first picture at once from the embedded JPEG/bitmap preview, or a
half-size decode when the file has none (or only a tiny one); ``load_raw`` is the full decode
for the background.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from retouch_studio.model.imaging.errors import CorruptPhotoError, PhotoError, TooLargeError, UnsupportedPhotoError
from retouch_studio.model.imaging.exif import orient_array, reset_exif_orientation
from retouch_studio.model.imaging.formats import RAW_EXTENSIONS
from retouch_studio.model.imaging.limits import MAX_PIXELS, check_file, check_pixels
from retouch_studio.model.imaging.photo import Photo
from retouch_studio.model.imaging.resize import fit_size, make_preview

__all__ = ["RawOptions", "RAW_EXTENSIONS", "load_raw", "load_raw_preview", "WHITE_BALANCES", "HIGHLIGHT_MODES"]

WHITE_BALANCES = ("camera", "auto", "daylight")
HIGHLIGHT_MODES = ("clip", "ignore", "blend", "reconstruct")
DEMOSAIC = ("linear", "vng", "ppg", "ahd", "dcb", "dht", "aahd")


@dataclass(frozen=True)
class RawOptions:
    """How LibRaw develops a RAW file.

    white_balance: ``"camera"`` (as shot, the default), ``"auto"`` (grey-world estimate) or
                   ``"daylight"`` (the camera's D65 multipliers).
    highlights:    ``"clip"`` (default, clipped highlights stay neutral), ``"ignore"``
                   (unclipped, may turn magenta), ``"blend"`` or ``"reconstruct"``.
    half_size:     2x2 binning instead of demosaicing (4x fewer pixels, much faster).
    demosaic:      LibRaw's algorithm (``"ahd"`` default; ``"linear"`` is fastest).
    """

    white_balance: str = "camera"
    highlights: str = "clip"
    half_size: bool = False
    demosaic: str = "ahd"

    def __post_init__(self) -> None:
        if self.white_balance not in WHITE_BALANCES:
            raise ValueError(f"white_balance must be one of {WHITE_BALANCES}, got {self.white_balance!r}")
        if self.highlights not in HIGHLIGHT_MODES:
            raise ValueError(f"highlights must be one of {HIGHLIGHT_MODES}, got {self.highlights!r}")
        if self.demosaic not in DEMOSAIC:
            raise ValueError(f"demosaic must be one of {DEMOSAIC}, got {self.demosaic!r}")

    @classmethod
    def from_settings(cls, options: RawOptions | None = None, **settings: Any) -> RawOptions:
        base = asdict(options) if options is not None else {}
        unknown = set(settings) - set(cls.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown RAW settings {sorted(unknown)}")
        return cls(**{**base, **settings})

    def rawpy_params(self) -> dict[str, Any]:
        """Keyword arguments for ``rawpy.RawPy.postprocess`` (linear 16-bit sRGB output)."""
        import rawpy

        return {
            "use_camera_wb": self.white_balance == "camera",
            "use_auto_wb": self.white_balance == "auto",
            "highlight_mode": {
                "clip": rawpy.HighlightMode.Clip,
                "ignore": rawpy.HighlightMode.Ignore,
                "blend": rawpy.HighlightMode.Blend,
                "reconstruct": rawpy.HighlightMode.ReconstructDefault,
            }[self.highlights],
            "half_size": self.half_size,
            "demosaic_algorithm": getattr(rawpy.DemosaicAlgorithm, self.demosaic.upper()),
            "output_color": rawpy.ColorSpace.sRGB,
            "output_bps": 16,
            "gamma": (1.0, 1.0),
            "no_auto_bright": True,
            "bright": 1.0,
            # LibRaw would otherwise lower the white point to the brightest value found above
            # 75 % of it: a silent exposure change that depends on the picture's content.
            "adjust_maximum_thr": 0.0,
        }


@functools.lru_cache(maxsize=1)
def _srgb_lut16() -> np.ndarray:
    """Linear uint16 -> sRGB-encoded uint16, exact IEC 61966-2-1 curve."""
    x = np.arange(65536, dtype=np.float64) / 65535.0
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return (y * 65535.0 + 0.5).astype(np.uint16)


def _apply_lut16(linear: np.ndarray) -> np.ndarray:
    """``_srgb_lut16()[linear]``, in parallel when numba is there (numpy's gather is ~10x slower)."""
    lut = _srgb_lut16()
    kernel = _lut_kernel() if linear.size >= 8_000_000 else None  # small: not worth numba's start-up
    if kernel is None:
        return lut[linear]
    out = np.empty_like(linear)
    kernel(np.ascontiguousarray(linear).reshape(-1), lut, out.reshape(-1))
    return out


@functools.lru_cache(maxsize=1)
def _lut_kernel():
    try:
        from retouch_studio.model.numba_cache import numba
    except ImportError:  # pragma: no cover - numba is a dependency; numpy fallback
        return None

    @numba.njit(parallel=True, cache=True, nogil=True)
    def lut_apply(src, lut, dst):  # pragma: no cover - compiled
        for i in numba.prange(src.size):
            dst[i] = lut[src[i]]

    return lut_apply


def _open(path: Path):
    import rawpy

    try:
        return rawpy.imread(str(path))
    except Exception as exc:  # noqa: BLE001
        raise _map_error(path, exc) from exc


def _map_error(path: Path, exc: BaseException) -> PhotoError:
    import rawpy

    if isinstance(exc, PhotoError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, rawpy.LibRawFileUnsupportedError):
        return UnsupportedPhotoError(path, "not a RAW file LibRaw can read (unsupported camera or not a RAW file)")
    if isinstance(exc, (rawpy.LibRawTooBigError, rawpy.LibRawUnsufficientMemoryError, MemoryError)):
        return TooLargeError(path, f"RAW too large to decode ({name})")
    if isinstance(exc, (rawpy.LibRawIOError, rawpy.LibRawDataError)):
        return CorruptPhotoError(path, f"RAW data is truncated or damaged ({name}: {exc})")
    return CorruptPhotoError(path, f"cannot decode RAW ({name}: {exc})")


_FLIP_TO_EXIF = {0: 1, 3: 3, 5: 8, 6: 6}


def _sizes(path: Path, raw, allow_large: bool, max_pixels: int) -> tuple[int, int, int]:
    s = raw.sizes
    check_pixels(path, s.width, s.height, allow_large, max_pixels)
    if s.raw_width * s.raw_height > max(max_pixels, s.width * s.height) * 2 and not allow_large:
        raise TooLargeError(path, f"raw frame {s.raw_width}x{s.raw_height} is implausibly large")
    flip = s.flip if s.flip in _FLIP_TO_EXIF else 0
    w, h = (s.height, s.width) if flip in (5, 6) else (s.width, s.height)
    return w, h, flip


def load_raw(
    path: str | os.PathLike,
    options: RawOptions | None = None,
    *,
    allow_large: bool = False,
    max_pixels: int = MAX_PIXELS,
) -> Photo:
    """Full decode: ``Photo`` with uint16 ``(H, W, 3)`` sRGB-encoded pixels (half size if asked).

    Camera white balance by default, no auto-brightening, orientation applied by LibRaw.
    ``info["raw"]`` records the settings; ``exif`` carries the capture data found in the file.
    """
    path = Path(path)
    check_file(path)
    options = options or RawOptions()
    raw = _open(path)
    try:
        with raw:
            w, h, flip = _sizes(path, raw, allow_large, max_pixels)
            linear = raw.postprocess(**options.rawpy_params())
            exif = _raw_exif(path, raw)
            wb = [float(v) for v in raw.camera_whitebalance]
    except PhotoError:
        raise
    except Exception as exc:  # noqa: BLE001 - any LibRaw failure becomes one typed error
        raise _map_error(path, exc) from exc
    pixels = _apply_lut16(linear)
    info = {
        "format": "RAW",
        "source_bit_depth": 16,
        "orientation": _FLIP_TO_EXIF[flip],
        "size": (w, h),
        "icc_description": None,
        "icc_converted": False,
        "raw": {**asdict(options), "camera_wb": wb},
        "warnings": [],
    }
    return Photo(np.ascontiguousarray(pixels), path, None, exif, None, info)


def load_raw_preview(path: str | os.PathLike, max_size: int = 2048, *, allow_large: bool = False) -> Photo:
    """A first picture at once: 8-bit sRGB, upright, long edge <= ``max_size``.

    Uses the embedded preview when its long edge reaches ``min(max_size, 1024)`` (or half the
    sensor), else a half-size linear-demosaic decode. ``info["preview_source"]`` says which;
    ``info["size"]`` is the full decode's ``(W, H)``. ``exif`` holds only the container's own
    EXIF here (LibRaw's extra fields cost a full unpack); ``load_raw`` has all of it.
    """
    import rawpy

    path = Path(path)
    check_file(path)
    raw = _open(path)
    try:
        with raw:
            w, h, flip = _sizes(path, raw, allow_large, MAX_PIXELS)
            exif = _raw_exif(path, raw, from_libraw=False)
            pixels = None
            source = "half-size"
            try:
                thumb = raw.extract_thumb()
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                thumb = None
            except Exception:  # noqa: BLE001 - a broken preview is not fatal: decode instead
                thumb = None
            if thumb is not None:
                pixels = _thumb_pixels(thumb, max_size)
                if pixels is not None:
                    need = min(max_size, 1024, max(w, h) // 2)
                    if max(pixels.shape[:2]) < need:
                        pixels = None
                    else:
                        pixels = orient_array(pixels, _FLIP_TO_EXIF[flip])
                        source = "thumbnail"
            if pixels is None:
                params = RawOptions(half_size=True, demosaic="linear").rawpy_params()
                # 8-bit with LibRaw's own (2.4, 12.92) curve: within 1 level of the exact sRGB
                # curve and no 16-bit pass, which halves the time to the first picture
                params.update(output_bps=8, gamma=(2.4, 12.92))
                pixels = raw.postprocess(**params)
    except PhotoError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _map_error(path, exc) from exc
    pixels = make_preview(pixels, max_size)
    info = {
        "format": "RAW",
        "source_bit_depth": 16,
        "orientation": _FLIP_TO_EXIF[flip],
        "size": (w, h),
        "preview": True,
        "preview_source": source,
        "icc_description": None,
        "icc_converted": False,
        "warnings": [],
    }
    return Photo(pixels, path, None, exif, None, info)


def _thumb_pixels(thumb, max_size: int) -> np.ndarray | None:
    import rawpy

    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            with Image.open(io.BytesIO(thumb.data)) as im:
                im.draft("RGB", fit_size(im.width, im.height, max_size))
                return np.asarray(im.convert("RGB"))
        arr = np.asarray(thumb.data)
        if arr.ndim == 3 and arr.shape[2] == 3:
            return arr if arr.dtype == np.uint8 else (arr >> 8).astype(np.uint8)
    except Exception:  # noqa: BLE001 - unreadable preview: the caller decodes instead
        return None
    return None


def _raw_exif(path: Path, raw, from_libraw: bool = True) -> bytes | None:
    """Capture data: the TIFF-based container's own EXIF when Pillow can read its header
    (DNG, NEF, CR2, ARW, ...), completed with what LibRaw reports (time, ISO, exposure, lens).

    ``from_libraw=False`` skips LibRaw's fields: reading them unpacks the whole raw frame
    (a quarter second on 24 MP), too slow for the first preview.
    """
    exif = Image.Exif()
    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            src = Image.Exif()
            src.load_from_fp(f)  # IFD0 of a TIFF-based RAW; raises for CR3, RAF, ...
            for tag in (270, 271, 272, 306, 315, 33432):
                if isinstance(src.get(tag), str) and src[tag].strip("\x00 "):
                    exif[tag] = src[tag]
            for pointer in (0x8769, 0x8825):
                sub = {k: v for k, v in src.get_ifd(pointer).items() if k not in (0x927C, 0xA005)}
                if sub:
                    exif[pointer] = sub
    except Exception:  # noqa: BLE001 - not TIFF-based or odd header: LibRaw's data only
        pass
    try:
        if not from_libraw:
            raise LookupError
        other, lens = raw.other, raw.lens
        sub = dict(exif.get(0x8769) or {}) if isinstance(exif.get(0x8769), dict) else {}
        if other.timestamp and other.timestamp > _dt.datetime(1971, 1, 1):
            stamp = other.timestamp.strftime("%Y:%m:%d %H:%M:%S")
            sub.setdefault(0x9003, stamp)
            exif.setdefault(306, stamp)
        if other.iso_speed > 0:
            sub.setdefault(0x8827, int(other.iso_speed))
        if other.shutter_speed > 0:
            sub.setdefault(0x829A, float(other.shutter_speed))
        if other.aperture > 0:
            sub.setdefault(0x829D, float(other.aperture))
        if other.focal_length > 0:
            sub.setdefault(0x920A, float(other.focal_length))
        if lens.model:
            sub.setdefault(0xA434, lens.model)
        if lens.make:
            sub.setdefault(0xA433, lens.make)
        if other.artist:
            exif.setdefault(315, other.artist)
        if sub:
            exif[0x8769] = sub
    except Exception:  # noqa: BLE001 - skipped, or an older rawpy without .other/.lens
        pass
    if not len(exif):
        return None
    try:
        return reset_exif_orientation(exif.tobytes())
    except Exception:  # noqa: BLE001 - a value Pillow cannot serialise: no EXIF rather than no photo
        return None
