"""Load what the first photo and the first instruction need, off the GUI thread, at start-up.

Importing torch and numba and loading the compiled kernels from numba's cache take seconds the
first time; done on the GUI thread they froze the window when the first photo opened or the first
edit arrived. A daemon thread does it while the window comes up, so the GUI thread finds the
modules imported and the kernels loaded.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

log = logging.getLogger(__name__)


def _work() -> None:
    try:
        from retouch_studio.app.ui.preview import apply_full  # noqa: F401 - imports torch via the pipeline
        from retouch_studio.model.brush import rasterize
        from retouch_studio.model.grid.cpu_slice import blend_u8, slice_apply
        from retouch_studio.model.grid.ops import GuidanceParams
        from retouch_studio.model.imaging import make_proxy
        from retouch_studio.model.recipe import Stroke

        tiny = np.zeros((8, 8, 3), np.uint8)
        grid = np.zeros((12, 8, 2, 2), np.float32)
        grid[[0, 5, 10]] = 1.0
        slice_apply(tiny, grid, GuidanceParams.luminance())
        blend_u8(tiny, tiny, 0.5)
        blend_u8(tiny, tiny, 0.5, np.zeros((8, 8), np.uint8))
        make_proxy(tiny, 4)
        rasterize([Stroke([(1.0, 1.0)], 2.0)], (8, 8), (8, 8), tiny)
    except Exception:  # noqa: BLE001 - only a head start; the real call reports real errors
        log.info("warm-up failed", exc_info=True)


def warm_up() -> threading.Thread:
    thread = threading.Thread(target=_work, name="retouch-warm-up", daemon=True)
    thread.start()
    return thread
