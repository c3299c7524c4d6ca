"""Atomic text files: write a temp file in the destination folder, then rename over the target.

Readers never see a half-written sidecar, preset, settings file or LUT, and a failed write leaves
nothing behind. (Photos have their own writer in ``model.photo``: encoders need a binary handle.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; ``OSError`` propagates, the temp file never stays."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
