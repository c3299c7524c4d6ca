"""Photos in and out: decode, colour-manage, preview, encode; every failure is one typed error.

Working space
-------------
Everything downstream (the model, the bilateral-grid apply, previews, exports) works on
**sRGB-encoded** values, as the model was trained: ``Photo.pixels`` is ``(H, W, 3)`` uint8 or
uint16, C-contiguous, with sRGB primaries, D65 white and the sRGB transfer curve, already
rotated upright (EXIF orientation applied). A source with an embedded ICC profile that is not
sRGB (Adobe RGB, Display P3, ProPhoto, a CMYK press profile, a grey gamma profile...) is
converted to sRGB with LittleCMS on load: Pillow ``ImageCms`` for 8-bit pictures, LittleCMS'
floating-point transform through ``imagecodecs`` for 16-bit ones (Pillow has no 16-bit RGB
mode). The rendering intent is perceptual (LittleCMS falls back to relative colorimetric for
matrix/TRC profiles, which is what Adobe RGB and Display P3 are); colours outside sRGB are
clipped. A source without a profile is taken to be sRGB. RAW files are demosaicked straight
into sRGB by LibRaw (see :mod:`model.raw`).

The public surface other modules use
------------------------------------
``load_photo(path) -> Photo``            full-quality decode (RAW: full 16-bit demosaic)
``load_preview(path, max_size) -> Photo`` fast first picture (JPEG DCT scaling, RAW thumbnail)
``load_proxy(path, 512) -> ndarray``      the model's input alone, decoded the same fast way
``save_photo(path, pixels_or_photo, fmt, quality, exif=, icc=, alpha=, ...) -> Path``
``make_proxy(pixels, 512)`` / ``make_preview(pixels, max_size)`` / ``to_float(pixels)``
``is_supported(path)`` / ``SUPPORTED_EXTENSIONS`` / ``RAW_EXTENSIONS`` / ``FORMATS``
``PhotoError`` and its subclasses (``except PhotoError`` catches every I/O failure).

The intended call pattern for GUI and batch::

    photo = load_photo(src)                       # raises PhotoError subclasses
    edited = apply_prediction(photo.pixels, ...)  # same dtype and shape
    save_photo(dst, edited, "jpeg", 92, alpha=photo.alpha, exif=photo.exif, icc=photo.icc,
               source=photo.path)                 # or simply save_photo(dst, replace(photo, pixels=edited))
"""

from __future__ import annotations

import functools
import io
import os
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageFile

__all__ = [
    "Photo",
    "PhotoError",
    "PhotoNotFoundError",
    "EmptyFileError",
    "NotAnImageError",
    "CorruptPhotoError",
    "UnsupportedPhotoError",
    "TooLargeError",
    "PhotoExistsError",
    "SourceOverwriteError",
    "PhotoWriteError",
    "MAX_PIXELS",
    "RASTER_EXTENSIONS",
    "RAW_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "FORMATS",
    "is_supported",
    "is_raw",
    "resolve_format",
    "load_photo",
    "load_preview",
    "load_proxy",
    "save_photo",
    "make_proxy",
    "make_preview",
    "to_float",
    "srgb_profile",
]

#: Pictures above this many pixels are refused unless ``allow_large=True`` (decompression bombs).
MAX_PIXELS = 250_000_000

RASTER_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp"})
#: Extensions handed to LibRaw (rawpy). LibRaw reads many more cameras than it has extensions for.
RAW_EXTENSIONS = frozenset(
    {
        ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf",
        ".rw2", ".rwl", ".pef", ".ptx", ".srw", ".x3f", ".3fr", ".fff", ".iiq", ".mos", ".mef",
        ".mrw", ".erf", ".kdc", ".dcr", ".raw", ".gpr", ".cap", ".k25", ".bay", ".mdc",
    }
)  # fmt: skip
SUPPORTED_EXTENSIONS = RASTER_EXTENSIONS | RAW_EXTENSIONS

#: Export formats: ``fmt`` value -> (file suffix, bit depths it can hold, keeps alpha).
#: ``"png"``/``"tiff"`` write at the depth of the pixels (uint16 -> 16-bit) unless ``bit_depth``
#: says otherwise; ``"png16"``/``"tiff16"`` force 16 bits; JPEG and WebP are always 8-bit.
FORMATS: dict[str, tuple[str, tuple[int, ...], bool]] = {
    "jpeg": (".jpg", (8,), False),
    "png": (".png", (8, 16), True),
    "png16": (".png", (16,), True),
    "tiff": (".tif", (8, 16), True),
    "tiff16": (".tif", (16,), True),
    "webp": (".webp", (8,), True),
}
_SUFFIX_FORMATS = {
    ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".jfif": "jpeg", ".png": "png",
    ".tif": "tiff", ".tiff": "tiff", ".webp": "webp",
}  # fmt: skip
_FMT_ALIASES = {"jpg": "jpeg", "tif": "tiff", "tif16": "tiff16"}


# --------------------------------------------------------------------------------------------
# Errors


class PhotoError(Exception):
    """A photo could not be read or written; the message names the file and the reason.

    ``kind`` is a short machine-readable code (``"corrupt"``, ``"empty"``...) for batch reports.
    """

    kind = "error"

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class PhotoNotFoundError(PhotoError):
    kind = "missing"


class EmptyFileError(PhotoError):
    kind = "empty"


