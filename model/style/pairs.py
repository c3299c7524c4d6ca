"""Before/after pairs from two folders: matched by file stem, aligned, checked.

The after files are what another editor exported: they may be downscaled, re-encoded, of another
format, rotated by their EXIF orientation or by their pixels, or in another colour profile.
Decoding (``model.imaging``) brings both sides upright into sRGB; :func:`align` then tries the four
rotations whose aspect ratio matches and keeps the one whose edges line up with the before's.
Pairs that cannot teach a global style are refused with the reason: another aspect ratio
(cropped), edges that do not line up (another photo, or cropped and resized), or one region
that a single global colour edit cannot explain (:func:`local_edit`: brushed, healed, masked).
RAW befores are developed as ``retouch apply`` develops them (LibRaw, half size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from retouch_studio.model.grid.guidance import LUMA_709
from retouch_studio.model.imaging import PhotoError, is_raw, is_supported, load_photo, load_preview, make_proxy

WORK_EDGE = 512  # long edge the pairs are learned at (the proxy size every edit is predicted from)
ASPECT_TOL = 0.02  # relative aspect-ratio difference still taken as the same framing
STRUCTURE_EDGE = 64  # long edge (px) the edge maps are compared at: structure, not resampling detail
MIN_STRUCTURE = 0.8  # correlation of edge maps below which the after is not the same picture
# (measured on real photos and exports: aligned pairs 0.94-0.99, a 10 % crop scaled back 0.03-0.63)
LOCAL_EDGE = 64  # long edge (px) the global-fit residual is measured at
LOCAL_DE = 12.0  # a region whose global-fit residual (mean ΔE76) exceeds this ...
LOCAL_RATIO = 3.0  # ... and this many times the typical region's was edited on its own
# (measured on real photos and exports: clean pairs at most 8.2 and 2.6x, a brightened patch of
# a ninth of the frame at least 23 and 5.5x)


class PairError(ValueError):
    """The folders do not give enough usable pairs; the message says which files and why."""


@dataclass
class PairReport:
    """pairs: ``(name, before, after)`` proxies ``(h, w, 3)`` float32, aligned pixel for pixel;
    skipped: ``(file, reason)`` for every file that did not make a usable pair."""

    pairs: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _photos(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith(".") and is_supported(p):
            out.setdefault(p.stem.casefold(), p)
    return out


def _load(path: Path, edge: int) -> np.ndarray:
    if is_raw(path):
        photo = load_photo(path, half_size=True)
    else:
        photo = load_preview(path, max_size=max(edge * 2, 1024))
    return make_proxy(photo.pixels, edge)


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (img.shape[1], img.shape[0]) == size:
        return img
    chans = [np.asarray(Image.fromarray(np.ascontiguousarray(img[..., c], np.float32), mode="F").resize(size, Image.Resampling.BOX if img.shape[1] > size[0] else Image.Resampling.BILINEAR)) for c in range(3)]
    return np.clip(np.stack(chans, -1), 0, 1)


def _edges(img: np.ndarray) -> np.ndarray:
    """Rank-normalised gradient magnitude of the luma: independent of the colour edit."""
    y = img @ np.asarray(LUMA_709, np.float32)
    gy, gx = np.gradient(y)
    g = np.hypot(gx, gy).ravel()
    r = np.empty_like(g)
    r[np.argsort(g, kind="stable")] = np.linspace(0, 1, g.size)
    return r.reshape(y.shape)


def _structure(a: np.ndarray, b: np.ndarray) -> float:
    from .features import box_reduce

    ea, eb = _edges(box_reduce(a, STRUCTURE_EDGE)), _edges(box_reduce(b, STRUCTURE_EDGE))
    ea -= ea.mean()
    eb -= eb.mean()
    return float((ea * eb).sum() / math.sqrt((ea * ea).sum() * (eb * eb).sum() + 1e-12))


def _orientations(img: np.ndarray):
    yield 0, img
    yield 90, np.rot90(img, 1)
    yield 180, np.rot90(img, 2)
    yield 270, np.rot90(img, 3)


def align(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The after picture rotated and resized onto the before's pixels, or (None-ish, reason)."""
    h, w = before.shape[:2]
    best, best_score = None, -1.0
    for _deg, cand in _orientations(after):
        ch, cw = cand.shape[:2]
        if abs((cw / ch) / (w / h) - 1) > ASPECT_TOL:
            continue
        small = _resize(cand, (w, h))
        score = _structure(before, small)
        if score > best_score:
            best, best_score = small, score
    if best is None:
        ah, aw = after.shape[:2]
        return before, f"cropped or reframed: after is {aw}x{ah}, before {w}x{h} (aspect ratio differs)"
    if best_score < MIN_STRUCTURE:
        return before, f"content does not match the before photo (edge correlation {best_score:.2f} < {MIN_STRUCTURE}): a different photo, or cropped"
    return best, None


