"""The side panel: instruction, plan chips, strength, layers, brush, export.

The panel only shows state and emits intent signals; the main window owns the document and
decides what happens. ``set_*`` methods update widgets without re-emitting.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSignalBlocker, QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QCompleter,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from retouch_studio.app.ui.develop_panel import DevelopPanel
from retouch_studio.app.ui.histogram import HistogramView
from retouch_studio.app.ui.keys import InstructionEdit

SUGGESTIONS = (
    "brighten the shadows",
    "warmer, golden hour",
    "more contrast and vivid colours",
    "cool teal-and-orange look",
    "soft faded film look",
)


def format_plan_item(item) -> str:
    """One plan entry as short chip text, whatever shape the engine reports."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return str(item)
    name = item.get("attribute") or item.get("name") or item.get("param") or item.get("style") or ""
    direction = item.get("direction") or item.get("sign")
    amount = item.get("amount", item.get("value", item.get("strength")))
    arrow = {"up": "↑", "down": "↓", "+": "↑", "-": "↓", 1: "↑", -1: "↓"}.get(direction, "")
    if not arrow and isinstance(amount, (int, float)):
        arrow = "↑" if amount > 0 else ("↓" if amount < 0 else "")
    label = item.get("label")
    if isinstance(name, str) and name.startswith("style:"):
        return f"{name[6:].replace('_', ' ')} style"
    if name and isinstance(label, str) and label:
        return f"{str(name).replace('_', ' ')}: {label}"
    text = f"{name} {arrow}".strip()
    if isinstance(amount, (int, float)) and amount:
        text += f" {abs(amount):.2g}"
    if not text:
        text = ", ".join(f"{k}={v}" for k, v in item.items())
    return text


