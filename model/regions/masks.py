"""Region masks on the proxy: which pixels are the faces, skin, people, subject, sky, background.

``region_mask(pixels, region)`` runs the shipped models on a 640 px proxy of ``pixels`` and
returns a soft mask at that proxy's size plus whether the region was found at all.
``model.recipe.layer_mask`` turns it into a full-resolution mask, refined edge-aware with the
bilateral grid guided by the photo (the brush's refinement), so preview, export and batch share it.
The models run once per photo: their outputs are cached by the proxy's content.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from retouch_studio.model.imaging import make_proxy
from retouch_studio.model.regions import REGIONS
from retouch_studio.model.regions import faces as faces_mod
from retouch_studio.model.regions import people as people_mod
from retouch_studio.model.regions import sessions
from retouch_studio.model.regions import sky as sky_mod
from retouch_studio.model.regions import subject as subject_mod

PROXY_EDGE = 640
# Below these fractions of the frame a region counts as absent (a stray blob is not "the sky").
MIN_AREA = {"faces": 0.0, "skin": 0.0005, "people": 0.002, "subject": 0.005, "sky": 0.01, "background": 0.01}
# U²-Net-p's saliency peak below this: nothing stands out, so there is no subject.
SUBJECT_MIN_PEAK = 0.5


class RegionError(ValueError):
    """An unknown region name."""


@dataclass(frozen=True)
class RegionMask:
    """A region on the proxy. mask: ``(h, w)`` float32 in ``[0, 1]``; note: for the plan."""

    region: str
    mask: np.ndarray
    found: bool
    note: str


@dataclass(frozen=True)
class _Analysis:
    proxy: np.ndarray
    faces: list
    saliency: np.ndarray  # at proxy size
    sky: np.ndarray  # at proxy size
    lab: np.ndarray


def check_region(region: str) -> str:
    name = region.strip().lower()
    if name not in REGIONS:
        raise RegionError(f"unknown region {region!r} (expected one of {', '.join(REGIONS)})")
    return name


_cache: OrderedDict[str, _Analysis] = OrderedDict()
_cache_lock = threading.Lock()


def _key(proxy: np.ndarray) -> str:
    digest = hashlib.blake2b(np.ascontiguousarray(proxy[::4, ::4]).tobytes(), digest_size=16)
    digest.update(str(proxy.shape).encode())
    return digest.hexdigest()


def analyse(pixels: np.ndarray) -> _Analysis:
    """Run every region model once on the proxy of ``pixels`` (cached by content)."""
    proxy = make_proxy(pixels, PROXY_EDGE)
    key = _key(proxy)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    h, w = proxy.shape[:2]
    found = faces_mod.detect_faces(proxy)
    u2 = subject_mod.run_u2netp(proxy)
    saliency = subject_mod.resize_plane(u2.saliency, (w, h))
    sky = subject_mod.resize_plane(sky_mod.sky_mask(proxy, u2.features), (w, h))
    result = _Analysis(proxy, found, np.clip(saliency, 0, 1), np.clip(sky, 0, 1), sky_mod.srgb_to_lab(proxy))
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > 4:
            _cache.popitem(last=False)
    return result


def region_mask(pixels: np.ndarray, region: str) -> RegionMask:
    """The soft mask of ``region`` on the 640 px proxy of ``pixels`` (float32/uint8/uint16 RGB)."""
    region = check_region(region)
    a = analyse(pixels)
    h, w = a.proxy.shape[:2]
    n_faces = len(a.faces)
    if region == "faces":
        mask = faces_mod.face_mask(a.faces, (h, w))
        note = f"{n_faces} face{'s' if n_faces != 1 else ''}" if n_faces else "no faces found"
    elif region == "skin":
        if n_faces:
            around = np.maximum(faces_mod.face_mask(a.faces, (h, w)), people_mod.people_mask(a.proxy, a.faces))
            mask = around * faces_mod.skin_likelihood(a.proxy, a.faces, a.lab)
        else:
            mask = np.zeros((h, w), np.float32)
        note = f"skin of {n_faces} face{'s' if n_faces != 1 else ''}" if n_faces else "no faces found, so no skin"
    elif region == "people":
        mask = people_mod.people_mask(a.proxy, a.faces) if n_faces else np.zeros((h, w), np.float32)
        note = f"{n_faces} {'person' if n_faces == 1 else 'people'}" if n_faces else "no people found"
    elif region in ("subject", "background"):
        peak = float(a.saliency.max())
        sal = a.saliency if peak >= SUBJECT_MIN_PEAK else np.zeros_like(a.saliency)
        if region == "subject":
            mask, note = sal, "subject"
        else:
            mask = 1.0 - sal if sal.any() else np.zeros_like(sal)
            note = "background (everything but the subject)"
        if not sal.any():
            note = "nothing stands out as a subject" + ("" if region == "subject" else ", so no background")
    else:  # sky
        mask, note = a.sky, "sky"
    mask = np.clip(mask, 0.0, 1.0).astype(np.float32)
    area = float((mask > 0.5).mean())
    found = bool(mask.any()) and (area >= MIN_AREA[region] if region != "faces" else n_faces > 0)
    if not found:
        if region == "sky":
            note = "no sky found"
        mask = np.zeros_like(mask)
    return RegionMask(region, mask, found, note)


def model_version() -> str:
    return sessions.model_version()
