"""Histogram of the edited preview, and which pixels an edit clips (the J overlay, as in Lightroom)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath
from PySide6.QtWidgets import QWidget

#: Share of the photo newly clipped by the edits above which the app warns.
CLIP_WARNING = 0.02


def clipped(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(H, W, 3)`` uint8 -> (blown highlights, crushed shadows) boolean maps: any channel at the end."""
    return (pixels == 255).any(-1), (pixels == 0).any(-1)


def newly_clipped(after: np.ndarray, before: np.ndarray) -> tuple[float, float]:
    """Shares of the photo clipped (highlights, shadows) in ``after`` but not in ``before``."""
    hi_a, lo_a = clipped(after)
    hi_b, lo_b = clipped(before)
    n = max(hi_a.size, 1)
    return float((hi_a & ~hi_b).sum() / n), float((lo_a & ~lo_b).sum() / n)


def clipping_warning(after: np.ndarray, before: np.ndarray) -> str:
    """A sentence when the edits clip more than :data:`CLIP_WARNING` of the photo, else ''."""
    if after.shape != before.shape:
        return ""
    hi, lo = newly_clipped(after, before)
    if hi + lo <= CLIP_WARNING:
        return ""
    parts = []
    if hi > CLIP_WARNING / 2:
        parts.append(f"{hi * 100:.0f} % blown highlights")
    if lo > CLIP_WARNING / 2:
        parts.append(f"{lo * 100:.0f} % crushed shadows")
    return ("The edits clip " + " and ".join(parts or [f"{(hi + lo) * 100:.0f} % of the photo"])
            + ": lower a layer's strength (J shows where).")


def clipping_overlay(pixels: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` uint8 RGBA: red over blown highlights, blue over crushed shadows."""
    hi, lo = clipped(pixels)
    out = np.zeros(pixels.shape[:2] + (4,), np.uint8)
    out[hi] = (255, 40, 40, 200)
    out[lo & ~hi] = (40, 110, 255, 200)
    return out


def histogram(pixels: np.ndarray, bins: int = 64) -> np.ndarray:
    """``(4, bins)`` float counts of R, G, B and luma, each normalised to its largest bin."""
    step = max(1, int(np.sqrt(pixels.shape[0] * pixels.shape[1] / 250_000)))
    x = pixels[::step, ::step].reshape(-1, 3)
    luma = (x @ np.array([0.2126, 0.7152, 0.0722])).astype(np.int64)
    out = np.empty((4, bins), np.float64)
    for c, v in enumerate((x[:, 0], x[:, 1], x[:, 2], luma)):
        out[c] = np.bincount(np.asarray(v, np.int64) * bins // 256, minlength=bins)[:bins]
    return out / np.maximum(out.max(axis=1, keepdims=True), 1)


class HistogramView(QWidget):
    """RGB + luma histogram; the end triangles light up when highlights or shadows clip."""

    COLOURS = (QColor(230, 70, 70, 120), QColor(70, 200, 90, 120), QColor(80, 130, 240, 120), QColor(220, 220, 220, 90))

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(70)
        self.setMaximumHeight(90)
        self.counts: np.ndarray | None = None
        self.clip_high = self.clip_low = 0.0
        self.setToolTip("Histogram of the edited photo; the corners light up where it clips (J shows where)")

    def set_pixels(self, pixels: np.ndarray | None) -> None:
        if pixels is None:
            self.counts = None
        else:
            self.counts = histogram(pixels)
            hi, lo = clipped(pixels[::4, ::4])
            self.clip_high, self.clip_low = float(hi.mean()), float(lo.mean())
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 30, 32))
        if self.counts is None:
            return
        w, h = self.width(), self.height() - 2
        bins = self.counts.shape[1]
        p.setPen(Qt.PenStyle.NoPen)
        for c in range(4):
            path = QPainterPath()
            path.moveTo(0, h)
            for i, v in enumerate(self.counts[c]):
                path.lineTo((i + 0.5) * w / bins, h - v * (h - 4))
            path.lineTo(w, h)
            path.closeSubpath()
            p.setBrush(self.COLOURS[c])
            p.drawPath(path)
        for on, x, colour in ((self.clip_low > 0.001, 2, QColor(60, 120, 255)), (self.clip_high > 0.001, w - 12, QColor(255, 60, 60))):
            p.setBrush(colour if on else QColor(80, 80, 80))
            p.drawRect(QRectF(x, 2, 10, 10))
