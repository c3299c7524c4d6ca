"""Keys held down (``\\`` shows the original while held, as in Lightroom) and the instruction box."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QTextEdit

_TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)


def typing() -> bool:
    """True while the keyboard focus is in a text field (keys there are text, not shortcuts)."""
    return isinstance(QApplication.focusWidget(), _TEXT_INPUTS)


class HoldKey(QObject):
    """Application event filter: ``on_change(True)`` when ``key`` goes down, ``False`` when it is
    released (auto-repeat ignored), unless a text field has the focus."""

    def __init__(self, key: Qt.Key, on_change: Callable[[bool], None], parent: QObject | None = None):
        super().__init__(parent)
        self.key = key
        self.on_change = on_change
        self.held = False

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride):
            return False
        if event.key() != self.key or (typing() and not self.held):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # ours, not a shortcut's
            return True
        if event.isAutoRepeat():
            return True
        down = kind == QEvent.Type.KeyPress
        if down != self.held:
            self.held = down
            self.on_change(down)
        return True


class InstructionEdit(QLineEdit):
    """The instruction box: Esc gives the keyboard back to the photo; Ctrl+Enter asks for a new
    layer instead of changing the selected one."""

    escaped = Signal()
    stack_requested = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.stack_requested.emit()
            return
        super().keyPressEvent(event)
