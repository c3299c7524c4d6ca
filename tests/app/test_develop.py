"""The Develop panel: an instruction's words as sliders, filled, dragged, undone, exported."""

from __future__ import annotations

import numpy as np
import pytest


def _drag(slider, value):
    slider.setSliderDown(True)
    slider.setValue(value)
    slider.setSliderDown(False)  # release: one edit


def test_sliders_show_the_values_and_a_drag_changes_the_layer(window, photo, predictor, qtbot):
    window.open_paths([photo])
    window.apply_instruction("exposure +0.5, temperature +20")
    window.worker.wait_until_idle()
    dev = window.panel.develop
    assert dev.isEnabled()
    assert dev.sliders["exposure"].value() == pytest.approx(0.5)
    assert dev.sliders["temperature"].value() == pytest.approx(20)
    assert dev.sliders["shadows"].value() == 0
    before = window.canvas._buffers[0].copy()
    strength = window.doc.layers[0].strength
    # hold the temperature slider: live frames come from the renderer's grid for the new values
    s = dev.sliders["temperature"].slider
    s.setSliderDown(True)
    frames = len(window.frame_times)
    s.setValue(-60)
    assert len(window.frame_times) == frames + 1
    live = window.canvas._buffers[0]
    assert live[..., 2].mean() - live[..., 0].mean() > before[..., 2].mean() - before[..., 0].mean() + 5  # cooler
    s.setSliderDown(False)
    layer = window.doc.layers[0]
    assert layer.instruction == "exposure +0.5, temperature -60" and layer.strength == strength
    assert window.doc.prediction_for(layer) is not None
    after = window.canvas._buffers[0]
    assert after[..., 2].mean() - after[..., 0].mean() > before[..., 2].mean() - before[..., 0].mean() + 5
    window.undo()
    assert window.doc.layers[0].instruction == "exposure +0.5, temperature +20"
    assert dev.sliders["temperature"].value() == pytest.approx(20)


def test_worded_instruction_fills_the_sliders(window, photo):
    window.open_paths([photo])
    window.apply_instruction("warmer, lift the shadows")
    window.worker.wait_until_idle()
    window.jobs.wait_until_idle()
    dev = window.panel.develop
    assert dev.sliders["temperature"].value() > 5 and dev.sliders["shadows"].value() > 5
    assert "warmer, lift the shadows" in dev.source.text()
    _drag(dev.sliders["exposure"].slider, 30)  # 0.30 EV
    layer = window.doc.layers[0]
    assert "exposure +0.3" in layer.instruction and "temperature" in layer.instruction


def test_hsl_section_opens_for_per_hue_values(window, photo):
    window.open_paths([photo])
    window.apply_instruction("greens_sat -40")
    window.worker.wait_until_idle()
    dev = window.panel.develop
    assert dev.hsl_button.isChecked() and dev.sliders["greens_sat"].value() == -40
    assert np.isfinite(dev.sliders["greens_sat"].value())
    dev.sliders["greens_sat"].label.mouseDoubleClickEvent(None)  # reset by double-click
    assert window.doc.layers[0].instruction == "exposure +0"


def test_flags_ratings_filter_and_snapshots_survive_a_restart(qtbot, photos, predictor):
    from PySide6.QtCore import Qt

    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    a, b, c = photos[:3]
    w = MainWindow(Settings(), loader=lambda m: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)  # shortcuts act in the active window
    w.open_paths([a, b, c])
    w._select_document(a)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_P)
    qtbot.keyClick(w.canvas, Qt.Key.Key_4)
    w._select_document(b)
    qtbot.keyClick(w.canvas, Qt.Key.Key_X)
    assert w.documents[a].library.flag == "pick" and w.documents[a].library.rating == 4
    assert w.filmstrip.item(0).text().startswith("⚑ ★★★★")
    w.filter.setCurrentText("Picks")
    assert [w.filmstrip.item(i).isHidden() for i in range(3)] == [False, True, True]
    w.filter.setCurrentText("Not rejected")
    assert [w.filmstrip.item(i).isHidden() for i in range(3)] == [False, True, False]
    w.filter.setCurrentText("All photos")
    w._select_document(a)
    w.apply_instruction("make it warm")
    w.take_snapshot("warm")
    w.apply_instruction("dark mood")
    assert [x.instruction for x in w.doc.layers] == ["dark mood"]
    w.close()
    w2 = MainWindow(Settings(), loader=lambda m: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w2)
    w2.open_paths([a, b])
    doc = w2.documents[a]
    assert doc.library.flag == "pick" and doc.library.rating == 4 and w2.documents[b].library.flag == "reject"
    w2._select_document(a)
    w2.restore_snapshot("warm")
    assert [x.instruction for x in w2.doc.layers] == ["make it warm"]
    w2.undo()
    assert [x.instruction for x in w2.doc.layers] == ["dark mood"]
    w2.close()


def test_presets_are_shared_with_the_command_line(window, photo, tmp_path, monkeypatch):
    monkeypatch.setenv("RETOUCH_CONFIG_DIR", str(tmp_path / "cfg"))
    from retouch_studio.app.presets import list_presets

    window.open_paths([photo])
    window.apply_instruction("make it warm")
    window.panel.spin.setValue(70)
    window.save_preset("warmish")
    assert [(p.name, p.instruction, p.strength) for p in list_presets()] == [("warmish", "make it warm", 0.7)]
    window._fill_presets()
    assert [a.text() for a in window.presets_menu.actions()] == ["warmish"]
    window.presets_menu.actions()[0].trigger()
    window.worker.wait_until_idle()
    assert [(x.instruction, x.strength) for x in window.doc.layers] == [("make it warm", 0.7), ("make it warm", 0.7)]
    assert len({x.id for x in window.doc.layers}) == 2
