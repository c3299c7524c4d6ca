"""The Develop panel: the instruction's words as sliders (exposure, white balance, tone, colour,
per-hue HSL, effects) that the user can drag.

What the sliders show is what the parameter renderer (``model.params``) reads from the selected
layer: the exact values of a parameter layer ("exposure +0.7, shadows +30"), or the values the
words are read into for a worded or auto layer (``model.engines.retoucher.params_for``: the plan, scaled so
it shows on this photo). Dragging a slider turns the layer into those exact values, as text the
command line understands too (``retouch apply -i "exposure +0.7, ..."``), so every edit can be
explained and corrected.

While a slider is held, frames come from :class:`LiveParams`: a background thread that turns the
newest values into a grid (the renderer's probe-colour fit, no photo needed) and drops values
that were overtaken; the release is one undoable edit, predicted through the same path as any
instruction.
"""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

BASIC = (
    ("White balance", ("temperature", "tint")),
    ("Tone", ("exposure", "contrast", "highlights", "shadows", "whites", "blacks")),
    ("Presence", ("vibrance", "saturation")),
    ("Effects", ("vignette", "fade", "s_curve", "bw")),
)
HUE_NAMES = ("reds", "oranges", "yellows", "greens", "aquas", "blues", "purples", "magentas")
_LABELS = {"bw": "Black & white", "s_curve": "S-curve"}
#: Slider steps per unit of each parameter (exposure moves in 1/100 EV, the rest in whole units).
_STEPS = {"exposure": 100}


def _label(name: str) -> str:
    """Row label: the hue for per-hue rows (their section says hue, saturation or luminance)."""
    if name in _LABELS:
        return _LABELS[name]
    first = name.split("_")[0]
    return first.capitalize() if first in HUE_NAMES else name.replace("_", " ").capitalize()


def _steps(name: str) -> int:
    return _STEPS.get(name, 1)


class ParamSlider(QWidget):
    """One labelled slider for a ``model.params`` parameter; double-click the name to reset."""

    moved = Signal(str, float)  # while dragging
    committed = Signal(str, float)  # released, or keyboard / wheel steps

    def __init__(self, spec, parent: QWidget | None = None):
        super().__init__(parent)
        self.spec = spec
        k = _steps(spec.name)
        self.label = QLabel(_label(spec.name))
        self.label.setToolTip(spec.help + " (double-click to reset)")
        self.value_label = QLabel("")
        self.value_label.setMinimumWidth(44)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(spec.lo * k), round(spec.hi * k))
        self.slider.setPageStep(max(1, round((spec.hi - spec.lo) * k / 20)))
        self.slider.setToolTip(spec.help)
        self.slider.valueChanged.connect(self._on_value)
        self.slider.sliderReleased.connect(lambda: self.committed.emit(self.spec.name, self.value()))
        self.label.mouseDoubleClickEvent = lambda _e: self._reset()
        self.set_value(spec.default)

    def value(self) -> float:
        return self.slider.value() / _steps(self.spec.name)

    def set_value(self, value: float) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(round(value * _steps(self.spec.name)))
        self._show()

    def _show(self) -> None:
        v = self.value()
        self.value_label.setText(f"{v:+.2f}" if _steps(self.spec.name) > 1 else f"{v:+.0f}")
        changed = abs(v - self.spec.default) > 1e-9
        self.label.setStyleSheet("color: #e8f0fe; font-weight: bold;" if changed else "")

    def _on_value(self, _v: int) -> None:
        self._show()
        if self.slider.isSliderDown():
            self.moved.emit(self.spec.name, self.value())
        else:
            self.committed.emit(self.spec.name, self.value())

    def _reset(self) -> None:
        self.set_value(self.spec.default)
        self.committed.emit(self.spec.name, self.value())