def _poly(x: np.ndarray) -> np.ndarray:
    """All monomials of r, g, b up to degree 3 (20 columns)."""
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    cols = [np.ones_like(r)]
    for i, a in enumerate((r, g, b)):
        cols.append(a)
        for j, c in enumerate((r, g, b)[i:], i):
            cols.append(a * c)
            for e in (r, g, b)[j:]:
                cols.append(a * c * e)
    return np.stack(cols, -1)


def local_edit(before: np.ndarray, after: np.ndarray, blocks: int = 8) -> str | None:
    """Why the pair looks locally retouched, or None.

    A global edit (plus a vignette) maps equal colours to equal colours anywhere in the frame,
    so one smooth colour map fitted to the whole pair leaves a similar small residual in every
    region. A brushed, dodged, healed or masked edit leaves a region the global map cannot
    explain. The fit is refitted once with the worst pixels down-weighted, so a retouched region
    does not pull the global map towards itself."""
    from retouch_studio.model.lut import srgb_to_lab

    from .features import box_reduce

    # Compared at low resolution: the export's lost detail and sharpening are not retouching.
    before, after = box_reduce(before, LOCAL_EDGE), box_reduce(after, LOCAL_EDGE)
    h, w, _ = before.shape
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = (((xx + 0.5) / w - 0.5) ** 2 + ((yy + 0.5) / h - 0.5) ** 2).ravel() * 2
    x = before.reshape(-1, 3).astype(np.float64)
    y = after.reshape(-1, 3).astype(np.float64)
    P = _poly(x)
    F = np.concatenate([P, P[:, :4] * r2[:, None], P[:, :4] * (r2**2)[:, None]], 1)
    lab_y = srgb_to_lab(y)
    weights = np.ones(len(x))
    for _ in range(2):
        sw = np.sqrt(weights)[:, None]
        coef, *_ = np.linalg.lstsq(F * sw, y * sw, rcond=None)
        err = np.linalg.norm(srgb_to_lab(np.clip(F @ coef, 0, 1)) - lab_y, axis=1)
        weights = 1.0 / (1.0 + (err / (2 * np.median(err) + 1e-6)) ** 2)
    err = err.reshape(h, w)
    by, bx = max(1, h // blocks), max(1, w // blocks)
    region = err[: by * blocks, : bx * blocks].reshape(blocks, by, blocks, bx).mean((1, 3))
    typical = float(np.median(region))
    worst = np.unravel_index(np.argmax(region), region.shape)
    top = float(region[worst])
    if top > LOCAL_DE and top > LOCAL_RATIO * max(typical, 1.0):
        cy = (worst[0] + 0.5) / blocks
        cx = (worst[1] + 0.5) / blocks
        where = f"{'top' if cy < 0.34 else 'bottom' if cy > 0.66 else 'middle'} {'left' if cx < 0.34 else 'right' if cx > 0.66 else 'centre'}"
        return (
            f"retouched locally: the region at the {where} differs from one global colour edit by "
            f"ΔE {top:.1f} (elsewhere {typical:.1f})"
        )
    return None


def collect_pairs(before_dir, after_dir, *, edge: int = WORK_EDGE, progress=None, cancelled=None) -> PairReport:
    """Read, align and check every pair of the two folders (matched by file stem, case-insensitive).

    ``progress(done, total)`` after each pair; ``cancelled()`` returning True stops with
    InterruptedError. Raises :class:`PairError` for missing folders; unusable pairs are listed in
    ``report.skipped``, never raised (the caller decides whether enough are left)."""
    before_dir, after_dir = Path(before_dir), Path(after_dir)
    for d, what in ((before_dir, "--before"), (after_dir, "--after")):
        if not d.is_dir():
            raise PairError(f"{what} {d}: not a folder")
    bs, as_ = _photos(before_dir), _photos(after_dir)
    report = PairReport()
    for stem in sorted(set(bs) - set(as_)):
        report.skipped.append((str(bs[stem]), f"no after photo named {bs[stem].stem}.* in {after_dir}"))
    for stem in sorted(set(as_) - set(bs)):
        report.skipped.append((str(as_[stem]), f"no before photo named {as_[stem].stem}.* in {before_dir}"))
    common = sorted(set(bs) & set(as_))
    for i, stem in enumerate(common):
        if cancelled is not None and cancelled():
            raise InterruptedError("cancelled")
        b, a = bs[stem], as_[stem]
        try:
            before = _load(b, edge)
        except PhotoError as exc:
            report.skipped.append((str(b), f"unreadable ({exc})"))
            continue
        try:
            after = _load(a, max(before.shape[:2]) * 2)
        except PhotoError as exc:
            report.skipped.append((str(a), f"unreadable ({exc})"))
            continue
        aligned, why = align(before, after)
        if why is None:
            why = local_edit(before, aligned)
        if why is not None:
            report.skipped.append((f"{b.name} / {a.name}", why))
        else:
            report.pairs.append((b.stem, before, aligned.astype(np.float32)))
        if progress is not None:
            progress(i + 1, len(common))
    return report
