"""Which files are photos, and the export formats: extensions, bit depths, format names."""

from __future__ import annotations

import os
from pathlib import Path

from retouch_studio.model.imaging.errors import UnsupportedPhotoError


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