class DevelopPanel(QGroupBox):
    """Sliders for the selected layer's parameters; emits the whole parameter dict."""

    params_moved = Signal(dict)  # live, while a slider is held
    params_committed = Signal(dict)  # one undoable edit

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Develop", parent)
        from retouch_studio.model.params import SPECS

        self.sliders: dict[str, ParamSlider] = {}
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(2)
        self.source = QLabel("Apply an instruction: its words show here as sliders.")
        self.source.setWordWrap(True)
        self.source.setStyleSheet("color: #999; font-size: 11px;")
        root.addWidget(self.source)
        for title, names in BASIC:
            root.addWidget(self._section(title, [SPECS[n] for n in names]))
        self.hsl_button = QToolButton()
        self.hsl_button.setText("▸ Colour (HSL per hue)")
        self.hsl_button.setCheckable(True)
        self.hsl_button.setStyleSheet("QToolButton { border: none; color: #ccc; }")
        root.addWidget(self.hsl_button)
        hsl = QWidget()
        lay = QVBoxLayout(hsl)
        lay.setContentsMargins(0, 0, 0, 0)
        for part, word in (("hue", "Hue"), ("sat", "Saturation"), ("lum", "Luminance")):
            lay.addWidget(self._section(word, [SPECS[f"{h}_{part}"] for h in HUE_NAMES]))
        hsl.setVisible(False)
        self.hsl = hsl
        self.hsl_button.toggled.connect(self._toggle_hsl)
        root.addWidget(hsl)
        self.setEnabled(False)

    def _section(self, title: str, specs) -> QWidget:
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 2, 0, 2)
        grid.setVerticalSpacing(0)
        head = QLabel(title)
        head.setStyleSheet("color: #8ab4f8; font-size: 11px;")
        grid.addWidget(head, 0, 0, 1, 3)
        for row, spec in enumerate(specs, start=1):
            s = ParamSlider(spec)
            s.moved.connect(lambda _n, _v: self.params_moved.emit(self.params()))
            s.committed.connect(lambda _n, _v: self.params_committed.emit(self.params()))
            self.sliders[spec.name] = s
            grid.addWidget(s.label, row, 0)
            grid.addWidget(s.slider, row, 1)
            grid.addWidget(s.value_label, row, 2)
        grid.setColumnStretch(1, 1)
        return box

    def _toggle_hsl(self, on: bool) -> None:
        self.hsl.setVisible(on)
        self.hsl_button.setText(("▾" if on else "▸") + " Colour (HSL per hue)")

    def params(self) -> dict:
        """The non-default values of every slider."""
        out = {}
        for name, s in self.sliders.items():
            if abs(s.value() - s.spec.default) > 1e-9:
                out[name] = s.value()
        return out

    def set_params(self, params: dict | None, source: str = "") -> None:
        """Show ``params`` (None: no layer, or not read yet) without emitting."""
        self.setEnabled(params is not None)
        for name, s in self.sliders.items():
            s.set_value((params or {}).get(name, s.spec.default))
        hue = any(k.split("_")[0] in HUE_NAMES for k in (params or {}))
        if hue and not self.hsl_button.isChecked():
            self.hsl_button.setChecked(True)
        self.source.setText(source)

    def dragging(self) -> bool:
        return any(s.slider.isSliderDown() for s in self.sliders.values())


class LiveParams(QObject):
    """Turns the newest parameter values into a grid on a background thread.

    ``submit(key, params)`` replaces whatever was waiting; ``ready(key, params, grid)`` arrives on
    the GUI thread for values that were not overtaken. ``grid_fn(params) -> grid`` defaults to the
    renderer's probe-colour fit (``model.params.params_to_grid`` without a photo).
    """

    ready = Signal(object, dict, object)

    def __init__(self, grid_fn: Callable[[dict], object] | None = None, *, synchronous: bool = False,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._grid_fn = grid_fn or _probe_grid
        self.synchronous = synchronous
        self._cond = threading.Condition()
        self._pending: tuple | None = None
        self._thread: threading.Thread | None = None

    def submit(self, key, params: dict) -> None:
        if self.synchronous:
            self.ready.emit(key, dict(params), self._grid_fn(params))
            return
        with self._cond:
            self._pending = (key, dict(params))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="retouch-live-params", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._pending is None and not self._cond.wait_for(lambda: self._pending is not None, 10):
                    self._thread = None
                    return
                key, params = self._pending
                self._pending = None
            try:
                grid = self._grid_fn(params)
            except Exception:  # noqa: BLE001 - a live frame is skipped; the release reports errors
                continue
            with self._cond:
                overtaken = self._pending is not None
            if not overtaken:
                self.ready.emit(key, params, grid)


def _probe_grid(params: dict):
    from retouch_studio.model.params import params_to_grid

    return params_to_grid(params)
