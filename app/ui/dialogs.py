"""Export and settings dialogs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from retouch_studio.app.settings import EXPORT_FORMATS, Settings

from retouch_studio.app.ui.export import ExportOptions


class ExportDialog(QDialog):
    """Format, quality, bit depth, long-edge resize, destination, keep metadata.

    ``about`` says whose edits are exported; ``presets`` (batch only) are offered for photos
    without edits, after "export unchanged" and "skip".
    """

    def __init__(self, settings: Settings, count: int = 1, parent: QWidget | None = None, *,
                 about: str = "", presets: list[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export" if count == 1 else f"Batch export ({count} photos)")
        form = QFormLayout(self)
        self.about = QLabel(about)
        self.about.setWordWrap(True)
        if about:
            form.addRow(self.about)
        self.fallback = QComboBox()
        self.fallback.addItem("export them unchanged", "unchanged")
        self.fallback.addItem("skip them", "skip")
        for name in presets or []:
            self.fallback.addItem(f"apply preset “{name}”", name)
        if presets is not None:
            form.addRow("Photos without edits", self.fallback)
        self.fmt = QComboBox()
        self.fmt.addItems(list(EXPORT_FORMATS))
        self.fmt.setCurrentText(settings.export_format)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(settings.export_quality)
        self.depth = QComboBox()
        self.depth.addItems(["8", "16"])
        self.depth.setCurrentText(str(settings.export_bit_depth))
        self.long_edge = QSpinBox()
        self.long_edge.setRange(0, 100000)
        self.long_edge.setSpecialValueText("full resolution")
        self.long_edge.setSuffix(" px")
        self.long_edge.setValue(settings.export_long_edge)
        self.dest = QLineEdit(settings.export_dir)
        self.dest.setPlaceholderText("next to each photo")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.dest, 1)
        row.addWidget(browse)
        self.keep_metadata = QCheckBox("Keep EXIF and colour profile")
        self.keep_metadata.setChecked(settings.export_keep_metadata)
        form.addRow("Format", self.fmt)
        form.addRow("Quality", self.quality)
        form.addRow("Bit depth", self.depth)
        form.addRow("Long edge", self.long_edge)
        form.addRow("Destination", row)
        form.addRow("", self.keep_metadata)
        self.note = QLabel("")
        self.note.setStyleSheet("color: #bbb; font-size: 11px;")
        form.addRow(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.fmt.currentTextChanged.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        fmt = self.fmt.currentText()
        self.quality.setEnabled(fmt in ("jpg", "webp"))
        self.depth.setEnabled(fmt in ("png", "tiff"))
        if fmt not in ("png", "tiff"):
            self.depth.setCurrentText("8")
        self.note.setText("" if fmt in ("png", "tiff") else "16-bit output needs PNG or TIFF.")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.dest.text())
        if folder:
            self.dest.setText(folder)

    def options(self) -> ExportOptions:
        return ExportOptions(
            fmt=self.fmt.currentText(),
            quality=self.quality.value(),
            bit_depth=int(self.depth.currentText()),
            long_edge=self.long_edge.value(),
            dest_dir=self.dest.text().strip() or None,
            keep_metadata=self.keep_metadata.isChecked(),
        )

    def fallback_choice(self) -> str:
        """``unchanged``, ``skip`` or a preset name (photos without edits in a batch)."""
        return self.fallback.currentData()

    def store(self, settings: Settings) -> None:
        o = self.options()
        settings.export_format, settings.export_quality, settings.export_bit_depth = o.fmt, o.quality, o.bit_depth
        settings.export_long_edge, settings.export_dir = o.long_edge, o.dest_dir or ""
        settings.export_keep_metadata = o.keep_metadata


class SettingsDialog(QDialog):
    """Model choice (shipped default or a model folder), GPU, defaults."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.model = QComboBox()
        self.model.addItems(["Shipped default model", "Model folder…"])
        self.model_dir = QLineEdit(settings.model_dir)
        self.model_dir.setPlaceholderText("folder with config.json (e.g. a trained paper model)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.model.setCurrentIndex(1 if settings.model_dir else 0)
        row = QHBoxLayout()
        row.addWidget(self.model_dir, 1)
        row.addWidget(browse)
        self.gpu = QCheckBox("Use the GPU when available")
        self.gpu.setChecked(settings.use_gpu)
        self.strength = QDoubleSpinBox()
        self.strength.setRange(0, 200)
        self.strength.setSuffix(" %")
        self.strength.setValue(settings.default_strength * 100)
        self.preview = QSpinBox()
        self.preview.setRange(256, 8192)
        self.preview.setSuffix(" px")
        self.preview.setValue(settings.preview_long_edge)
        self.edge = QCheckBox("Brush follows edges by default")
        self.edge.setChecked(settings.edge_aware)
        for w, f in ((self.model, "model_dir"), (self.gpu, "use_gpu"), (self.strength, "default_strength"),
                     (self.preview, "preview_long_edge"), (self.edge, "edge_aware")):
            w.setToolTip(Settings.help(f))
        form.addRow("Model", self.model)
        form.addRow("", row)
        form.addRow("", self.gpu)
        form.addRow("New layer strength", self.strength)
        form.addRow("Preview size", self.preview)
        form.addRow("", self.edge)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.model.currentIndexChanged.connect(lambda i: self.model_dir.setEnabled(i == 1))
        self.model_dir.setEnabled(self.model.currentIndex() == 1)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder", self.model_dir.text())
        if folder:
            self.model_dir.setText(folder)
            self.model.setCurrentIndex(1)

    def store(self, settings: Settings) -> None:
        settings.model_dir = self.model_dir.text().strip() if self.model.currentIndex() == 1 else ""
        settings.use_gpu = self.gpu.isChecked()
        settings.default_strength = self.strength.value() / 100
        settings.preview_long_edge = self.preview.value()
        settings.edge_aware = self.edge.isChecked()


def ask_existing(parent: QWidget | None, existing: list[Path], total: int) -> str | None:
    """Some export files exist: ``overwrite``, ``rename`` (keep both), ``skip``, or None (cancel)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Files exist")
    names = ", ".join(p.name for p in existing[:3]) + (" …" if len(existing) > 3 else "")
    box.setText(f"{len(existing)} of {total} export file(s) already exist: {names}")
    box.setInformativeText("Replace them, keep both (the new file gets a number), or skip those photos?")
    buttons = {
        box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole): "overwrite",
        box.addButton("Keep both", QMessageBox.ButtonRole.AcceptRole): "rename",
        box.addButton("Skip", QMessageBox.ButtonRole.ActionRole): "skip",
    }
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.exec()
    return buttons.get(box.clickedButton())
