"""What is refused before decoding: missing or empty files, and pictures too large to hold."""

from __future__ import annotations

from pathlib import Path

from retouch_studio.model.imaging.errors import (
    CorruptPhotoError,
    EmptyFileError,
    NotAnImageError,
    PhotoError,
    PhotoNotFoundError,
    TooLargeError,
)


#: Pictures above this many pixels are refused unless ``allow_large=True`` (decompression bombs).
MAX_PIXELS = 250_000_000


def check_file(path: Path) -> None:
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


def check_pixels(path: Path, w: int, h: int, allow_large: bool, max_pixels: int) -> None:
    if w <= 0 or h <= 0:
        raise CorruptPhotoError(path, f"invalid picture size {w}x{h}")
    if not allow_large and w * h > max_pixels:
        raise TooLargeError(
            path, f"{w}x{h} = {w * h / 1e6:.0f} MP exceeds the {max_pixels / 1e6:.0f} MP limit (allow_large=True to open)"
        )
