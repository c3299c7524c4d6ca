"""numba, set up so its ``cache=True`` kernels are compiled once per machine, never per run.

numba writes compiled kernels next to their source (``__pycache__``) when that folder is
writable. An installed copy usually is not (site-packages owned by root, a system package), and
then the kernels go to Retouch Studio's folder in the user's cache directory (platformdirs),
so a read-only install does not recompile its kernels on every start. ``NUMBA_CACHE_DIR`` set by
the user wins. Import numba through this module: ``from retouch_studio.model.numba_cache import numba``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parent


def cache_dir(package: Path = _PACKAGE) -> Path | None:
    """Where kernels are cached: None = numba's default next to the source (writable package)."""
    if numba.config.CACHE_DIR:
        return Path(numba.config.CACHE_DIR)
    if os.access(package, os.W_OK):
        return None
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("retouch-studio")) / "numba"


def _configure() -> None:
    folder = cache_dir()
    if folder is not None and not numba.config.CACHE_DIR:
        # Read by numba when a cache=True kernel is defined, so it must be set before ours are.
        numba.config.CACHE_DIR = str(folder)


_configure()

__all__ = ["cache_dir", "numba"]