class NotAnImageError(PhotoError):
    """The bytes are not a picture any decoder recognises (a text file named .jpg...)."""

    kind = "not-image"


class CorruptPhotoError(PhotoError):
    """Recognised format, but the data is truncated or damaged."""

    kind = "corrupt"


class UnsupportedPhotoError(PhotoError):
    """A valid file this program cannot handle (an unsupported RAW camera, an odd pixel layout)."""

    kind = "unsupported"


class TooLargeError(PhotoError):
    """More pixels than ``MAX_PIXELS`` (a decompression bomb unless ``allow_large=True``)."""

    kind = "too-large"


class PhotoExistsError(PhotoError):
    kind = "exists"


class SourceOverwriteError(PhotoError):
    kind = "source"


class PhotoWriteError(PhotoError):
    kind = "write"


# --------------------------------------------------------------------------------------------
# The photo


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


# --------------------------------------------------------------------------------------------
# Formats


def is_raw(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in RAW_EXTENSIONS


def is_supported(path: str | os.PathLike) -> bool:
    """True when the extension is one ``load_photo`` reads (for scanning folders)."""
    name = Path(path).name
    return not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_EXTENSIONS


def resolve_format(fmt: str | None, path: str | os.PathLike | None = None) -> str:
    """Canonical export format name (a key of ``FORMATS``) from ``fmt`` or the path's suffix."""
    if fmt is None:
        suffix = Path(path).suffix.lower() if path is not None else ""
        if suffix not in _SUFFIX_FORMATS:
            raise UnsupportedPhotoError(path or "?", f"cannot tell the export format from suffix {suffix!r}")
        return _SUFFIX_FORMATS[suffix]
    name = _FMT_ALIASES.get(fmt.lower(), fmt.lower())
    if name not in FORMATS:
        raise UnsupportedPhotoError(path or "?", f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    return name


# --------------------------------------------------------------------------------------------
# Colour management


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


def _open_profile(icc: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(icc))


def _profile_description(icc: bytes) -> str:
    try:
        return ImageCms.getProfileDescription(_open_profile(icc)).strip()
    except Exception:  # noqa: BLE001 - a damaged profile only loses its name here
        return "?"


def _is_srgb(icc: bytes) -> bool:
    """Heuristic: an RGB profile whose description names sRGB ("sRGB IEC61966-2.1", ...)."""
    try:
        prof = _open_profile(icc)
        return prof.profile.xcolor_space.strip() == "RGB" and "srgb" in ImageCms.getProfileDescription(prof).lower()
    except Exception:  # noqa: BLE001
        return False


@functools.lru_cache(maxsize=16)
def _pil_transform(icc: bytes, in_mode: str) -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(
        _open_profile(icc), _srgb_cms(), in_mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
    )


def _cms_16bit(pixels: np.ndarray, icc: bytes, colorspace: str, out: np.ndarray | None = None) -> np.ndarray:
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


# --------------------------------------------------------------------------------------------
# EXIF


def _exif_reset_orientation(
    exif: bytes | None, drop_thumbnail: bool = False, size: tuple[int, int] | None = None
) -> bytes | None:
    """Set the orientation tag to 1 in place (lossless: MakerNotes, GPS and lens stay byte-exact).

    ``drop_thumbnail`` unlinks IFD1 (the embedded EXIF thumbnail would show the unedited picture);
    ``size`` = (W, H) rewrites PixelXDimension/PixelYDimension in the Exif IFD.
    Accepts blocks with or without the ``Exif\\0\\0`` prefix; returns None for unparseable data.
    """
    if not exif:
        return None
    data = bytearray(exif)
    base = 6 if data[:6] == b"Exif\x00\x00" else 0
    try:
        order = {b"II": "<", b"MM": ">"}[bytes(data[base : base + 2])]
        (ifd,) = struct.unpack_from(order + "I", data, base + 4)
        (count,) = struct.unpack_from(order + "H", data, base + ifd)
        exif_ifd = None
        for i in range(count):
            entry = base + ifd + 2 + 12 * i
            tag, typ, n = struct.unpack_from(order + "HHI", data, entry)
            if tag == 0x0112 and typ == 3 and n == 1:
                struct.pack_into(order + "H", data, entry + 8, 1)
            elif tag == 0x8769 and typ in (4, 13) and n == 1:
                (exif_ifd,) = struct.unpack_from(order + "I", data, entry + 8)
        if drop_thumbnail:
            struct.pack_into(order + "I", data, base + ifd + 2 + 12 * count, 0)
        if size is not None and exif_ifd:
            (sub_count,) = struct.unpack_from(order + "H", data, base + exif_ifd)
            for i in range(sub_count):
                entry = base + exif_ifd + 2 + 12 * i
                tag, typ, n = struct.unpack_from(order + "HHI", data, entry)
                if tag in (0xA002, 0xA003) and n == 1:
                    value = size[0] if tag == 0xA002 else size[1]
                    if typ == 4:
                        struct.pack_into(order + "I", data, entry + 8, value)
                    elif typ == 3 and value < 65536:
                        struct.pack_into(order + "H", data, entry + 8, value)
    except (KeyError, struct.error):
        return None
    return bytes(data)


_EXIF_IFD0_KEEP = (270, 271, 272, 305, 306, 315, 0x0112, 33432)  # description, make, model, software, datetime, artist, orientation, copyright
_EXIF_POINTERS = (0x8769, 0x8825)  # Exif IFD, GPS IFD


def _exif_from_tags(im: Image.Image) -> bytes | None:
    """EXIF block from a TIFF's own tags (or PNG eXIf) without the image-structure tags."""
    try:
        return _exif_essentials(im.getexif())
    except Exception:  # noqa: BLE001 - unreadable metadata is dropped, not fatal
        return None


def _exif_essentials(src: Image.Exif) -> bytes | None:
    """IFD0 descriptive tags + Exif and GPS sub-IFDs, without MakerNote and thumbnail."""
    out = Image.Exif()
    for tag in _EXIF_IFD0_KEEP:
        if tag in src:
            out[tag] = src[tag]
    for pointer in _EXIF_POINTERS:
        sub = src.get_ifd(pointer)
        if sub:
            out[pointer] = {k: v for k, v in sub.items() if k not in (0x927C, 0xA005)}
    return out.tobytes() if len(out) else None


def _exif_orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - damaged EXIF: treat as upright
        return 1
    return value if 1 <= value <= 8 else 1


def _orient_array(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an ``(H, W, ...)`` array, like Pillow's ``exif_transpose``."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    if orientation in ops:
        arr = ops[orientation](arr)
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------------------------
# Loading

_PIL_OPEN_LOCK = threading.Lock()


def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise PhotoNotFoundError(path, "file not found") from None
    except OSError as exc:
        raise PhotoError(path, f"cannot access file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise NotAnImageError(path, "not a regular file")
    if st.st_size == 0:
        raise EmptyFileError(path, "empty file (0 bytes)")


def _pil_open(path: Path) -> Image.Image:
    """Open the header; our own ``MAX_PIXELS`` check replaces Pillow's lower global limit."""
    with _PIL_OPEN_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_pixels(path: Path, w: int, h: int, allow_large: bool, max_pixels: int) -> None:
    if w <= 0 or h <= 0:
        raise CorruptPhotoError(path, f"invalid picture size {w}x{h}")
    if not allow_large and w * h > max_pixels:
        raise TooLargeError(
            path, f"{w}x{h} = {w * h / 1e6:.0f} MP exceeds the {max_pixels / 1e6:.0f} MP limit (allow_large=True to open)"
        )


def load_photo(
    path: str | os.PathLike,
    *,
    allow_large: bool = False,
    max_pixels: int = MAX_PIXELS,
    convert_icc: bool = True,
    raw_options: Any = None,
    **raw_settings: Any,
) -> Photo:
    """Decode a photo into the working space (see module docstring).

    JPEG, PNG (8/16-bit), TIFF (8/16-bit, float), WebP and RAW (everything LibRaw reads; decided
    by the extension, see ``RAW_EXTENSIONS``). Grey and palette pictures become RGB, CMYK is
    converted through its profile, alpha is split into ``Photo.alpha``. RAW: full 16-bit
    demosaic with ``raw_options`` (a :class:`model.raw.RawOptions`) or its fields as keywords
    (``white_balance="camera"|"auto"|"daylight"``, ``highlights="clip"|"blend"|...``).

    Raises a :class:`PhotoError` subclass for every failure: missing, empty, not an image,
    truncated/corrupt, unsupported, or above ``max_pixels`` (250 MP) unless ``allow_large``.
    """
    path = Path(path)
    _check_file(path)
    if is_raw(path):
        from retouch_studio.model.imaging import raw

        options = raw.RawOptions.from_settings(raw_options, **raw_settings)
        return raw.load_raw(path, options, allow_large=allow_large, max_pixels=max_pixels)
    if raw_options is not None or raw_settings:
        unknown = set(raw_settings) - {"white_balance", "highlights", "half_size", "demosaic"}
        if unknown:
            raise TypeError(f"load_photo() got unexpected keyword arguments {sorted(unknown)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _checked(_load_raster(path, allow_large, max_pixels, convert_icc, None))
    except PhotoError:
        raise
    except MemoryError:
        raise TooLargeError(path, "not enough memory to decode") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure becomes one typed error
        raise CorruptPhotoError(path, f"cannot decode: damaged or truncated data{_detail(exc)}") from exc


def load_preview(path: str | os.PathLike, max_size: int = 2048, *, allow_large: bool = False) -> Photo:
    """A fast first picture, long edge <= ``max_size``, 8-bit, upright, sRGB.

    JPEG uses DCT-domain downscaling, RAW the embedded preview or a half-size decode
    (:func:`model.raw.load_raw_preview`); other formats decode fully and downscale.
    ``info["size"]`` is the full picture's ``(W, H)`` (upright) and ``info["preview"]`` True.
    """
    path = Path(path)
    _check_file(path)
    if is_raw(path):
        from retouch_studio.model.imaging import raw

        return raw.load_raw_preview(path, max_size=max_size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            photo = _load_raster(path, allow_large, MAX_PIXELS, True, max_size)
    except PhotoError:
        raise
    except MemoryError:
        raise TooLargeError(path, "not enough memory to decode") from None
    except Exception as exc:  # noqa: BLE001
        raise CorruptPhotoError(path, f"cannot decode: damaged or truncated data{_detail(exc)}") from exc
    pixels = make_preview(photo.pixels, max_size)
    alpha = None
    if photo.alpha is not None:
        alpha = make_preview(np.repeat(photo.alpha[..., None], 3, axis=2), max_size)[..., 0].copy()
    photo.info["preview"] = True
    return Photo(pixels, photo.path, alpha, photo.exif, photo.icc, photo.info)


def _checked(photo: Photo) -> Photo:
    """The working-space promise, checked once more: odd layouts that slip past a decoder are
    refused here rather than failing later in an edit."""
    px = photo.pixels
    if px.ndim != 3 or px.shape[2] != 3 or px.dtype not in (np.uint8, np.uint16) or px.size == 0:
        raise UnsupportedPhotoError(photo.path or "?", f"decoded to an unusable pixel layout {px.shape} {px.dtype}")
    if photo.alpha is not None and photo.alpha.shape != px.shape[:2]:
        raise UnsupportedPhotoError(photo.path or "?", f"alpha {photo.alpha.shape} does not match {px.shape[:2]}")
    return photo


def load_proxy(path: str | os.PathLike, long_edge: int = 512, *, allow_large: bool = False) -> np.ndarray:
    """The model's input straight from a file, for when only the proxy is needed (a prediction
    before the full decode, a plan check): :func:`load_preview` at ``long_edge`` (JPEG decodes
    with DCT scaling, RAW from its embedded preview), then :func:`make_proxy`."""
    return make_proxy(load_preview(path, long_edge, allow_large=allow_large).pixels, long_edge)


def _png_header(path: Path) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(26)
    return head[24], head[25]  # bit depth, colour type


def _to_uint16(arr: np.ndarray) -> np.ndarray:
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


def _decode_tiff_16(path: Path) -> tuple[np.ndarray, str]:
    """High-bit-depth or float TIFF through tifffile: returns (array, 'rgb'|'gray'|'rgba'|'graya')."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        arr = page.asarray()
        photometric = int(page.photometric)
        extra = len(page.extrasamples) if page.extrasamples else 0
        planar = int(page.planarconfig) == 2 and page.samplesperpixel > 1
    if photometric not in (1, 2) or arr.ndim not in (2, 3):
        raise UnsupportedPhotoError(path, f"16-bit TIFF with photometric {photometric} is not supported")
    if planar:  # (samples, H, W) -> (H, W, samples)
        arr = np.moveaxis(arr, 0, -1)
    arr = _to_uint16(arr)
    if arr.ndim == 2:
        return arr, "gray"
    channels = arr.shape[-1]
    if photometric == 1:
        return (arr[..., :2], "graya") if channels - extra == 1 and extra else (arr[..., 0], "gray")
    if channels < 3:
        raise UnsupportedPhotoError(path, f"RGB TIFF with {channels} sample(s) per pixel")
    if channels >= 4 and extra:
        return arr[..., :4], "rgba"
    return arr[..., :3], "rgb"


def _load_raster(path: Path, allow_large: bool, max_pixels: int, convert_icc: bool, draft: int | None) -> Photo:
    tiff = _tiff_kind(path)
    if tiff == "dng":  # a DNG under another name: Pillow would show its small preview image
        from retouch_studio.model.imaging import raw

        return raw.load_raw(path, raw.RawOptions(), allow_large=allow_large, max_pixels=max_pixels)
    try:
        im = _pil_open(path)
    except Image.UnidentifiedImageError:
        if tiff == "tiff":  # layouts Pillow does not open (RGB float32/float16...)
            return _load_tiff(path, allow_large, max_pixels, convert_icc)
        return _load_unknown(path, allow_large, max_pixels)
    with im:
        fmt = im.format or "?"
        w, h = im.size
        _check_pixels(path, w, h, allow_large, max_pixels)
        orientation = _exif_orientation(im) if fmt != "PNG" else 1
        info: dict[str, Any] = {"format": fmt, "source_mode": im.mode, "warnings": []}
        arr16 = None
        layout = None
        if fmt == "PNG" and _png_header(path) in ((16, 2), (16, 4), (16, 6)):
            import imagecodecs

            with open(path, "rb") as f:
                arr16 = imagecodecs.png_decode(f.read())
            layout = {4: "rgba", 3: "rgb", 2: "graya"}[arr16.shape[-1]] if arr16.ndim == 3 else "gray"
        elif fmt == "TIFF":
            tags = getattr(im, "tag_v2", {})
            bits = tags.get(258, (8,))
            bits = bits if isinstance(bits, tuple) else (bits,)
            sample_format = tags.get(339, (1,))
            sample_format = sample_format if isinstance(sample_format, tuple) else (sample_format,)
            if max(bits) > 8 or set(sample_format) != {1}:
                arr16, layout = _decode_tiff_16(path)
        if arr16 is None:
            if draft and fmt == "JPEG" and im.mode in ("RGB", "L", "CMYK"):
                im.draft(im.mode, _fit(w, h, draft))
            im.load()
            if fmt == "PNG":
                orientation = _exif_orientation(im)  # eXIf may follow the image data
        exif_block = im.info.get("exif")
        if exif_block is None and fmt == "PNG" and arr16 is not None:
            # Pillow's getexif() would decode the whole picture again (8-bit) to look for eXIf
            exif_block = _png_exif(path)
            if orientation == 1 and exif_block:
                orientation = _exif_block_orientation(exif_block)
        elif exif_block is None and fmt in ("TIFF", "PNG"):
            exif_block = _exif_from_tags(im)
        icc = im.info.get("icc_profile") or None
        if arr16 is not None:
            info["source_bit_depth"] = 16
            pixels, alpha = _split16(arr16, layout or "rgb")
        else:
            info["source_bit_depth"] = 16 if im.mode.startswith("I") else 8
            pixels, alpha, icc = _pil_pixels(path, im, icc if convert_icc else None, info)
            if not convert_icc:
                icc = im.info.get("icc_profile") or None
    info["icc_description"] = _profile_description(icc) if icc else None
    info["icc_converted"] = False
    if arr16 is not None and icc and convert_icc and not _is_srgb(icc):
        colorspace = "gray" if layout in ("gray", "graya") else "rgb"
        try:
            src = pixels[..., 0] if colorspace == "gray" else pixels
            src = np.ascontiguousarray(src)
            in_place = colorspace == "rgb" and src is pixels and pixels.flags.writeable
            pixels = _cms_16bit(src, icc, colorspace, out=pixels if in_place else None)
        except Exception as exc:  # noqa: BLE001
            raise UnsupportedPhotoError(path, f"cannot convert ICC profile {info['icc_description']!r} ({exc})") from exc
        info["icc_converted"] = True
        icc = srgb_profile()
    elif info.get("icc_converted_early"):
        info["icc_converted"] = True
        info.pop("icc_converted_early")
    info["orientation"] = orientation
    if orientation != 1:
        pixels = _orient_array(pixels, orientation)
        alpha = _orient_array(alpha, orientation) if alpha is not None else None
    info["size"] = (h, w) if orientation >= 5 else (w, h)
    exif = _exif_reset_orientation(exif_block) if exif_block else None
    if exif is not None and not exif.startswith(b"Exif\x00\x00"):
        exif = b"Exif\x00\x00" + exif
    return Photo(np.ascontiguousarray(pixels), path, alpha, exif, icc, info)


def _png_exif(path: Path) -> bytes | None:
    """The eXIf chunk of a PNG, found by walking the chunk headers (no pixel data is read)."""
    with open(path, "rb") as f:
        f.seek(8)
        while True:
            head = f.read(8)
            if len(head) < 8:
                return None
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                data = f.read(length)
                return data if len(data) == length else None
            if kind == b"IEND":
                return None
            f.seek(length + 4, os.SEEK_CUR)


def _exif_block_orientation(exif: bytes) -> int:
    try:
        ex = Image.Exif()
        ex.load(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
        value = int(ex.get(0x0112, 1))
    except Exception:  # noqa: BLE001 - damaged EXIF: treat as upright
        return 1
    return value if 1 <= value <= 8 else 1


def _tiff_kind(path: Path) -> str | None:
    """``"dng"`` for a DNG (whatever its name), ``"tiff"`` for another TIFF, None otherwise."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return None
    try:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            return "dng" if 50706 in tif.pages.first.tags else "tiff"  # 50706: DNGVersion
    except Exception:  # noqa: BLE001 - a damaged TIFF: let the decoders report it
        return "tiff"


def _load_tiff(path: Path, allow_large: bool, max_pixels: int, convert_icc: bool) -> Photo:
    """A TIFF through tifffile alone (float samples and other layouts Pillow cannot open)."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        h, w = int(page.imagelength), int(page.imagewidth)
        tag = page.tags.get(34675)  # InterColorProfile
        icc = bytes(tag.value) if tag is not None else None
    _check_pixels(path, w, h, allow_large, max_pixels)
    arr, layout = _decode_tiff_16(path)
    pixels, alpha = _split16(arr, layout)
    info: dict[str, Any] = {"format": "TIFF", "source_mode": layout, "source_bit_depth": 16, "warnings": []}
    info["icc_description"] = _profile_description(icc) if icc else None
    info["icc_converted"] = False
    if icc and convert_icc and not _is_srgb(icc):
        try:
            pixels = _cms_16bit(np.ascontiguousarray(pixels), icc, "rgb")
        except Exception as exc:  # noqa: BLE001
            raise UnsupportedPhotoError(path, f"cannot convert ICC profile {info['icc_description']!r} ({exc})") from exc
        info["icc_converted"] = True
        icc = srgb_profile()
    info["orientation"] = 1
    info["size"] = (w, h)
    return Photo(np.ascontiguousarray(pixels), path, alpha, None, icc, info)


def _split16(arr: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray | None]:
    if layout == "gray":
        return np.repeat(arr[..., None], 3, axis=2), None
    if layout == "graya":
        return np.repeat(arr[..., :1], 3, axis=2), np.ascontiguousarray(arr[..., 1])
    if layout == "rgba":
        return np.ascontiguousarray(arr[..., :3]), np.ascontiguousarray(arr[..., 3])
    return np.ascontiguousarray(arr[..., :3]), None


def _pil_pixels(
    path: Path, im: Image.Image, icc: bytes | None, info: dict
) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """8-bit (and 16-bit grey) Pillow modes -> (RGB pixels, alpha, icc describing the result)."""
    mode = im.mode
    alpha = None
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im)
        if mode == "F":
            arr16 = _to_uint16(arr)
        else:
            arr16 = np.clip(arr, 0, 65535).astype(np.uint16)
        info["source_bit_depth"] = 16
        if icc and not _is_srgb(icc) and _profile_space(icc) == "GRA":
            converted = _cms_16bit(arr16, icc, "gray")
            info["icc_converted_early"] = True
            return converted, None, srgb_profile()
        return np.repeat(arr16[..., None], 3, axis=2), None, icc
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("RGBa", "La"):
        im = im.convert("RGBA" if mode == "RGBa" else "LA")
    elif mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
        try:
            im = im.convert("RGB")
        except ValueError as exc:
            raise UnsupportedPhotoError(path, f"pixel mode {mode} is not supported") from exc
    if im.mode in ("RGBA", "LA"):
        alpha = np.array(im.getchannel("A"))
        im = im.convert("RGB" if im.mode == "RGBA" else "L")
    if icc and not _is_srgb(icc):
        if im.mode == "CMYK" or _profile_space(icc) == im.mode.ljust(3)[:3] or (im.mode == "L" and _profile_space(icc) == "GRA"):
            try:
                transformed = ImageCms.applyTransform(im, _pil_transform(icc, im.mode))
                assert transformed is not None  # None only with inPlace=True
                im = transformed
                info["icc_converted_early"] = True
                icc = srgb_profile()
            except (ImageCms.PyCMSError, OSError, ValueError) as exc:
                raise UnsupportedPhotoError(path, f"cannot convert ICC profile ({exc})") from exc
        else:
            info["warnings"].append(f"ignored ICC profile for a different colour space ({_profile_space(icc)})")
            icc = None
    if im.mode != "RGB":
        im = im.convert("RGB")  # grey -> RGB, CMYK without profile -> naive RGB
    return np.asarray(im), alpha, icc


def _profile_space(icc: bytes) -> str:
    try:
        return _open_profile(icc).profile.xcolor_space.strip()[:3]
    except Exception:  # noqa: BLE001
        return "?"


def _load_unknown(path: Path, allow_large: bool, max_pixels: int) -> Photo:
    """Pillow does not know it: a RAW with the wrong extension, or not an image at all."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:2] in (b"II", b"MM") or head[4:12] in (b"ftypcrx ",):
        from retouch_studio.model.imaging import raw

        try:
            return raw.load_raw(path, raw.RawOptions(), allow_large=allow_large, max_pixels=max_pixels)
        except PhotoError:
            pass
    known = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*")
    if head.startswith(known) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        raise CorruptPhotoError(path, "damaged header (the file starts like an image but cannot be parsed)")
    raise NotAnImageError(path, "not a recognised image (unknown format or not a picture)")


# --------------------------------------------------------------------------------------------
# Proxies and previews


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 -> float32 in [0, 1]; float input is returned as float32 unchanged."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) * np.float32(1 / 255)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) * np.float32(1 / 65535)
    return pixels.astype(np.float32, copy=False)


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        wide = pixels.astype(np.uint32)
        wide *= 255
        wide += 32895
        wide >>= 16  # == round(x / 257) for every uint16 x, without a division
        return wide.astype(np.uint8)
    return (np.clip(np.nan_to_num(pixels), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _fit(w: int, h: int, max_size: int | tuple[int, int]) -> tuple[int, int]:
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
    _check_rgb(pixels)
    h, w = pixels.shape[:2]
    size = _fit(w, h, long_edge)
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
    _check_rgb(pixels)
    h, w = pixels.shape[:2]
    # 8 bits first (the screen has no more), and a box reduce down to < 2x the target before
    # LANCZOS: about twice as fast as make_proxy's gentler reducing gap, fine for a screen
    out = _resize(_to_uint8(pixels), _fit(w, h, max_size), reducing_gap=1.0)
    return np.ascontiguousarray(out)


def _check_rgb(pixels: np.ndarray) -> None:
    if not isinstance(pixels, np.ndarray) or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be an (H, W, 3) array, got {getattr(pixels, 'shape', type(pixels))}")
    if pixels.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ValueError(f"pixels must be uint8, uint16 or float, got {pixels.dtype}")


# --------------------------------------------------------------------------------------------
# Saving


def save_photo(
    path: str | os.PathLike,
    pixels: np.ndarray | Photo,
    fmt: str | None = None,
    quality: int = 95,
    *,
    alpha: np.ndarray | None = None,
    exif: bytes | None = None,
    icc: bytes | None = None,
    bit_depth: int | None = None,
    compression: str | None = "deflate",
    lossless: bool = False,
    strip_metadata: bool = False,
    overwrite: bool = False,
    source: str | os.PathLike | None = None,
) -> Path:
    """Encode and write atomically (temp file in the same folder, then rename); returns the path.

    pixels:  ``(H, W, 3)`` uint8 / uint16 / float in [0, 1] (sRGB-encoded), or a :class:`Photo`
             whose ``alpha``/``exif``/``icc``/``path`` fill the arguments left as None.
    fmt:     ``"jpeg"``, ``"png"``, ``"png16"``, ``"tiff"``, ``"tiff16"``, ``"webp"`` (also
             ``"jpg"``, ``"tif"``); None = from the suffix. ``png``/``tiff`` keep the pixels'
             depth unless ``bit_depth`` (8 or 16) is given; JPEG/WebP are 8-bit.
    quality: JPEG/WebP quality 1-100 (JPEG >= 90 also keeps full chroma resolution).
    alpha:   ``(H, W)`` straight alpha, kept by PNG/TIFF/WebP, dropped by JPEG.
    exif:    EXIF block (``Photo.exif``); written with orientation reset to 1 and the EXIF
             thumbnail unlinked. ``strip_metadata=True`` writes none.
    icc:     profile describing the pixels; None embeds the built-in sRGB profile.
    compression: TIFF only, ``"deflate"`` or None.  ``lossless``: WebP only.
    overwrite: False (default) refuses an existing ``path`` (:class:`PhotoExistsError`).
    source:  the original's path; writing onto it is always refused (:class:`SourceOverwriteError`).

    Other failures raise :class:`PhotoWriteError`; no partial file is left behind.
    """
    path = Path(path)
    if isinstance(pixels, Photo):
        photo = pixels
        pixels = photo.pixels
        alpha = photo.alpha if alpha is None else alpha
        exif = photo.exif if exif is None else exif
        icc = photo.icc if icc is None else icc
        source = photo.path if source is None else source
    _check_rgb(pixels)
    name = resolve_format(fmt, path)
    _suffix, depths, keeps_alpha = FORMATS[name]
    if bit_depth is None:
        bit_depth = 16 if (name in ("png16", "tiff16") or (16 in depths and pixels.dtype == np.uint16)) else 8
    if bit_depth not in depths:
        raise UnsupportedPhotoError(path, f"{name} cannot hold {bit_depth}-bit pixels (only {depths})")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be 1-100, got {quality}")
    if compression not in (None, "deflate", "none"):
        raise ValueError(f"compression must be 'deflate' or None, got {compression!r}")
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError(f"alpha shape {alpha.shape} does not match pixels {pixels.shape[:2]}")
    from retouch_studio.model.atomic import OutputError, check_output, write_atomic

    inputs = [source] if source is not None else []
    try:
        check_output(path, overwrite=overwrite, inputs=inputs)
    except OutputError as exc:
        raise _photo_error(exc) from None

    data = _to_uint8(pixels) if bit_depth == 8 else _to_uint16(pixels)
    if alpha is not None and keeps_alpha:
        alpha = _to_uint8(alpha) if bit_depth == 8 else _to_uint16(alpha)
    else:
        alpha = None
    exif_out = None if strip_metadata else _exif_reset_orientation(exif, True, (data.shape[1], data.shape[0]))
    icc_out = icc or srgb_profile()
    writer = {
        "jpeg": _write_jpeg, "webp": _write_webp, "png": _write_png, "png16": _write_png,
        "tiff": _write_tiff, "tiff16": _write_tiff,
    }[name]  # fmt: skip
    opts = {"quality": int(quality), "compression": compression, "lossless": lossless}
    try:
        write_atomic(path, lambda f: writer(f, data, alpha, exif_out, icc_out, opts), overwrite=overwrite, inputs=inputs)
    except OutputError as exc:
        raise _photo_error(exc) from None
    except PhotoError:
        raise
    except MemoryError:
        raise PhotoWriteError(path, "not enough memory to encode") from None
    except Exception as exc:  # noqa: BLE001 - any encoder failure becomes one typed error
        raise PhotoWriteError(path, f"cannot write {name}{_detail(exc)}") from exc
    return path


def _detail(exc: BaseException) -> str:
    """`` (what the decoder/encoder said)`` when it says something a person can read, else ''."""
    text = " ".join(str(exc).split())[:200]
    return f" ({text})" if sum(c.isalpha() for c in text) >= 4 else ""


def _photo_error(exc) -> PhotoError:
    from retouch_studio.model.atomic import OutputExistsError, OutputIsInputError

    kind = {OutputExistsError: PhotoExistsError, OutputIsInputError: SourceOverwriteError}.get(type(exc), PhotoWriteError)
    return kind(exc.path, exc.reason)


def _pil_image(data: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    if alpha is not None:
        return Image.fromarray(np.dstack([data, alpha]), "RGBA")
    return Image.fromarray(data, "RGB")


def _pil_meta(exif: bytes | None, icc: bytes) -> dict:
    meta: dict[str, Any] = {"icc_profile": icc}
    if exif:
        meta["exif"] = exif
    return meta


def _write_jpeg(f: BinaryIO, data, alpha, exif, icc, opts) -> None:
    q = opts["quality"]
    if exif and len(exif) > 65000:  # one APP1 segment holds 64 KB: shed MakerNote and thumbnail
        try:
            src = Image.Exif()
            src.load(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
            exif = _exif_essentials(src)
        except Exception:  # noqa: BLE001
            exif = None
        exif = exif if exif and len(exif) <= 65000 else None
    _pil_image(data, None).save(f, "JPEG", quality=q, subsampling=0 if q >= 90 else 2, **_pil_meta(exif, icc))


def _write_webp(f: BinaryIO, data, alpha, exif, icc, opts) -> None:
    _pil_image(data, alpha).save(f, "WEBP", quality=opts["quality"], lossless=opts["lossless"], method=4, **_pil_meta(exif, icc))


def _write_png(f: BinaryIO, data, alpha, exif, icc, opts) -> None:
    if data.dtype == np.uint8 and data.nbytes <= PNG_BAND_BYTES:
        _pil_image(data, alpha).save(f, "PNG", compress_level=6, **_pil_meta(exif, icc))
        return
    # Pillow has no 16-bit RGB mode, and would copy a large 8-bit picture whole: write the
    # chunks ourselves (filter "Up" + zlib), one band of rows at a time.
    h, w = data.shape[:2]
    channels = 4 if alpha is not None else 3
    depth = 16 if data.dtype == np.uint16 else 8
    row_bytes = w * channels * depth // 8

    def chunk(kind: bytes, payload: bytes | memoryview) -> None:
        f.write(struct.pack(">I", len(payload)) + kind)
        f.write(payload)
        f.write(struct.pack(">I", zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF))

    f.write(b"\x89PNG\r\n\x1a\n")
    chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, 6 if alpha is not None else 2, 0, 0, 0))
    chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    band = max(1, PNG_BAND_BYTES // max(1, row_bytes))
    compressor = None if h <= band else zlib.compressobj(6)
    prev = None
    pending = bytearray()
    for y0 in range(0, h, band):
        y1 = min(h, y0 + band)
        img = np.dstack([data[y0:y1], alpha[y0:y1]]) if alpha is not None else data[y0:y1]
        rows = np.ascontiguousarray(img, ">u2" if depth == 16 else np.uint8).view(np.uint8).reshape(y1 - y0, -1)
        filtered = np.empty((y1 - y0, row_bytes + 1), np.uint8)
        filtered[:, 0] = 2
        if prev is None:
            filtered[0, 1:] = rows[0]
        else:
            np.subtract(rows[0], prev, out=filtered[0, 1:])
        np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
        prev = rows[-1].copy()
        del img, rows
        if compressor is None:  # one band: libdeflate in one call is faster than zlib
            pending += _zlib_stream(filtered)
        else:
            pending += compressor.compress(filtered)
        del filtered
        pending = _flush_idat(chunk, pending, final=False)
    if compressor is not None:
        pending += compressor.flush()
    _flush_idat(chunk, pending, final=True)
    chunk(b"IEND", b"")


def _flush_idat(chunk, pending: bytearray, final: bool) -> bytearray:
    """Write full IDAT chunks out of ``pending`` (all of it when ``final``); returns the rest."""
    view = memoryview(pending)
    end = len(pending) if final else len(pending) // _IDAT_BYTES * _IDAT_BYTES
    for i in range(0, end, _IDAT_BYTES):
        chunk(b"IDAT", view[i : min(i + _IDAT_BYTES, end)])
    rest = bytearray(view[end:])
    view.release()
    return rest


#: Rows of a PNG are filtered and compressed in bands of about this many bytes, so encoding a
#: huge picture needs a few bands of memory beside the picture, not copies of it.
PNG_BAND_BYTES = 64 * 2**20
_IDAT_BYTES = 1 << 20


def _zlib_stream(data: np.ndarray, level: int = 6) -> bytes:
    """zlib-wrapped deflate; libdeflate (through imagecodecs) is ~2.5x faster than zlib."""
    try:
        import imagecodecs

        return bytes(imagecodecs.deflate_encode(data.reshape(-1), level=level))  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover
        return zlib.compress(data.tobytes(), level)


_TIFF_IFD0_ASCII = (270, 271, 272, 306, 315, 33432)  # description, make, model, datetime, artist, copyright
_EXIF_DROP = {0x927C, 0xA005}  # MakerNote (offsets into the old file), Interop pointer


def _write_tiff(f: BinaryIO, data, alpha, exif, icc, opts) -> None:
    import tifffile

    img = np.dstack([data, alpha]) if alpha is not None else data
    extratags: list[tuple] = []
    sub_ifds: dict[int, dict] = {}
    if exif:
        ex = Image.Exif()
        ex.load(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
        for tag in _TIFF_IFD0_ASCII:
            value = ex.get(tag)
            if isinstance(value, str) and value:
                extratags.append((tag, "s", 0, value, True))
        for pointer in (0x8769, 0x8825):  # Exif IFD, GPS IFD
            try:
                sub = {k: v for k, v in ex.get_ifd(pointer).items() if k not in _EXIF_DROP}
            except Exception:  # noqa: BLE001 - damaged sub-IFD: dropped
                sub = {}
            if sub:
                sub_ifds[pointer] = sub
                # tifffile refuses to write pointer tags: write a neighbouring private tag number
                # (keeps the entries sorted) and patch its code and value afterwards
                extratags.append((pointer + 1, "I", 1, 0, True))
    tifffile.imwrite(
        f,
        img,
        photometric="rgb",
        extrasamples=("unassalpha",) if alpha is not None else None,
        compression="zlib" if opts["compression"] == "deflate" else None,
        predictor=opts["compression"] == "deflate",
        iccprofile=icc,
        software="Retouch Studio",
        metadata=None,
        extratags=extratags,
    )
    if sub_ifds:
        _append_tiff_sub_ifds(f, sub_ifds)


def _append_tiff_sub_ifds(f: BinaryIO, sub_ifds: dict[int, dict]) -> None:
    """Serialise EXIF/GPS sub-IFDs with Pillow at the end of the file and patch IFD0's pointers."""
    import tifffile
    from PIL.TiffImagePlugin import ImageFileDirectory_v2

    f.seek(0)
    with tifffile.TiffFile(f) as tif:
        order = tif.byteorder
        offsets = {tag: tif.pages.first.tags[tag + 1].valueoffset for tag in sub_ifds}
    for tag, values in sub_ifds.items():
        f.seek(0, os.SEEK_END)
        pos = f.tell()
        pos += pos % 2
        ifd = ImageFileDirectory_v2(prefix=b"II" if order == "<" else b"MM")
        for key, value in values.items():
            try:
                ifd[key] = value
            except Exception:  # noqa: BLE001 - a value Pillow cannot type is dropped
                continue
        blob = ifd.tobytes(pos)
        f.seek(pos)
        f.write(blob)
        f.seek(offsets[tag] - 8)  # the 12-byte entry: code, type, count, value
        f.write(struct.pack(order + "H", tag))
        f.seek(offsets[tag])
        f.write(struct.pack(order + "I", pos))
    f.seek(0, os.SEEK_END)