class SidePanel(QWidget):
    instruction_submitted = Signal(str)  # Enter: change the selected instruction layer (or add one)
    instruction_stacked = Signal(str)  # Ctrl+Enter / "New layer": always a new layer on top
    typing_finished = Signal()  # Enter or Esc: the keyboard goes back to the photo
    auto_requested = Signal()
    strength_changed = Signal(float)  # live, while dragging
    strength_committed = Signal(float)  # on release / numeric entry: one undo step
    layer_selected = Signal(int)
    layer_visibility_changed = Signal(int, bool)
    layer_move_requested = Signal(int, int)  # from index, to index
    layer_delete_requested = Signal(int)
    brush_enabled_changed = Signal(bool)
    brush_mode_changed = Signal(str)  # "paint" | "erase"
    brush_settings_changed = Signal()
    overlay_changed = Signal(bool)
    clear_mask_requested = Signal()
    compare_changed = Signal(bool)
    export_requested = Signal()
    batch_export_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumWidth(330)
        root = QVBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        root.setSpacing(8)

        # Instruction -----------------------------------------------------------------
        box = QGroupBox("Instruction")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.instruction = InstructionEdit()
        self.instruction.escaped.connect(self.typing_finished)
        self.instruction.stack_requested.connect(self._on_stack)
        self.instruction.setPlaceholderText("e.g. warmer and brighter, keep the sky")
        self.instruction.setClearButtonEnabled(True)
        self._history = QStringListModel([])
        completer = QCompleter(self._history, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.instruction.setCompleter(completer)
        self.instruction.returnPressed.connect(self._on_submit)
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self._on_submit)
        self.history_button = QToolButton()
        self.history_button.setText("▾")
        self.history_button.setToolTip("Past instructions")
        self.history_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.history_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")
        self.history_menu = QMenu(self)
        self.history_button.setMenu(self.history_menu)
        self.new_layer_button = QPushButton("New layer")
        self.new_layer_button.setToolTip("Apply the instruction as a new layer on top (Ctrl+Enter)")
        self.new_layer_button.clicked.connect(self._on_stack)
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("Let the model decide a balanced correction (an auto layer)")
        self.auto_button.clicked.connect(self.auto_requested)
        row.addWidget(self.instruction, 1)
        row.addWidget(self.history_button)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.apply_button.setToolTip("Apply the instruction to the selected layer, or as the first layer (Enter)")
        row.addWidget(self.apply_button, 1)
        row.addWidget(self.new_layer_button, 1)
        row.addWidget(self.auto_button, 1)
        lay.addLayout(row)
        self.suggestions = QLabel(
            "Try: " + " · ".join(f"<a href='{html.escape(t)}' style='color:#8ab4f8; text-decoration:none'>{html.escape(t)}</a>" for t in SUGGESTIONS)
        )
        self.suggestions.setWordWrap(True)
        self.suggestions.setTextFormat(Qt.TextFormat.RichText)
        self.suggestions.setStyleSheet("color: #999; font-size: 11px;")
        self.suggestions.setToolTip("Click a suggestion to put it in the instruction box")
        self.suggestions.linkActivated.connect(self._use_suggestion)
        lay.addWidget(self.suggestions)
        busy_row = QHBoxLayout()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #bbb; font-size: 11px;")
        busy_row.addWidget(self.busy)
        lay.addLayout(busy_row)
        lay.addWidget(self.status)
        self.plan = QLabel("")
        self.plan.setWordWrap(True)
        self.plan.setTextFormat(Qt.TextFormat.RichText)
        self.plan.setToolTip("What the editor understood")
        lay.addWidget(self.plan)
        self.clip_warning = QLabel("")
        self.clip_warning.setWordWrap(True)
        self.clip_warning.setStyleSheet("color: #ffb74d; font-size: 11px;")
        self.clip_warning.setVisible(False)
        lay.addWidget(self.clip_warning)
        root.addWidget(box)

        self.histogram = HistogramView()
        root.addWidget(self.histogram)

        # Strength --------------------------------------------------------------------
        box = QGroupBox("Strength")
        lay = QHBoxLayout(box)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 200)
        self.slider.setValue(100)
        self.slider.setPageStep(10)
        self.spin = QSpinBox()
        self.spin.setRange(0, 200)
        self.spin.setSuffix(" %")
        self.spin.setValue(100)
        self.spin.setKeyboardTracking(False)
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.slider.sliderReleased.connect(self._on_slider_released)
        self.slider.actionTriggered.connect(self._on_slider_action)
        self.spin.valueChanged.connect(self._on_spin)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        root.addWidget(box)

        self.develop = DevelopPanel()
        root.addWidget(self.develop)

        # Layers ----------------------------------------------------------------------
        box = QGroupBox("Layers")
        lay = QVBoxLayout(box)
        self.layers = QListWidget()
        self.layers.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.layers.setMinimumHeight(90)
        self.layers.currentRowChanged.connect(self._on_row_changed)
        self.layers.itemChanged.connect(self._on_item_changed)
        lay.addWidget(self.layers)
        row = QHBoxLayout()
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.delete_button = QPushButton("Delete")
        self.up_button.setToolTip("Apply this layer later (move up)")
        self.down_button.setToolTip("Apply this layer earlier (move down)")
        self.up_button.clicked.connect(lambda: self._move(-1))
        self.down_button.clicked.connect(lambda: self._move(+1))
        self.delete_button.clicked.connect(self._on_delete)
        for b in (self.up_button, self.down_button, self.delete_button):
            row.addWidget(b)
        lay.addLayout(row)
        root.addWidget(box)

        # Brush -----------------------------------------------------------------------
        box = QGroupBox("Mask brush")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.brush_enabled = QCheckBox("Brush (B)")
        self.brush_enabled.toggled.connect(self.brush_enabled_changed)
        self.paint = QRadioButton("Paint")
        self.erase = QRadioButton("Erase")
        self.paint.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.paint)
        group.addButton(self.erase)
        self.paint.toggled.connect(lambda on: on and self.brush_mode_changed.emit("paint"))
        self.erase.toggled.connect(lambda on: on and self.brush_mode_changed.emit("erase"))
        row.addWidget(self.brush_enabled)
        row.addWidget(self.paint)
        row.addWidget(self.erase)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.brush_size = QDoubleSpinBox()
        self.brush_size.setRange(1, 2000)
        self.brush_size.setDecimals(0)
        self.brush_size.setSuffix(" px")
        self.brush_size.setToolTip("Brush diameter in photo pixels ([ and ])")
        self.feather = QDoubleSpinBox()
        self.feather.setRange(0, 1)
        self.feather.setSingleStep(0.1)
        self.feather.setToolTip("Feather: 0 hard edge, 1 soft")
        self.flow = QDoubleSpinBox()
        self.flow.setRange(0.01, 1)
        self.flow.setSingleStep(0.1)
        self.flow.setToolTip("Flow: opacity of one stroke")
        for label, w in (("Size", self.brush_size), ("Feather", self.feather), ("Flow", self.flow)):
            row.addWidget(QLabel(label))
            row.addWidget(w)
            w.valueChanged.connect(lambda _v: self.brush_settings_changed.emit())
        lay.addLayout(row)
        row = QHBoxLayout()
        self.edge_aware = QCheckBox("Follow edges")
        self.edge_aware.setToolTip("Snap the mask to the photo's edges (bilateral refinement)")
        self.edge_aware.toggled.connect(lambda _on: self.brush_settings_changed.emit())
        self.overlay = QCheckBox("Show mask (O)")
        self.overlay.toggled.connect(self.overlay_changed)
        self.clear_mask = QPushButton("Clear")
        self.clear_mask.setToolTip("Remove this layer's mask (the edit applies everywhere)")
        self.clear_mask.clicked.connect(self.clear_mask_requested)
        row.addWidget(self.edge_aware)
        row.addWidget(self.overlay)
        row.addWidget(self.clear_mask)
        lay.addLayout(row)
        root.addWidget(box)

        # Compare / export ------------------------------------------------------------
        row = QHBoxLayout()
        self.compare = QCheckBox("Before / after")
        self.compare.setToolTip("Split view with a draggable divider; \\ shows the original")
        self.compare.toggled.connect(self.compare_changed)
        row.addWidget(self.compare)
        root.addLayout(row)
        box = QGroupBox("Export")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Render this photo at full resolution (Ctrl+E)")
        self.batch_button = QPushButton("Batch export…")
        self.batch_button.setToolTip("Apply this recipe to the photos selected in the filmstrip")
        self.export_button.clicked.connect(self.export_requested)
        self.batch_button.clicked.connect(self.batch_export_requested)
        row.addWidget(self.export_button)
        row.addWidget(self.batch_button)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.export_status = QLabel("")
        self.export_status.setWordWrap(True)
        self.export_status.setStyleSheet("color: #bbb; font-size: 11px;")
        lay.addWidget(self.export_status)
        root.addWidget(box)
        root.addStretch(1)
        self._dragging = False

    # ------------------------------------------------------------------ instruction

    def _on_submit(self) -> None:
        text = self.instruction.text().strip()
        if text:
            self.instruction_submitted.emit(text)
        self.typing_finished.emit()

    def _on_stack(self) -> None:
        text = self.instruction.text().strip()
        if text:
            self.instruction_stacked.emit(text)
        self.typing_finished.emit()

    def _use_suggestion(self, text: str) -> None:
        self.instruction.setText(text)
        self.instruction.setFocus()

    def set_history(self, items: list[str]) -> None:
        self._history.setStringList(list(items))
        self.history_menu.clear()
        for text in list(items)[:15]:
            self.history_menu.addAction(text, lambda t=text: self._use_suggestion(t))
        self.history_button.setEnabled(bool(items))

    def set_busy(self, busy: bool, text: str = "") -> None:
        self.busy.setVisible(busy)
        if text or busy:
            self.status.setText(text)

    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(f"color: {'#ff8a80' if error else '#bbb'}; font-size: 11px;")
        self.status.setText(text)

    def set_clipping_warning(self, text: str) -> None:
        self.clip_warning.setText(text)
        self.clip_warning.setVisible(bool(text))

    def set_plan(self, plan: list) -> None:
        if not plan:
            self.plan.setText("")
            return
        chips = " ".join(
            "<span style='background-color:#2d4a6b; color:#e8f0fe;'>&nbsp;"
            f"{html.escape(format_plan_item(item)).replace(' ', '&nbsp;')}&nbsp;</span>"
            for item in plan
        )
        self.plan.setText(chips)

    # ------------------------------------------------------------------ strength

    def strength(self) -> float:
        return self.slider.value() / 100.0

    def set_strength(self, value: float) -> None:
        v = int(round(value * 100))
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(v)
            self.spin.setValue(v)

    def _on_slider_moved(self, v: int) -> None:
        with QSignalBlocker(self.spin):
            self.spin.setValue(v)
        self.strength_changed.emit(v / 100.0)
        if not self.slider.isSliderDown():
            # keyboard / page steps / programmatic: each change is its own commit
            self.strength_committed.emit(v / 100.0)

    def _on_slider_action(self, _action: int) -> None:
        pass

    def _on_slider_released(self) -> None:
        self.strength_committed.emit(self.slider.value() / 100.0)

    def _on_spin(self, v: int) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(v)
        self.strength_changed.emit(v / 100.0)
        self.strength_committed.emit(v / 100.0)

    # ------------------------------------------------------------------ layers

    def set_layers(self, rows: list[tuple[str, bool, str]], current: int) -> None:
        """rows: (label, visible, tooltip), bottom layer first in the document; shown top first."""
        with QSignalBlocker(self.layers):
            self.layers.clear()
            for label, visible, tip in reversed(rows):
                item = QListWidgetItem(label)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
                item.setToolTip(tip)
                self.layers.addItem(item)
            if 0 <= current < len(rows):
                self.layers.setCurrentRow(len(rows) - 1 - current)
        has = bool(rows)
        for w in (self.up_button, self.down_button, self.delete_button, self.slider, self.spin):
            w.setEnabled(has)

    def _doc_index(self, row: int) -> int:
        return self.layers.count() - 1 - row

    def _on_row_changed(self, row: int) -> None:
        if row >= 0:
            self.layer_selected.emit(self._doc_index(row))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        row = self.layers.row(item)
        self.layer_visibility_changed.emit(self._doc_index(row), item.checkState() == Qt.CheckState.Checked)

    def _move(self, direction: int) -> None:
        row = self.layers.currentRow()
        if row < 0:
            return
        src = self._doc_index(row)
        dst = src - direction  # "up" in the list = later in the document
        if 0 <= dst < self.layers.count():
            self.layer_move_requested.emit(src, dst)

    def _on_delete(self) -> None:
        row = self.layers.currentRow()
        if row >= 0:
            self.layer_delete_requested.emit(self._doc_index(row))

    # ------------------------------------------------------------------ brush

    def set_brush(self, size: float, feather: float, flow: float, edge_aware: bool) -> None:
        with QSignalBlocker(self.brush_size), QSignalBlocker(self.feather), QSignalBlocker(self.flow), QSignalBlocker(self.edge_aware):
            self.brush_size.setValue(size)
            self.feather.setValue(feather)
            self.flow.setValue(flow)
            self.edge_aware.setChecked(edge_aware)

    def brush_mode(self) -> str:
        return "erase" if self.erase.isChecked() else "paint"

    # ------------------------------------------------------------------ export progress

    def set_progress(self, done: int, total: int, text: str = "") -> None:
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if text:
            self.export_status.setText(text)

    def end_progress(self, text: str) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.export_status.setText(text)
