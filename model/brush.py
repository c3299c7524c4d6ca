"""The mask brush: strokes rasterised at any resolution, optionally stopping at the photo's edges.

A stroke is a polyline with a radius, feather and flow (``model.recipe.Stroke``, coordinates in
the photo's own pixels). Plain strokes are the smooth distance falloff of the footprint.

Edge-aware strokes work like a range mask sampled along the stroke: the stroke is cut into
pieces about one radius long; for each piece the colours under its centre line (within
``SEED_FRACTION`` of the radius) are clustered into a small palette, and every pixel of the piece's
footprint keeps the brush weight in proportion to how close its colour is to that palette
(:func:`colour_affinity`). A pixel across a clear edge (a roof under a sky stroke, a petal beside
a dark background) has a colour far from every sampled one and drops out, however large the
brush. The affinity depends only on the pixel's own colour and the piece's seeds, both defined
in photo coordinates, so the preview (screen size) and the export (native size) agree, and a
piece of a stroke in progress can be drawn alone (``rasterize_piece``).

No Qt, no scipy: distances to the centre line are computed per segment with numpy.
"""

from __future__ import annotations

import numpy as np

#: Seeds are the pixels this close to the centre line, as a fraction of the radius.
SEED_FRACTION = 0.3
#: Colour distance (opponent space, sRGB-encoded 0..1) below which a pixel gets the full weight,
#: added to the spread of its palette cluster; the weight falls to zero over ``FALLOFF`` more.
TOLERANCE = 0.04
FALLOFF = 0.08
PALETTE_SIZE = 6
#: Palette clusters holding less than this share of the seeds are dropped (stray pixels where
#: the centre line grazes an edge would otherwise admit the far side).
MIN_CLUSTER_SHARE = 0.15


