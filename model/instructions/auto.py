"""Auto mode (empty instruction) and every item a request leaves to the photo.

The corrections come from the photo-quality estimator (:mod:`retouch_studio.model.estimator`), a
small network trained on real under- and over-exposures (SICE) and on casts, fades, flat and dull
renderings of real photos, whose targets are the photos' own well exposed renderings, so a photo
that needs nothing gets (nearly) nothing.
"""

from __future__ import annotations

import numpy as np

from retouch_studio.model.estimator import estimate_corrections
from retouch_studio.model.params import check_params

MIN_CHANGE = {"exposure": 0.02}  # smaller corrections are dropped (the default for the rest: 0.5)


def auto_params(proxy: np.ndarray, attributes: tuple[str, ...] | None = None) -> dict:
    """Corrections for a proxy ``(h, w, 3)`` float in ``[0, 1]`` -> parameter dict (may be empty).

    ``attributes`` restricts them to the named parameters ("fix the exposure": ``("exposure",)``).
    """
    est = estimate_corrections(proxy)
    out = {}
    for name, value in est.params.items():
        if attributes is not None and name not in attributes:
            continue
        if abs(value) >= MIN_CHANGE.get(name, 0.5):
            out[name] = value
    return check_params(out)


__all__ = ["auto_params"]
