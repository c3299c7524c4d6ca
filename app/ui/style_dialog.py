"""The app's learned styles: "Learn Style from Folders…" (progress, cancel) and a Styles menu.

Applying a style adds an ordinary layer whose instruction is ``style: NAME`` (``model.style``), so
it has a strength, a mask and a sidecar entry like every other layer, and words typed after it
("style: wedding, a bit warmer") go on top.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class _LearnJob(QObject):
    """Reads the pairs and learns the style on a thread; signals arrive on the GUI thread."""

    progress_changed = Signal(float, str)
    finished = Signal(str)  # the report
    failed = Signal(str)

    def __init__(self, before: Path, after: Path, name: str, minutes: float, overwrite: bool):
        super().__init__()
        self.args = (before, after, name, minutes, overwrite)
        self._cancel = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="learn-style", daemon=True)
        self.thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def _run(self) -> None:
        from retouch_studio.model.style.learn import MIN_PAIRS, learn_style
        from retouch_studio.model.style.pairs import collect_pairs
        from retouch_studio.model.style.store import describe, save_style

        before, after, name, minutes, overwrite = self.args
        try:
            found = collect_pairs(
                before, after,
                progress=lambda done, total: self.progress_changed.emit(0.3 * done / max(total, 1), f"read {done} of {total} pairs"),
                cancelled=self._cancel.is_set,
            )  # fmt: skip
            left_out = "".join(f"\nleft out {Path(f).name}: {why}" for f, why in found.skipped)
            if len(found.pairs) < MIN_PAIRS:
                self.failed.emit(f"Only {len(found.pairs)} usable pairs; a style needs at least {MIN_PAIRS} (20 or more is better).{left_out}")
                return
            style, _ = learn_style(
                name, found.pairs, minutes=minutes,
                progress=lambda f, msg: self.progress_changed.emit(0.3 + 0.7 * f, msg),
                cancelled=self._cancel.is_set,
            )  # fmt: skip
            save_style(style, overwrite=overwrite)
            self.finished.emit(f"Learned “{name}”: {describe(style)}.{left_out}")
        except InterruptedError:
            self.failed.emit("Cancelled; nothing was saved.")
        except Exception as exc:  # noqa: BLE001 - every failure becomes one readable line
            self.failed.emit(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


class LearnStyleDialog(QDialog):
    """Two folders (originals, finished versions), a name, and a Learn button with progress."""

    learned = Signal(str)  # the style's name

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Learn Style from Folders")
        self.job: _LearnJob | None = None
        form = QFormLayout()
        self.before_edit, self.after_edit = QLineEdit(), QLineEdit()
        for label, edit in (("Originals:", self.before_edit), ("Your finished versions:", self.after_edit)):
            row = QHBoxLayout()
            row.addWidget(edit)
            browse = QPushButton("Browse…")
            browse.clicked.connect(lambda _=False, e=edit: self._browse(e))
            row.addWidget(browse)
            form.addRow(label, row)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. wedding")
        form.addRow("Style name:", self.name_edit)
        self.minutes = QDoubleSpinBox(minimum=0.25, maximum=30.0, value=2.0, singleStep=0.5, suffix=" min")
        form.addRow("At most:", self.minutes)
        hint = QLabel("Photos are paired by file name. Exports may be resized, rotated or in another "
                      "colour profile; cropped or locally retouched pairs are left out.")  # fmt: skip
        hint.setWordWrap(True)
        self.progress = QProgressBar(minimum=0, maximum=1000)
        self.status = QPlainTextEdit(readOnly=True)
        self.status.setMaximumBlockCount(200)
        self.buttons = QDialogButtonBox()
        self.learn_button = self.buttons.addButton("Learn", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.learn_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(560, 380)

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    def start(self) -> None:
        from retouch_studio.model.style.reference import check_style_name
        from retouch_studio.model.style.store import list_styles

        name = self.name_edit.text().strip()
        before, after = Path(self.before_edit.text().strip()), Path(self.after_edit.text().strip())
        try:
            check_style_name(name)
        except ValueError as exc:
            self.status.appendPlainText(str(exc))
            return
        for folder in (before, after):
            if not str(folder) or not folder.is_dir():
                self.status.appendPlainText(f"{folder}: not a folder")
                return
        overwrite = False
        if name in list_styles():
            answer = QMessageBox.question(self, "Replace style?", f"A style named “{name}” exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            overwrite = True
        self.job = _LearnJob(before, after, name, self.minutes.value(), overwrite)
        self.job.progress_changed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self.job.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self.job.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self.learn_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.status.appendPlainText(f"Learning “{name}”…")
        self.job.start()

    def running(self) -> bool:
        return self.job is not None and self.job.thread is not None and self.job.thread.is_alive()

    def _cancel_or_close(self) -> None:
        if self.running():
            self.job.cancel()
            self.status.appendPlainText("Cancelling…")
        else:
            self.reject()

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"%p %  {message}")

    def _done(self) -> None:
        self.learn_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def _on_finished(self, report: str) -> None:
        self._done()
        self.progress.setValue(1000)
        self.status.appendPlainText(report)
        self.learned.emit(self.name_edit.text().strip())

    def _on_failed(self, message: str) -> None:
        self._done()
        self.status.appendPlainText(message)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.running():
            self.job.cancel()
        super().closeEvent(event)


def install_style_menu(window) -> None:
    """A Styles menu on ``window`` (the main window): learn a style, apply a learned one as a layer."""
    menu = window.menuBar().addMenu("St&yles")
    learn = QAction("&Learn Style from Folders…", window)

    def open_dialog() -> None:
        dialog = LearnStyleDialog(window)
        dialog.learned.connect(lambda name: window.show_message(f"Style “{name}” learned: find it in the Styles menu."))
        dialog.show()
        window._learn_style_dialog = dialog  # kept alive while open

    learn.triggered.connect(open_dialog)

    def fill() -> None:
        from retouch_studio.model.style.reference import style_instruction
        from retouch_studio.model.style.store import list_styles

        menu.clear()
        menu.addAction(learn)
        menu.addSeparator()
        names = list_styles()
        for name in names:
            menu.addAction(f"Apply “{name}”", lambda n=name: window.apply_instruction(style_instruction(n)))
        if not names:
            menu.addAction("(no styles learned yet)").setEnabled(False)

    menu.aboutToShow.connect(fill)
    fill()
    window.style_menu = menu
    window.learn_style_action = learn
