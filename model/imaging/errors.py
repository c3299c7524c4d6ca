"""Every way reading or writing a photo can fail, as one typed error naming the file."""

from __future__ import annotations

import os


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


def readable_detail(exc: BaseException) -> str:
    """`` (what the decoder/encoder said)`` when it says something a person can read, else ''."""
    text = " ".join(str(exc).split())[:200]
    return f" ({text})" if sum(c.isalpha() for c in text) >= 4 else ""
