"""Encoding: JPEG, PNG, TIFF and WebP written atomically, with EXIF and the sRGB profile."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from retouch_studio.model.imaging.errors import (
    PhotoError,
    PhotoExistsError,
    PhotoWriteError,
    SourceOverwriteError,
    UnsupportedPhotoError,
    readable_detail,
)
from retouch_studio.model.imaging.formats import FORMATS, resolve_format
from retouch_studio.model.imaging.photo import Photo
from retouch_studio.model.imaging.icc import srgb_profile
from retouch_studio.model.imaging.exif import exif_essentials, reset_exif_orientation
from retouch_studio.model.imaging.resize import check_rgb, to_uint16, to_uint8


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
    check_rgb(pixels)
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

    data = to_uint8(pixels) if bit_depth == 8 else to_uint16(pixels)
    if alpha is not None and keeps_alpha:
        alpha = to_uint8(alpha) if bit_depth == 8 else to_uint16(alpha)
    else:
        alpha = None
    exif_out = None if strip_metadata else reset_exif_orientation(exif, True, (data.shape[1], data.shape[0]))
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
        raise PhotoWriteError(path, f"cannot write {name}{readable_detail(exc)}") from exc
    return path


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
            exif = exif_essentials(src)
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
