"""Start-up: what the command line loads, and kernels compiled once per machine.

Times are measured in ``benchmarks/startup.py``; these tests check the behaviour behind them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from retouch_studio.model import numba_cache

DATA = Path(__file__).parent / "data"


def _run(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)


def test_kernels_are_loaded_from_the_cache_in_a_new_process(tmp_path):
    """A second process finds every kernel it runs in the cache: nothing is compiled again."""
    code = (
        "import numpy as np\n"
        "from retouch_studio.model.grid import cpu_slice\n"
        "from retouch_studio.model.grid.guidance import GuidanceParams\n"
        "x = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)\n"
        "grid = np.zeros((12, 8, 4, 4), np.float32); grid[[0, 5, 10]] = 1.0\n"
        "cpu_slice.slice_apply(x, grid, GuidanceParams.luminance(), 0.5)\n"
        "kernels = [k for k in vars(cpu_slice).values() if hasattr(k, 'stats') and k.signatures]\n"
        "print(sum(len(k.stats.cache_misses) for k in kernels), sum(len(k.stats.cache_hits) for k in kernels))\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    _run(code, env)  # compiles and writes the cache
    misses, hits = map(int, _run(code, env).stdout.split())
    assert misses == 0 and hits > 0
    assert any(tmp_path.rglob("*.nbi"))


def test_read_only_install_caches_in_the_user_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(numba_cache.numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(numba_cache.os, "access", lambda path, mode: False)
    folder = numba_cache.cache_dir()
    from platformdirs import user_cache_dir

    assert folder == Path(user_cache_dir("retouch-studio")) / "numba"


def test_writable_checkout_keeps_numbas_default(monkeypatch):
    monkeypatch.setattr(numba_cache.numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(numba_cache.os, "access", lambda path, mode: True)
    assert numba_cache.cache_dir() is None
