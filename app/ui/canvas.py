"""The photo canvas: fit / 100 %, wheel zoom, pan, brush strokes, before/after compare.

Coordinates: the canvas works in *image* coordinates (full-resolution pixels of the photo). The
preview it shows may be smaller than the photo; it is drawn scaled onto the image rectangle.
Widget position = image position * zoom + offset.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget


def qimage_rgb(pixels: np.ndarray) -> QImage:
    """Wrap an ``(H, W, 3)`` uint8 array as a QImage (shares memory; keep the array alive)."""
    pixels = np.ascontiguousarray(pixels)
    h, w, _ = pixels.shape
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888)


def qimage_overlay(mask: np.ndarray, color=(255, 40, 40), alpha: float = 0.45) -> tuple[QImage, np.ndarray]:
    """Red translucent overlay of an ``(H, W)`` uint8 mask; returns the image and its buffer."""
    h, w = mask.shape
    buf = np.empty((h, w, 4), np.uint8)
    buf[..., 0], buf[..., 1], buf[..., 2] = color
    buf[..., 3] = (mask.astype(np.uint16) * int(alpha * 255) // 255).astype(np.uint8)
    return QImage(buf.data, w, h, 4 * w, QImage.Format.Format_RGBA8888), buf


class Canvas(QWidget):
    """Shows the edited preview; optional before/after split and brush strokes."""

    stroke_started = Signal(QPointF)
    stroke_moved = Signal(QPointF)
    stroke_finished = Signal()
    zoom_changed = Signal(float)
    view_changed = Signal()  # zoom, pan or size changed (the detail view follows)
    brush_size_changed = Signal(float)

    SPLIT_GRAB_PX = 8

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 240)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._after: QImage | None = None
        self._before: QImage | None = None
        self._overlay: QImage | None = None
        self._buffers: list[np.ndarray] = []  # keep QImage memory alive
        self._overlay_buf: np.ndarray | None = None
        self._clipping: QImage | None = None
        self._clipping_buf: np.ndarray | None = None
        self._detail: tuple[QImage, QImage, tuple[int, int, int, int]] | None = None
        self._detail_bufs: list[np.ndarray] = []
        self.image_size: tuple[int, int] = (0, 0)  # (w, h) in image pixels
        self.zoom = 1.0
        self.offset = QPointF(0, 0)
        self.fit_mode = True
        self.brush_mode = False
        self.brush_size = 80.0  # diameter, image pixels
        self.show_original = False
        self.split = False
        self.split_pos = 0.5  # fraction of widget width
        self.message = "Open a photo (Ctrl+O) or drop files here"
        self._space = False
        self._drag: str | None = None  # "pan" | "stroke" | "split"
        self._last = QPointF()
        self._cursor = QPointF(-1, -1)

    # ------------------------------------------------------------------ content

    def set_images(self, after: np.ndarray | None, before: np.ndarray | None, image_size: tuple[int, int]) -> None:
        """Show ``after`` (edited preview) with ``before`` for compare; sizes in image pixels."""
        new_size = tuple(image_size) != tuple(self.image_size)
        self._buffers = [a for a in (after, before) if a is not None]
        self._after = qimage_rgb(after) if after is not None else None
        self._before = qimage_rgb(before) if before is not None else None
        self.image_size = tuple(image_size)
        if new_size:
            self.fit_mode = True
        if self.fit_mode:
            self._fit()
        self.update()

    def set_after(self, after: np.ndarray) -> None:
        """Swap only the edited preview (the slider path: no re-layout)."""
        self._buffers = [after] + self._buffers[1:]
        self._after = qimage_rgb(after)
        self.update()

    def set_detail(self, after: np.ndarray, before: np.ndarray, box: tuple[int, int, int, int]) -> None:
        """Full-resolution pixels for the image region ``box = (x0, y0, x1, y1)`` (zoomed-in views)."""
        self._detail_bufs = [after, before]
        self._detail = (qimage_rgb(after), qimage_rgb(before), tuple(box))
        self.update()

    def clear_detail(self) -> None:
        if self._detail is not None:
            self._detail, self._detail_bufs = None, []
            self.update()

    def has_detail(self) -> bool:
        return self._detail is not None

    def visible_box(self) -> tuple[int, int, int, int] | None:
        """The part of the image shown, in image pixels ``(x0, y0, x1, y1)``, or None."""
        w, h = self.image_size
        if not w or not h:
            return None
        tl = self.to_image(QPointF(0, 0))
        br = self.to_image(QPointF(self.width(), self.height()))
        x0, y0 = max(0, int(tl.x())), max(0, int(tl.y()))
        x1, y1 = min(w, int(br.x()) + 2), min(h, int(br.y()) + 2)
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1, y1

    def set_overlay(self, mask: np.ndarray | None) -> None:
        if mask is None:
            self._overlay, self._overlay_buf = None, None
        else:
            self._overlay, self._overlay_buf = qimage_overlay(mask)
        self.update()

    def set_clipping(self, rgba: np.ndarray | None) -> None:
        """Clipping overlay (``(H, W, 4)`` uint8, the size of the edited preview) or None."""
        if rgba is None:
            self._clipping, self._clipping_buf = None, None
        else:
            self._clipping_buf = np.ascontiguousarray(rgba)
            h, w = rgba.shape[:2]
            self._clipping = QImage(self._clipping_buf.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        self.update()

    def clipping_shown(self) -> bool:
        return self._clipping is not None

    def after_pixels(self) -> np.ndarray | None:
        """The edited preview on screen (``(H, W, 3)`` uint8)."""
        return self._buffers[0] if self._buffers else None

    def clear(self, message: str = "") -> None:
        self._after = self._before = self._overlay = None
        self._buffers = []
        self._detail, self._detail_bufs = None, []
        self.image_size = (0, 0)
        if message:
            self.message = message
        self.update()

    def has_image(self) -> bool:
        return self._after is not None

    # ------------------------------------------------------------------ view

    def _fit(self) -> None:
        w, h = self.image_size
        if not w or not h:
            return
        margin = 8
        zoom = min((self.width() - 2 * margin) / w, (self.height() - 2 * margin) / h)
        self.zoom = max(zoom, 1e-3)
        self.offset = QPointF((self.width() - w * self.zoom) / 2, (self.height() - h * self.zoom) / 2)
        self.zoom_changed.emit(self.zoom)
        self.view_changed.emit()

    def fit(self) -> None:
        self.fit_mode = True
        self._fit()
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` (1.0 = 100 %) keeping the image point under ``anchor`` still."""
        zoom = float(min(max(zoom, 0.01), 32.0))
        if anchor is None:
            anchor = QPointF(self.width() / 2, self.height() / 2)
        img = self.to_image(anchor)
        self.zoom = zoom
        self.offset = QPointF(anchor.x() - img.x() * zoom, anchor.y() - img.y() * zoom)
        self.fit_mode = False
        self.zoom_changed.emit(self.zoom)
        self.view_changed.emit()
        self.update()

    def actual_size(self) -> None:
        self.set_zoom(1.0 / max(self.devicePixelRatioF(), 1.0))

    def to_image(self, p: QPointF) -> QPointF:
        return QPointF((p.x() - self.offset.x()) / self.zoom, (p.y() - self.offset.y()) / self.zoom)

    def to_widget(self, p: QPointF) -> QPointF:
        return QPointF(p.x() * self.zoom + self.offset.x(), p.y() * self.zoom + self.offset.y())

    def viewport_pixels(self) -> tuple[int, int]:
        dpr = self.devicePixelRatioF()
        return int(self.width() * dpr), int(self.height() * dpr)

    # ------------------------------------------------------------------ compare

    def set_split(self, on: bool) -> None:
        self.split = on
        self.update()

    def set_show_original(self, on: bool) -> None:
        self.show_original = on
        self.update()

    # ------------------------------------------------------------------ painting

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.fit_mode:
            self._fit()
        self.view_changed.emit()
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(38, 38, 40))
        if self._after is None:
            p.setPen(QColor(170, 170, 170))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 2.0)
        w, h = self.image_size
        target = QRectF(self.offset.x(), self.offset.y(), w * self.zoom, h * self.zoom)
        original = self.show_original and self._before is not None
        self._draw_image(p, target, before=original)
        if self.split and not self.show_original and self._before is not None:
            x = self.split_pos * self.width()
            p.save()
            p.setClipRect(QRectF(0, 0, x, self.height()))
            self._draw_image(p, target, before=True)
            p.restore()
            p.setPen(QPen(QColor(255, 255, 255, 220), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
            p.setBrush(QColor(255, 255, 255, 220))
            p.drawEllipse(QPointF(x, self.height() / 2), 7, 7)
            self._label(p, QPointF(10, 10), "Before")
            self._label(p, QPointF(x + 10, 10), "After")
        if self._overlay is not None and not self.show_original:
            p.drawImage(target, self._overlay)
        if self._clipping is not None and not self.show_original:
            p.drawImage(target, self._clipping)
        if self.show_original:
            self._label(p, QPointF(10, 10), "Original (\\)")
        if self.brush_mode and self._cursor.x() >= 0 and self._drag != "pan":
            r = self.brush_size * self.zoom / 2
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(0, 0, 0, 160), 3))
            p.drawEllipse(self._cursor, r, r)
            p.setPen(QPen(QColor(255, 255, 255, 230), 1))
            p.drawEllipse(self._cursor, r, r)

    def _draw_image(self, p: QPainter, target: QRectF, before: bool) -> None:
        p.drawImage(target, self._before if before else self._after)
        if self._detail is not None:
            after, orig, (x0, y0, x1, y1) = self._detail
            rect = QRectF(self.to_widget(QPointF(x0, y0)), self.to_widget(QPointF(x1, y1)))
            p.drawImage(rect, orig if before else after)

    @staticmethod
    def _label(p: QPainter, at: QPointF, text: str) -> None:
        metrics = p.fontMetrics()
        rect = QRectF(at.x(), at.y(), metrics.horizontalAdvance(text) + 12, metrics.height() + 6)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QColor(240, 240, 240))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    # ------------------------------------------------------------------ input

    def _near_split(self, pos: QPointF) -> bool:
        return self.split and abs(pos.x() - self.split_pos * self.width()) <= self.SPLIT_GRAB_PX

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        pos = event.position()
        self._last = pos
        if self._after is None:
            return
        button = event.button()
        if button == Qt.MouseButton.LeftButton and self._near_split(pos):
            self._drag = "split"
        elif button == Qt.MouseButton.MiddleButton or self._space or (
            button == Qt.MouseButton.LeftButton and not self.brush_mode
        ):
            self._drag = "pan"
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif button == Qt.MouseButton.LeftButton and self.brush_mode:
            self._drag = "stroke"
            self.stroke_started.emit(self.to_image(pos))
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        pos = event.position()
        self._cursor = pos
        if self._drag == "pan":
            delta = pos - self._last
            self.offset += delta
            self.fit_mode = False
            self.view_changed.emit()
        elif self._drag == "split":
            self.split_pos = min(max(pos.x() / max(self.width(), 1), 0.0), 1.0)
        elif self._drag == "stroke":
            self.stroke_moved.emit(self.to_image(pos))
        elif self._near_split(pos):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif not self._space:
            self.setCursor(Qt.CursorShape.CrossCursor if self.brush_mode else Qt.CursorShape.OpenHandCursor)
        self._last = pos
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._drag == "stroke":
            self.stroke_finished.emit()
        self._drag = None
        self.setCursor(Qt.CursorShape.CrossCursor if self.brush_mode else Qt.CursorShape.OpenHandCursor)
        self.update()

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._cursor = QPointF(-1, -1)
        self.update()

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._after is None:
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.25 ** steps), event.position())
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_BracketLeft:
            self.brush_size_changed.emit(max(1.0, self.brush_size / 1.2))
            return
        if event.key() == Qt.Key.Key_BracketRight:
            self.brush_size_changed.emit(min(2000.0, self.brush_size * 1.2))
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setCursor(Qt.CursorShape.CrossCursor if self.brush_mode else Qt.CursorShape.OpenHandCursor)
            return
        super().keyReleaseEvent(event)
