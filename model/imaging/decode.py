"""Decoding: JPEG, PNG, TIFF, WebP and RAW files into a :class:`Photo` in the working space."""

from __future__ import annotations

import os
import struct
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageCms

from retouch_studio.model.imaging.errors import (
    CorruptPhotoError,
    NotAnImageError,
    PhotoError,
    TooLargeError,
    UnsupportedPhotoError,
    readable_detail,
)
from retouch_studio.model.imaging.formats import is_raw
from retouch_studio.model.imaging.limits import MAX_PIXELS, check_file, check_pixels
from retouch_studio.model.imaging.photo import Photo
from retouch_studio.model.imaging.icc import (
    cms_16bit,
    is_srgb,
    open_profile,
    pil_transform,
    profile_description,
    srgb_profile,
)
from retouch_studio.model.imaging.exif import (
    exif_from_tags,
    exif_orientation,
    orient_array,
    reset_exif_orientation,
)
from retouch_studio.model.imaging.resize import fit_size, make_preview, make_proxy, to_uint16


_PIL_OPEN_LOCK = threading.Lock()


def _pil_open(path: Path) -> Image.Image:
    """Open the header; our own ``MAX_PIXELS`` check replaces Pillow's lower global limit."""
    with _PIL_OPEN_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


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
    demosaic with ``raw_options`` (a :class:`model.imaging.raw.RawOptions`) or its fields as keywords
    (``white_balance="camera"|"auto"|"daylight"``, ``highlights="clip"|"blend"|...``).

    Raises a :class:`PhotoError` subclass for every failure: missing, empty, not an image,
    truncated/corrupt, unsupported, or above ``max_pixels`` (250 MP) unless ``allow_large``.
    """
    path = Path(path)
    check_file(path)
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
        raise CorruptPhotoError(path, f"cannot decode: damaged or truncated data{readable_detail(exc)}") from exc


def load_preview(path: str | os.PathLike, max_size: int = 2048, *, allow_large: bool = False) -> Photo:
    """A fast first picture, long edge <= ``max_size``, 8-bit, upright, sRGB.

    JPEG uses DCT-domain downscaling, RAW the embedded preview or a half-size decode
    (:func:`model.imaging.raw.load_raw_preview`); other formats decode fully and downscale.
    ``info["size"]`` is the full picture's ``(W, H)`` (upright) and ``info["preview"]`` True.
    """
    path = Path(path)
    check_file(path)
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
        raise CorruptPhotoError(path, f"cannot decode: damaged or truncated data{readable_detail(exc)}") from exc
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
    arr = to_uint16(arr)
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
        check_pixels(path, w, h, allow_large, max_pixels)
        orientation = exif_orientation(im) if fmt != "PNG" else 1
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
                im.draft(im.mode, fit_size(w, h, draft))
            im.load()
            if fmt == "PNG":
                orientation = exif_orientation(im)  # eXIf may follow the image data
        exif_block = im.info.get("exif")
        if exif_block is None and fmt == "PNG" and arr16 is not None:
            # Pillow's getexif() would decode the whole picture again (8-bit) to look for eXIf
            exif_block = _png_exif(path)
            if orientation == 1 and exif_block:
                orientation = _exif_block_orientation(exif_block)
        elif exif_block is None and fmt in ("TIFF", "PNG"):
            exif_block = exif_from_tags(im)
        icc = im.info.get("icc_profile") or None
        if arr16 is not None:
            info["source_bit_depth"] = 16
            pixels, alpha = _split16(arr16, layout or "rgb")
        else:
            info["source_bit_depth"] = 16 if im.mode.startswith("I") else 8
            pixels, alpha, icc = _pil_pixels(path, im, icc if convert_icc else None, info)
            if not convert_icc:
                icc = im.info.get("icc_profile") or None
    info["icc_description"] = profile_description(icc) if icc else None
    info["icc_converted"] = False
    if arr16 is not None and icc and convert_icc and not is_srgb(icc):
        colorspace = "gray" if layout in ("gray", "graya") else "rgb"
        try:
            src = pixels[..., 0] if colorspace == "gray" else pixels
            src = np.ascontiguousarray(src)
            in_place = colorspace == "rgb" and src is pixels and pixels.flags.writeable
            pixels = cms_16bit(src, icc, colorspace, out=pixels if in_place else None)
        except Exception as exc:  # noqa: BLE001
            raise UnsupportedPhotoError(path, f"cannot convert ICC profile {info['icc_description']!r} ({exc})") from exc
        info["icc_converted"] = True
        icc = srgb_profile()
    elif info.get("icc_converted_early"):
        info["icc_converted"] = True
        info.pop("icc_converted_early")
    info["orientation"] = orientation
    if orientation != 1:
        pixels = orient_array(pixels, orientation)
        alpha = orient_array(alpha, orientation) if alpha is not None else None
    info["size"] = (h, w) if orientation >= 5 else (w, h)
    exif = reset_exif_orientation(exif_block) if exif_block else None
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
    check_pixels(path, w, h, allow_large, max_pixels)
    arr, layout = _decode_tiff_16(path)
    pixels, alpha = _split16(arr, layout)
    info: dict[str, Any] = {"format": "TIFF", "source_mode": layout, "source_bit_depth": 16, "warnings": []}
    info["icc_description"] = profile_description(icc) if icc else None
    info["icc_converted"] = False
    if icc and convert_icc and not is_srgb(icc):
        try:
            pixels = cms_16bit(np.ascontiguousarray(pixels), icc, "rgb")
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
            arr16 = to_uint16(arr)
        else:
            arr16 = np.clip(arr, 0, 65535).astype(np.uint16)
        info["source_bit_depth"] = 16
        if icc and not is_srgb(icc) and _profile_space(icc) == "GRA":
            converted = cms_16bit(arr16, icc, "gray")
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
    if icc and not is_srgb(icc):
        if im.mode == "CMYK" or _profile_space(icc) == im.mode.ljust(3)[:3] or (im.mode == "L" and _profile_space(icc) == "GRA"):
            try:
                transformed = ImageCms.applyTransform(im, pil_transform(icc, im.mode))
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
        return open_profile(icc).profile.xcolor_space.strip()[:3]
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
