"""EXIF: orientation applied to the pixels and reset in the block; the essentials kept on export."""

from __future__ import annotations

import struct

import numpy as np
from PIL import Image


def reset_exif_orientation(
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


def exif_from_tags(im: Image.Image) -> bytes | None:
    """EXIF block from a TIFF's own tags (or PNG eXIf) without the image-structure tags."""
    try:
        return exif_essentials(im.getexif())
    except Exception:  # noqa: BLE001 - unreadable metadata is dropped, not fatal
        return None


def exif_essentials(src: Image.Exif) -> bytes | None:
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


def exif_orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - damaged EXIF: treat as upright
        return 1
    return value if 1 <= value <= 8 else 1


def orient_array(arr: np.ndarray, orientation: int) -> np.ndarray:
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