def opponent(pixels: np.ndarray) -> np.ndarray:
    """``(..., 3)`` sRGB (uint8 / uint16 / float 0..1) -> float32 (luma, red-green, yellow-blue).

    Distances in this space track visible colour differences well enough for a brush, and it
    needs no cube roots (every pixel of a stroke's footprint is converted).
    """
    if pixels.dtype == np.uint8:
        x = pixels.astype(np.float32) * np.float32(1 / 255)
    elif pixels.dtype == np.uint16:
        x = pixels.astype(np.float32) * np.float32(1 / 65535)
    else:
        x = np.asarray(pixels, np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    out = np.empty(x.shape, np.float32)
    out[..., 0] = 0.299 * r + 0.587 * g + 0.114 * b
    out[..., 1] = 0.7 * (r - g)
    out[..., 2] = 0.7 * (0.5 * (r + g) - b)
    return out


def polyline_distance(xs: np.ndarray, ys: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Distance from each ``(ys[:, None], xs[None, :])`` pixel centre to the polyline ``pts`` (N, 2)."""
    px = xs[None, :].astype(np.float32)
    py = ys[:, None].astype(np.float32)
    best = None
    if len(pts) == 1:
        pts = np.concatenate([pts, pts])
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        if ll > 1e-12:
            t = np.clip(((px - ax) * dx + (py - ay) * dy) / ll, 0.0, 1.0)
        else:
            t = np.float32(0.0)
        d2 = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2
        best = d2 if best is None else np.minimum(best, d2)
    return np.sqrt(best)


def pieces(points, radius: float) -> list[np.ndarray]:
    """Cut a polyline into consecutive pieces about ``radius`` long (sharing end points)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) <= 2:
        return [pts]
    out, start, run = [], 0, 0.0
    for i in range(1, len(pts)):
        run += float(np.hypot(*(pts[i] - pts[i - 1])))
        if run >= radius and i < len(pts) - 1:
            out.append(pts[start : i + 1])
            start, run = i, 0.0
    out.append(pts[start:])
    return out


def palette(seeds: np.ndarray, k: int = PALETTE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Cluster seed colours ``(N, 3)`` -> (centres ``(K, 3)``, spreads ``(K,)``); a few k-means steps."""
    if len(seeds) == 0:
        return np.zeros((0, 3), np.float32), np.zeros(0, np.float32)
    if len(seeds) > 2000:
        seeds = seeds[np.linspace(0, len(seeds) - 1, 2000).astype(int)]
    k = min(k, len(seeds))
    order = np.argsort(seeds[:, 0], kind="stable")
    centres = seeds[order[((np.arange(k) + 0.5) * len(seeds) / k).astype(int)]].copy()
    for _ in range(6):
        d = ((seeds[:, None, :] - centres[None]) ** 2).sum(-1)
        label = d.argmin(1)
        for j in range(k):
            sel = seeds[label == j]
            if len(sel):
                centres[j] = sel.mean(0)
    d = ((seeds[:, None, :] - centres[None]) ** 2).sum(-1)
    label = d.argmin(1)
    counts = np.bincount(label, minlength=k)
    keep = counts >= max(1, MIN_CLUSTER_SHARE * len(seeds))
    spreads = np.array([np.sqrt(d[label == j, j].mean()) if counts[j] else 0.0 for j in range(k)], np.float32)
    return centres[keep].astype(np.float32), spreads[keep]


def colour_affinity(colours: np.ndarray, centres: np.ndarray, spreads: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` opponent colours -> ``(H, W)`` in [0, 1]: 1 near a palette colour, 0 far."""
    if len(centres) == 0:
        return np.ones(colours.shape[:2], np.float32)
    best = np.zeros(colours.shape[:2], np.float32)
    for c, s in zip(centres, spreads):
        d = np.sqrt(((colours - c) ** 2).sum(-1))
        t = np.clip((TOLERANCE + 1.5 * float(s) + FALLOFF - d) / FALLOFF, 0.0, 1.0)
        np.maximum(best, t * t * (3.0 - 2.0 * t), out=best)
    return best


def rasterize_piece(
    pts: np.ndarray,
    radius: float,
    feather: float,
    shape: tuple[int, int],
    colours: np.ndarray | None = None,
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """One piece of a stroke in output pixels: ``((x0, y0, x1, y1), alpha)`` or None if off-image.

    ``pts`` and ``radius`` are in output pixels; ``colours`` (opponent space, full output size)
    makes the piece edge-aware. ``alpha`` is the weight before flow, in [0, 1].
    """
    oh, ow = shape
    radius = max(float(radius), 0.5)
    soft = max(0.0, min(1.0, feather)) * radius
    margin = int(np.ceil(radius)) + 2
    x0 = max(int(np.floor(pts[:, 0].min())) - margin, 0)
    y0 = max(int(np.floor(pts[:, 1].min())) - margin, 0)
    x1 = min(int(np.ceil(pts[:, 0].max())) + margin, ow)
    y1 = min(int(np.ceil(pts[:, 1].max())) + margin, oh)
    if x1 <= x0 or y1 <= y0:
        return None
    dist = polyline_distance(np.arange(x0, x1), np.arange(y0, y1), pts.astype(np.float32))
    if soft > 0:
        t = np.clip((radius - dist) / soft, 0.0, 1.0)
        alpha = t * t * (3.0 - 2.0 * t)
    else:
        alpha = (dist <= radius).astype(np.float32)
    if colours is not None:
        box = colours[y0:y1, x0:x1]
        seed = dist <= max(1.0, SEED_FRACTION * radius)
        centres, spreads = palette(box[seed])
        alpha = alpha * colour_affinity(box, centres, spreads)
    return (x0, y0, x1, y1), alpha.astype(np.float32)


def rasterize(strokes, image_size: tuple[int, int], out_size: tuple[int, int] | None = None,
              pixels: np.ndarray | None = None, base: np.ndarray | None = None) -> np.ndarray:
    """Strokes -> float32 mask ``(H, W)`` in [0, 1] at ``out_size`` (w, h).

    ``strokes``: objects with ``points``, ``radius`` (image pixels), ``feather``, ``flow``,
    ``erase``. With ``pixels`` (the photo at ``out_size``) every stroke is edge-aware. Within a
    stroke, pieces combine by maximum (overlaps do not build up); strokes composite in order:
    paint adds with its flow, erase removes with it. ``base`` (``(H, W)``, e.g. a region's mask)
    is what they paint onto; default empty.
    """
    iw, ih = image_size
    ow, oh = out_size or image_size
    sx, sy = ow / iw, oh / ih
    colours = None
    if pixels is not None:
        if pixels.shape[:2] != (oh, ow):
            raise ValueError(f"pixels are {pixels.shape[1]}x{pixels.shape[0]}, mask is {ow}x{oh}")
        colours = opponent(pixels)
    mask = np.zeros((oh, ow), np.float32) if base is None else np.array(base, np.float32)
    for stroke in strokes:
        if not len(stroke.points):
            continue
        alpha = stroke_alpha(stroke, (sx, sy), (oh, ow), colours)
        if alpha is None:
            continue
        (x0, y0, x1, y1), a = alpha
        a = a * max(0.0, min(1.0, stroke.flow))
        region = mask[y0:y1, x0:x1]
        if stroke.erase:
            region *= 1.0 - a
        else:
            region += a * (1.0 - region)
    return mask


def stroke_alpha(stroke, scale: tuple[float, float], shape: tuple[int, int], colours=None):
    """One stroke's weight before flow: ``((x0, y0, x1, y1), alpha)`` over its bounding box, or None."""
    sx, sy = scale
    radius = max(stroke.radius * (sx + sy) / 2, 0.5)
    pts_img = np.asarray(stroke.points, np.float64).reshape(-1, 2)
    parts = []
    for piece in pieces(pts_img, stroke.radius):
        hit = rasterize_piece(piece * (sx, sy), radius, stroke.feather, shape, colours)
        if hit is not None:
            parts.append(hit)
    if not parts:
        return None
    x0 = min(p[0][0] for p in parts)
    y0 = min(p[0][1] for p in parts)
    x1 = max(p[0][2] for p in parts)
    y1 = max(p[0][3] for p in parts)
    out = np.zeros((y1 - y0, x1 - x0), np.float32)
    for (a, b, c, d), alpha in parts:
        view = out[b - y0 : d - y0, a - x0 : c - x0]
        np.maximum(view, alpha, out=view)
    return (x0, y0, x1, y1), out
