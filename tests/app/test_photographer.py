"""What a working photographer does: per-photo batch export, copy/paste/sync edits, keys that
behave as in Lightroom, safe re-export, clean sidecars, one layer per retyped instruction,
clipping warnings, thumbnails that show the edits, readable refusals."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from retouch_studio.app.ui.document import StrokeData
from retouch_studio.app.ui.export import ExportOptions


def _warmth(pixels: np.ndarray) -> float:
    return float(pixels[..., 0].astype(np.float64).mean() - pixels[..., 2].astype(np.float64).mean())


def _show(window, path):
    window._select_document(path)
    assert window.doc.path == path


def _select(window, paths, current):
    """Ctrl-click selection in the filmstrip (``current`` keyboard-current)."""
    _show(window, current)
    strip = window.filmstrip
    for i in range(strip.count()):
        item = strip.item(i)
        item.setSelected(item.data(Qt.ItemDataRole.UserRole) in {str(p) for p in paths})


def _when_modal(qtbot, act):
    """Run ``act(widget)`` on the next modal dialog (the export dialog, a question box)."""
    seen = []

    def poll():
        w = QApplication.activeModalWidget()
        if w is None:
            QTimer.singleShot(20, poll)
            return
        seen.append(w)
        act(w)

    QTimer.singleShot(0, poll)
    return seen


def test_batch_export_writes_each_photo_with_its_own_edits(window, photos, tmp_path, qtbot):
    a, b, c = photos[:3]
    window.open_paths([a, b, c])
    _show(window, a)
    window.apply_instruction("make it warm")
    _show(window, b)
    window.apply_instruction("dark mood")
    window.worker.wait_until_idle()
    _select(window, [a, b, c], current=b)  # Ctrl-click leaves b current: must not matter
    window.settings.export_dir = str(tmp_path / "out")
    window.settings.export_format = "png"
    about = []

    def accept(dialog):
        about.append(dialog.about.text())
        dialog.accept()

    _when_modal(qtbot, accept)
    window.batch_dialog()
    assert window.jobs.wait_until_idle()
    assert about == ["3 photos: 2 with their own edits, 1 without edits exported unchanged"]
    out = {p.stem: np.asarray(Image.open(tmp_path / "out" / f"{p.stem}_retouched.png").convert("RGB")) for p in (a, b, c)}
    orig = {p.stem: np.asarray(Image.open(p).convert("RGB")) for p in (a, b, c)}
    assert _warmth(out[a.stem]) - _warmth(orig[a.stem]) > 10  # a: warm
    assert out[b.stem].mean() < orig[b.stem].mean() - 20  # b: dark, not warm
    assert abs(_warmth(out[b.stem]) - _warmth(orig[b.stem]) * 0.6) < 5
    assert np.abs(out[c.stem].astype(int) - orig[c.stem]).mean() < 1.0  # c: no edits, unchanged


def test_batch_export_uses_saved_edits_and_can_skip_photos_without_edits(window, photos, tmp_path):
    from retouch_studio.model.recipe import Recipe, save_recipe, sidecar_path

    a, b, c = photos[:3]
    save_recipe(Recipe.single("dark mood"), sidecar_path(b))  # edited earlier, not open now
    window.open_paths([a])
    window.apply_instruction("make it warm")
    window.worker.wait_until_idle()
    job = window.start_batch_export(ExportOptions(fmt="png", dest_dir=str(tmp_path / "out")), [a, b, c], "skip")
    assert window.jobs.wait_until_idle() and job.state == "done"
    assert sorted(p.name for p in job.written) == sorted([f"{a.stem}_retouched.png", f"{b.stem}_retouched.png"])
    dark = np.asarray(Image.open(tmp_path / "out" / f"{b.stem}_retouched.png").convert("RGB"))
    assert dark.mean() < np.asarray(Image.open(b).convert("RGB")).mean() - 20


def test_copy_paste_and_sync_edits_with_lightroom_shortcuts(window, photos, qtbot):
    a, b, c = photos[:3]
    window.open_paths([a, b, c])
    _show(window, a)
    window.apply_instruction("make it warm")
    window.paint_stroke(StrokeData(((100.0, 100.0), (200.0, 120.0)), 60.0, 0.3, 1.0, False))
    window.worker.wait_until_idle()
    size_a = window.doc.size
    source = window.doc.layers[0]
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    _show(window, b)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    window.worker.wait_until_idle()
    (pasted,) = window.doc.layers
    assert pasted.instruction == source.instruction and pasted.id != source.id
    sx = window.doc.size[0] / size_a[0]
    assert pasted.strokes[0].points[0][0] == pytest.approx(100.0 * sx)  # strokes follow the photo's size
    assert window.doc.prediction_for(pasted) is not None  # predicted for this photo
    window.undo()
    assert window.doc.layers == ()
    # Sync: a's edits onto the other selected photos
    _select(window, [a, c], current=a)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    window.worker.wait_until_idle()
    doc_c = window.documents[c]
    assert [x.instruction for x in doc_c.layers] == ["make it warm"]
    assert doc_c.prediction_for(doc_c.layers[0]) is not None
    assert window.documents[b].layers == ()  # not selected: untouched
    assert "Synced" in window.last_message


def test_enter_and_escape_give_the_keyboard_back_and_backslash_is_held(window, photo, predictor, qtbot):
    window.open_paths([photo])
    window.activateWindow()
    box = window.panel.instruction
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=2000)
    qtbot.keyClicks(box, "make it warm")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    window.worker.wait_until_idle()
    assert predictor.calls == ["make it warm"]
    assert not box.hasFocus() and window.canvas.hasFocus()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_B)  # a shortcut now, not text
    assert window.panel.brush_enabled.isChecked() and box.text() == "make it warm"
    qtbot.keyPress(QApplication.focusWidget(), Qt.Key.Key_Backslash)
    assert window.canvas.show_original
    qtbot.keyRelease(QApplication.focusWidget(), Qt.Key.Key_Backslash)
    assert not window.canvas.show_original and box.text() == "make it warm"
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=2000)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert window.canvas.hasFocus()


def test_export_over_an_existing_file_asks(window, photo, tmp_path, qtbot):
    window.open_paths([photo])
    window.apply_instruction("make it warm")
    window.worker.wait_until_idle()
    window.settings.export_dir = str(tmp_path / "out")
    target = tmp_path / "out" / f"{photo.stem}_retouched.jpg"

    def export(answer):
        questions = []

        def on_dialog(dialog):
            if isinstance(dialog, QMessageBox):
                questions.append(dialog.text())
                button = next((x for x in dialog.buttons() if x.text() == answer), None)
                (button or dialog.button(QMessageBox.StandardButton.Cancel)).click()
            else:
                dialog.accept()
                _when_modal(qtbot, on_dialog)

        _when_modal(qtbot, on_dialog)
        window.export_dialog()
        window.jobs.wait_until_idle()
        return questions

    assert export("Keep both") == []  # nothing there yet: no question
    first = target.read_bytes()
    questions = export("Keep both")
    assert questions and target.name in questions[0]
    assert target.read_bytes() == first and target.with_name(f"{photo.stem}_retouched-2.jpg").is_file()
    export("Skip")
    assert "Skipped 1" in window.panel.export_status.text()
    assert not target.with_name(f"{photo.stem}_retouched-3.jpg").exists()
    export("Cancel")
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([target.name, f"{photo.stem}_retouched-2.jpg"])


def test_a_refused_layer_is_not_saved_nor_exported_and_does_not_come_back(qtbot, photo, predictor, tmp_path):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow
    from retouch_studio.model.recipe import load_recipe, sidecar_path

    w1 = MainWindow(Settings(), loader=lambda m: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w1)
    w1.open_paths([photo])
    w1.apply_instruction("make it warm")
    w1.apply_instruction("explode the sky", new_layer=True)  # the engine refuses this one
    w1.worker.wait_until_idle()
    assert "explode" in w1.last_error
    assert [x.instruction for x in load_recipe(sidecar_path(photo)).layers] == ["make it warm"]
    job = w1.start_export(ExportOptions(fmt="png", dest_dir=str(tmp_path / "out")))
    assert w1.jobs.wait_until_idle() and job.state == "done" and not job.failures and len(job.written) == 1
    w1.close()
    w2 = MainWindow(Settings(), loader=lambda m: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w2)
    w2.open_paths([photo])
    w2.worker.wait_until_idle()
    assert [x.instruction for x in w2.doc.layers] == ["make it warm"] and w2.last_error == ""
    w2.close()


def test_enter_changes_the_selected_layer_ctrl_enter_stacks_and_clipping_is_flagged(window, photo, predictor, qtbot):
    window.open_paths([photo])
    box = window.panel.instruction
    qtbot.keyClicks(box, "make it warm")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    box.clear()
    qtbot.keyClicks(box, "dark mood")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    window.worker.wait_until_idle()
    assert [x.instruction for x in window.doc.layers] == ["dark mood"]  # retyped, not stacked
    assert not window.panel.clip_warning.isVisible()
    window.undo()
    assert [x.instruction for x in window.doc.layers] == ["make it warm"]
    for _ in range(3):  # explicit stacking: Ctrl+Enter; three strong brightening layers clip
        box.clear()
        qtbot.keyClicks(box, "brighter")
        qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        window.worker.wait_until_idle()
        window.panel.spin.setValue(200)
    assert len(window.doc.layers) == 4
    assert window.panel.clip_warning.isVisible() and "blown highlights" in window.panel.clip_warning.text()
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_J)  # where it clips, on the photo
    assert window.canvas.clipping_shown()
    qtbot.keyClick(window.canvas, Qt.Key.Key_J)
    assert not window.canvas.clipping_shown()


def test_thumbnails_show_the_edits(window, photos):
    window.open_paths(photos[:2])
    item = window.filmstrip.item(0)
    before = item.icon().pixmap(120, 80).toImage()
    _show(window, photos[0])
    window.apply_instruction("dark mood")
    window.worker.wait_until_idle()
    after = item.icon().pixmap(120, 80).toImage()
    assert before != after
    mean = lambda img: np.mean([img.pixelColor(x, y).value() for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)])  # noqa: E731
    assert mean(after) < mean(before) - 20


def test_a_photo_over_the_pixel_limit_is_refused_in_plain_words(window, tmp_path, monkeypatch):
    from retouch_studio.app.ui import main_window
    from retouch_studio.model.imaging.limits import check_pixels

    big = tmp_path / "huge.jpg"
    Image.new("RGB", (8, 8)).save(big)

    def too_large(path, long_edge):
        check_pixels(path, 20000, 15000, False, 250_000_000)

    monkeypatch.setattr(main_window, "load_preview_photo", too_large)
    window.open_paths([big])
    assert "huge.jpg" in window.last_error and "300 MP" in window.last_error
    assert "allow_large" not in window.last_error and "=True" not in window.last_error


def test_opening_never_decodes_on_the_gui_thread(qtbot, photo, predictor, monkeypatch):
    import threading

    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui import main_window
    from retouch_studio.app.ui.main_window import MainWindow

    threads = []
    real = main_window.load_preview_photo

    def spy(path, long_edge):
        threads.append(threading.current_thread())
        return real(path, long_edge)

    monkeypatch.setattr(main_window, "load_preview_photo", spy)
    w = MainWindow(Settings(), loader=lambda m: predictor, synchronous=False, save_settings=False)
    qtbot.addWidget(w)
    w.open_paths([photo])
    assert w.doc is None and w.panel.busy.isVisibleTo(w) and "Opening" in w.panel.status.text()
    qtbot.waitUntil(lambda: w.doc is not None, timeout=20000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert not w.panel.busy.isVisibleTo(w)
    w.close()


def _big_photo(tmp_path, photo):
    big = tmp_path / "big.jpg"
    Image.open(photo).convert("RGB").resize((2400, 1598), Image.Resampling.BICUBIC).save(big, quality=92)
    return big


def test_previews_are_rendered_at_the_size_the_screen_shows(qtbot, tmp_path, photo, predictor):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    w = MainWindow(Settings(preview_long_edge=2048), loader=lambda m: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    w.open_paths([_big_photo(tmp_path, photo)])
    fit = max(w.canvas.width(), w.canvas.height()) * w.canvas.devicePixelRatioF()
    assert max(w.doc.pixels.shape[:2]) == 2048  # decoded for zooming
    assert max(w.renderer.base.shape[:2]) <= max(768, fit + 128)  # rendered for the screen
    w.close()


def test_brush_moves_touch_only_the_newest_piece_and_release_reuses_the_live_mask(window, tmp_path, photo, predictor, qtbot):
    from retouch_studio.app.ui.preview import preview_mask

    window.open_paths([photo])
    window.apply_instruction("make it warm")
    window.apply_instruction("dark mood", new_layer=True)
    window.worker.wait_until_idle()
    window.panel.layers.setCurrentRow(1)  # paint on the lower layer, below "dark mood"
    window.panel.brush_enabled.setChecked(True)
    window.panel.brush_size.setValue(80)
    r = window.renderer
    slices, masks = r.slices, r.mask_renders
    c = window.canvas
    start = c.to_widget(QPointF(100, 100))
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=start.toPoint())
    live = window._live_stroke
    frames = []
    for x in range(110, 400, 12):
        before = live.out.copy()
        p = c.to_widget(QPointF(x, 120))
        qtbot.mouseMove(c, p.toPoint())
        changed = np.argwhere((live.out != before).any(-1))
        if len(changed):
            frames.append(changed.max(0) - changed.min(0))
    # each move re-composited a box about the brush's size, never the whole preview
    h, w_ = live.out.shape[:2]
    assert frames and max(f[1] for f in frames) < 0.5 * w_
    assert r.slices == slices and r.mask_renders == masks  # no full re-slice or re-rasterise while painting
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=p.toPoint())
    layer = window.doc.layers[0]
    assert len(layer.strokes) == 1 and r.mask_of(layer) is live.finished_mask()  # adopted, not redone
    exact = preview_mask(layer, window.doc.size, r.base)
    assert np.abs(r.mask_of(layer).astype(np.float32) / 255 - exact).mean() < 0.01
    assert np.abs(window.canvas._buffers[0].astype(int) - live.out).mean() < 1.0  # what was shown is what stays


def test_slider_on_a_lower_layer_draws_at_half_size_while_dragging(window, photo, predictor):
    window.open_paths([photo])
    window.apply_instruction("make it warm")
    window.apply_instruction("dark mood", new_layer=True)
    window.worker.wait_until_idle()
    window.panel.layers.setCurrentRow(1)
    full = window.canvas._buffers[0].shape
    window.panel.slider.setSliderDown(True)
    window.panel.slider.setValue(40)
    window._slider_timer.stop()
    window._draw_live_strength()
    assert window.canvas._buffers[0].shape[1] <= full[1] // 2 + 1
    window.panel.slider.setSliderDown(False)
    assert window.canvas._buffers[0].shape == full and window.doc.layers[0].strength == pytest.approx(0.4)


def test_a_lower_layers_slider_never_re_rasterises_the_masks_above(window, photo, predictor):
    window.open_paths([photo])
    window.apply_instruction("make it warm")
    window.apply_instruction("dark mood", new_layer=True)
    window.paint_stroke(StrokeData(((100.0, 100.0), (300.0, 120.0)), 80.0, 0.3, 1.0, False))  # on "dark mood"
    window.worker.wait_until_idle()
    window.panel.layers.setCurrentRow(1)  # "make it warm", below the masked layer
    r = window.renderer
    masks, mask = r.mask_renders, r.mask_of(window.doc.layers[1])
    for value in (20, 60, 140):
        window.panel.slider.setValue(value)  # keyboard-like steps: full-size renders and commits
    assert r.mask_renders == masks and r.mask_of(window.doc.layers[1]) is mask
    assert window.doc.layers[0].strength == pytest.approx(1.4)
