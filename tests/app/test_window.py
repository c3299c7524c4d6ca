"""The main window offscreen: open, apply, slide, paint, compare, undo, export, batch, errors."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from retouch_studio.app.ui.document import StrokeData
from retouch_studio.app.ui.export import ExportOptions


def _open_and_apply(window, photo, text="make it warm"):
    window.open_paths([photo])
    layer = window.apply_instruction(text)
    assert window.worker.wait_until_idle()
    return layer


def _diff(a, b) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_open_real_photo_shows_it(window, photo):
    window.open_paths([photo])
    assert window.doc is not None and window.doc.size == (640, 426)
    assert window.canvas.has_image()
    assert window.filmstrip.count() == 1
    assert np.array_equal(window.renderer.render((), []), window.renderer.base)


def test_apply_instruction_previews_the_edit(window, photo, predictor):
    _open_and_apply(window, photo, "make it warm")
    assert predictor.calls == ["make it warm"]
    out = window.renderer.render(window.doc.layers, [window.doc.prediction_for(x) for x in window.doc.layers])
    base = window.renderer.base.astype(np.int16)
    # warm = more red, less blue, everywhere
    assert (out[..., 0].astype(np.int16) - base[..., 0]).mean() > 10
    assert (out[..., 2].astype(np.int16) - base[..., 2]).mean() < -10
    assert "brightness" in window.panel.plan.text()
    assert window.panel.layers.count() == 1


def test_enter_in_instruction_box_applies(window, photo, predictor, qtbot):
    window.open_paths([photo])
    qtbot.keyClicks(window.panel.instruction, "darker please")
    qtbot.keyClick(window.panel.instruction, Qt.Key.Key_Return)
    window.worker.wait_until_idle()
    assert predictor.calls == ["darker please"]
    assert window.settings.instruction_history[0] == "darker please"


def test_strength_slider_never_repredicts(window, photo, predictor, qtbot):
    _open_and_apply(window, photo)
    slider = window.panel.slider
    slices = window.renderer.slices
    outs = []
    slider.setSliderDown(True)
    for v in (0, 50, 150, 200):
        slider.setValue(v)
        outs.append(window.canvas._buffers[0].copy())
    slider.setSliderDown(False)
    assert predictor.calls == ["make it warm"]  # dragging never calls the network
    assert window.renderer.slices == slices  # nor re-slices the grid: re-blend only
    assert np.array_equal(outs[0], window.renderer.base)  # 0 % = the original
    d = [_diff(o, window.renderer.base) for o in outs]
    assert d[0] < d[1] < d[2] < d[3]
    assert window.doc.layers[0].strength == 2.0  # release commits
    assert len(window.frame_times) >= 4


def test_numeric_entry_sets_strength(window, photo):
    _open_and_apply(window, photo)
    window.panel.spin.setValue(35)
    assert window.doc.layers[0].strength == pytest.approx(0.35)
    assert window.panel.slider.value() == 35


def test_paint_and_erase_mask(window, photo, predictor):
    _open_and_apply(window, photo)
    window.panel.edge_aware.setChecked(False)
    base = window.renderer.base
    window.paint_stroke(StrokeData(((100.0, 200.0), (300.0, 200.0)), 60.0, 0.0, 1.0, False))
    out = window.canvas._buffers[0]
    painted, outside = out[200 * 426 // 426, 200], out[50, 500]
    assert _diff(painted[None], base[200, 200][None]) > 10  # edit applies under the stroke
    assert np.array_equal(outside, base[50, 500])  # and nowhere else
    window.paint_stroke(StrokeData(((150.0, 200.0), (250.0, 200.0)), 60.0, 0.0, 1.0, True))
    out = window.canvas._buffers[0]
    assert np.array_equal(out[200, 200], base[200, 200])  # erased
    assert _diff(out[200, 105][None], base[200, 105][None]) > 10  # the unerased end stays
    assert predictor.calls == ["make it warm"]
    assert len(window.doc.layers[0].strokes) == 2


def test_brush_on_canvas_records_image_coordinates(window, photo, qtbot):
    _open_and_apply(window, photo)
    window.panel.brush_enabled.setChecked(True)
    c = window.canvas
    start, end = c.to_widget(QPointF(100, 100)).toPoint(), c.to_widget(QPointF(300, 150)).toPoint()
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0, 1, 8):
        p = start + (end - start) * float(t)
        qtbot.mouseMove(c, p)
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=end)
    strokes = window.doc.layers[0].strokes
    assert len(strokes) == 1
    pts = np.array(strokes[0].points)
    assert np.allclose(pts[0], (100, 100), atol=2) and np.allclose(pts[-1], (300, 150), atol=2)


def test_edge_aware_mask_follows_edges(window, photo):
    _open_and_apply(window, photo)
    layer = window.doc.layers[0]
    stroke = StrokeData(((320.0, 60.0),), 200.0, 0.0, 1.0, False)  # across sky and mountain
    window.panel.edge_aware.setChecked(False)
    window.paint_stroke(stroke)
    raw = window.renderer.mask_of(window.doc.layers[0]).astype(float)
    window.panel.edge_aware.setChecked(True)
    assert window.doc.layers[0].edge_aware
    snapped = window.renderer.mask_of(window.doc.layers[0]).astype(float)
    assert layer.id == window.doc.layers[0].id
    assert not np.array_equal(raw, snapped)


def test_undo_redo_shortcuts(window, photo, qtbot):
    _open_and_apply(window, photo)
    window.panel.spin.setValue(40)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.doc.layers[0].strength == 1.0
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.doc.layers == ()
    assert np.array_equal(window.canvas._buffers[0], window.renderer.base)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.doc.layers[0].strength == pytest.approx(0.4)
    assert len(window.doc.predictions) == 1  # undo/redo reused the cached prediction


def test_before_after_compare(window, photo, qtbot):
    _open_and_apply(window, photo)
    c = window.canvas
    after = c.grab().toImage()
    qtbot.keyPress(window, Qt.Key.Key_Backslash)  # held: the original, as in Lightroom
    assert c.show_original
    original = c.grab().toImage()
    qtbot.keyRelease(window, Qt.Key.Key_Backslash)
    assert not c.show_original and original != after
    window.panel.compare.setChecked(True)
    assert c.split
    x = int(c.split_pos * c.width())
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPointF(x, c.height() / 2).toPoint())
    qtbot.mouseMove(c, QPointF(c.width() * 0.8, c.height() / 2).toPoint())
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPointF(c.width() * 0.8, c.height() / 2).toPoint())
    assert c.split_pos == pytest.approx(0.8, abs=0.02)


def test_zoom_and_pan(window, photo, qtbot):
    window.open_paths([photo])
    c = window.canvas
    c.actual_size()
    assert c.zoom == pytest.approx(1.0) and not c.fit_mode
    before = QPointF(c.offset)
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPointF(100, 100).toPoint())
    qtbot.mouseMove(c, QPointF(140, 130).toPoint())
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPointF(140, 130).toPoint())
    assert c.offset.x() - before.x() == pytest.approx(40) and c.offset.y() - before.y() == pytest.approx(30)
    anchor = QPointF(200, 200)
    img = c.to_image(anchor)
    c.set_zoom(2.0, anchor)
    assert c.to_image(anchor).x() == pytest.approx(img.x()) and c.zoom == 2.0
    c.fit()
    assert c.fit_mode


def test_layers_visibility_reorder_delete(window, photo, predictor):
    _open_and_apply(window, photo, "make it warm")
    window.apply_instruction("dark mood", new_layer=True)
    window.worker.wait_until_idle()
    assert predictor.calls == ["make it warm", "dark mood"]
    doc = window.doc
    warm, dark = doc.layers
    out_both = window.canvas._buffers[0].copy()
    window.panel.layers.item(0).setCheckState(Qt.CheckState.Unchecked)  # top row = last layer
    assert not doc.layers[1].visible
    out_warm = window.canvas._buffers[0].copy()
    assert _diff(out_both, out_warm) > 5
    slices = window.renderer.slices
    window.panel.layers.item(0).setCheckState(Qt.CheckState.Checked)
    assert window.renderer.slices == slices + 1  # only the layer above the change re-sliced
    window.panel.layer_move_requested.emit(1, 0)
    assert [x.id for x in doc.layers] == [dark.id, warm.id]
    window.panel.layer_delete_requested.emit(0)
    assert [x.id for x in doc.layers] == [warm.id]
    assert len(predictor.calls) == 2


def test_sidecar_round_trip_on_reopen(qtbot, photo, predictor):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    w1 = MainWindow(Settings(), loader=lambda m: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w1)
    original_bytes = photo.read_bytes()
    _open_and_apply(w1, photo, "make it warm")
    w1.panel.spin.setValue(60)
    w1.paint_stroke(StrokeData(((50.0, 50.0), (90.0, 70.0)), 30.0, 0.2, 0.9, False))
    layers = w1.doc.layers
    w1.close()
    assert photo.with_name(photo.name + ".retouch.json").is_file()
    assert photo.read_bytes() == original_bytes  # the original is never written
    w2 = MainWindow(Settings(), loader=lambda m: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w2)
    w2.open_paths([photo])
    w2.worker.wait_until_idle()
    assert w2.doc.layers == layers
    assert w2.doc.prediction_for(w2.doc.layers[0]) is not None  # re-predicted on reopen
    w2.close()


def test_broken_file_gives_a_message(window, tmp_path, photo):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    missing = tmp_path / "missing.jpg"
    opened = window.open_paths([bad, missing, photo])
    assert len(opened) == 1 and window.doc.path == photo.resolve()
    assert "broken.jpg" in window.last_error and "missing.jpg" in window.last_error
    assert window.banner.isVisibleTo(window) and "Traceback" not in window.last_error


def test_prediction_error_is_readable(window, photo):
    _open_and_apply(window, photo, "brighter, explode")
    assert "the model ran out of ideas" in window.last_error
    assert "explode" in window.last_error
    assert "failed" in window.panel.layers.item(0).text()


def test_text_not_read_as_a_request_says_so_and_edits_nothing(window, photo):
    _open_and_apply(window, photo, "asdf qwerty")
    assert "could not read" in window.last_error and "brighter" in window.last_error


def test_open_folder_and_filmstrip(window, photos):
    opened = window.open_paths([photos[0].parent])
    assert len(opened) == 4 and window.filmstrip.count() == 4
    names = [window.filmstrip.item(i).text() for i in range(4)]
    assert names == sorted(p.name for p in photos)
    window.filmstrip.setCurrentRow(2)
    assert window.doc.path.name == names[2]
    assert window.settings.recent_files[0] == str((photos[0].parent / names[-1]).resolve())


def test_drop_files_opens_them(window, photos, qtbot):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in photos[:2]])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.filmstrip.count() == 2


def test_export_full_resolution_matches_preview(window, photo, tmp_path):
    _open_and_apply(window, photo)
    window.panel.spin.setValue(70)
    out_dir = tmp_path / "out"
    steps = []
    window.jobs.progress_changed.connect(lambda job, done, total, text: steps.append((done, total)))
    job = window.start_export(ExportOptions(fmt="png", dest_dir=str(out_dir)))
    assert window.jobs.wait_until_idle()
    done = [d for d, _ in steps]
    assert len(steps) >= 4 and done == sorted(done) and steps[-1][0] == steps[-1][1]
    assert job.state == "done" and not job.failures
    written = np.asarray(Image.open(job.written[0]).convert("RGB"))
    assert written.shape == (426, 640, 3)
    preview = window.canvas._buffers[0]
    assert written.shape[:2] == preview.shape[:2]  # this photo is smaller than the preview cap
    assert _diff(written, preview) < 1.0
    assert _diff(written, window.doc.pixels) > 5


def test_export_16bit_tiff_and_resize(window, photo, tmp_path):
    import tifffile

    _open_and_apply(window, photo)
    job = window.start_export(ExportOptions(fmt="tiff", bit_depth=16, long_edge=320, dest_dir=str(tmp_path)))
    window.jobs.wait_until_idle()
    data = tifffile.imread(job.written[0])
    assert data.dtype == np.uint16 and data.shape == (213, 320, 3)


def test_batch_export_with_failure_summary(window, photos, tmp_path, predictor):
    window.open_paths(photos[:2])
    window.apply_instruction("make it warm")
    window.worker.wait_until_idle()
    broken = tmp_path / "batch" / "zz_broken.jpg"
    broken.write_bytes(b"nope")
    paths = photos + [broken]
    job = window.start_batch_export(ExportOptions(fmt="jpg", dest_dir=str(tmp_path / "out")), paths)
    window.jobs.wait_until_idle()
    assert job.state == "done"
    assert len(job.written) == 4 and [f.path for f in job.failures] == [broken]
    assert "zz_broken.jpg" in window.panel.export_status.text()
    # each photo with its own edits: the edited one reuses its preview prediction, the photos
    # without edits are written unchanged (no prediction)
    assert len(predictor.calls) == 1


def test_batch_export_cancel(qtbot, photos, tmp_path, predictor):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    from retouch_studio.model.recipe import Recipe, save_recipe, sidecar_path

    for p in photos[1:]:  # saved edits on the photos that are not open: predicted by the job
        save_recipe(Recipe.single("make it warm"), sidecar_path(p))
    w = MainWindow(Settings(), loader=lambda m: predictor, synchronous=False, save_settings=False)
    qtbot.addWidget(w)
    w.open_paths(photos[:1])
    qtbot.waitUntil(lambda: w.doc is not None, timeout=10000)
    w.apply_instruction("make it warm")
    assert w.worker.wait_until_idle()
    predictor.gate = threading.Event()
    job = w.start_batch_export(ExportOptions(fmt="jpg", dest_dir=str(tmp_path / "out")), photos)
    qtbot.waitUntil(lambda: job.state == "running", timeout=5000)
    w.panel.cancel_button.click()
    predictor.gate.set()
    assert w.jobs.wait_until_idle(30)
    assert job.state == "cancelled" and len(job.written) < len(photos)
    assert "Cancelled" in w.panel.export_status.text()
    w.close()


def test_stale_results_are_dropped(qtbot, photo, predictor):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    w = MainWindow(Settings(), loader=lambda m: predictor, synchronous=False, save_settings=False)
    qtbot.addWidget(w)
    w.open_paths([photo])
    qtbot.waitUntil(lambda: w.doc is not None, timeout=20000)  # decoded in the background
    predictor.gate = threading.Event()
    busy = []
    w.worker.busy_changed.connect(busy.append)
    w.apply_instruction("make it warm")  # starts running, held at the gate
    qtbot.waitUntil(lambda: w.worker._running is not None, timeout=5000)
    w.apply_instruction("dark mood")  # retyped while pending: replaces the layer's instruction
    w.apply_instruction("dark and warm")  # replaces the queued request: never runs
    predictor.gate.set()
    assert w.worker.wait_until_idle(30)
    assert predictor.calls == ["make it warm", "dark and warm"]
    assert len(w.doc.layers) == 1 and w.doc.layers[0].instruction == "dark and warm"
    # the first result arrived after newer requests: dropped, not cached or shown
    assert list(k[1] for k in w.doc.predictions) == ["dark and warm"]
    assert busy[0] is True and busy[-1] is False
    w.close()


def test_worker_synchronous_switch_and_errors(qtbot):
    from retouch_studio.app.worker import ModelWorker, PredictRequest

    class Boom:
        def predict(self, proxy, instruction):
            raise ValueError("bad proxy size")

    w = ModelWorker(lambda m: Boom(), synchronous=True)
    got = []
    w.failed.connect(lambda req, msg: got.append(msg))
    w.submit(PredictRequest.make(np.zeros((4, 4, 3), np.float32), "x"))
    assert got == ["bad proxy size"] and not w.busy()


def test_real_shipped_model(qtbot, photo):
    """The default loader: whatever ``load_predictor()`` ships, end to end through the window."""
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow
    from retouch_studio.model.engines.loader import load_predictor

    w = MainWindow(Settings(), synchronous=True, save_settings=False)
    qtbot.addWidget(w)
    _open_and_apply(w, photo, "brighter and warmer")
    assert w.last_error == ""
    assert w.doc.prediction_for(w.doc.layers[0]) is not None
    assert type(w.worker.predictor("")) is type(load_predictor())
    assert w.canvas._buffers[0].shape == w.renderer.base.shape
    w.close()


def test_content_edit_instruction_is_refused_readably(window, photo, predictor):
    window.open_paths([photo])
    window.apply_instruction("remove the tree and add a dog")
    window.worker.wait_until_idle()
    assert window.last_error and "Traceback" not in window.last_error
    assert predictor.calls == []  # refused before the model runs
    assert "failed" in window.panel.layers.item(0).text()
    assert np.array_equal(window.canvas._buffers[0], window.renderer.base)


def test_open_raw_and_export(window, tmp_path, predictor):
    """A DNG opens (fast preview, then the full demosaic replaces it) and exports at full size."""
    from tests.dng import mosaic, srgb_decode, write_dng

    jpeg = np.asarray(Image.open(Path(__file__).resolve().parent.parent / "data" / "plasma_Grey.jpg").convert("RGB"))
    scene = srgb_decode(jpeg[:200, :300].astype(np.float64) / 255.0)
    raw = tmp_path / "scene.dng"
    write_dng(raw, mosaic(scene))
    window.open_paths([raw])
    assert window.last_error == "", window.last_error
    assert window.jobs.wait_until_idle(60)
    assert window.doc.size == (300, 200) and window.doc.pixels.shape == (200, 300, 3)
    window.apply_instruction("make it warm")
    window.worker.wait_until_idle()
    job = window.start_export(ExportOptions(fmt="png", bit_depth=16, dest_dir=str(tmp_path / "out")))
    window.jobs.wait_until_idle(60)
    assert job.state == "done" and not job.failures, job.summary()
    from retouch_studio.model.imaging import load_photo

    out = load_photo(job.written[0]).pixels
    assert out.dtype == np.uint16 and out.shape == (200, 300, 3)
    assert _diff((out >> 8).astype(np.uint8), window.canvas._buffers[0]) < 2.0


def test_switching_model_repredicts_with_the_new_one(qtbot, photo):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    from .conftest import CountingPredictor

    loaded = {}

    def loader(model_id):
        loaded.setdefault(model_id, CountingPredictor())
        return loaded[model_id]

    w = MainWindow(Settings(), loader=loader, synchronous=True, save_settings=False)
    qtbot.addWidget(w)
    _open_and_apply(w, photo)
    w.set_model("/models/paper")
    w.worker.wait_until_idle()
    assert set(loaded) == {"", "/models/paper"}
    assert loaded["/models/paper"].calls == ["make it warm"]
    assert w.doc.prediction_for(w.doc.layers[0]) is not None
    w.set_model("")  # back: the first model's prediction is still cached
    assert loaded[""].calls == ["make it warm"]
    w.close()


def test_missing_model_folder_is_a_readable_message(qtbot, photo, tmp_path):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    w = MainWindow(Settings(model_dir=str(tmp_path / "nope")), synchronous=True, save_settings=False)
    qtbot.addWidget(w)
    _open_and_apply(w, photo)
    assert "does not exist" in w.last_error and "nope" in w.last_error
    w.close()


def test_settings_dialog_stores_typed_values(qtbot):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.dialogs import ExportDialog, SettingsDialog

    s = Settings()
    d = SettingsDialog(s)
    qtbot.addWidget(d)
    d.model.setCurrentIndex(1)
    d.model_dir.setText("/models/paper")
    d.gpu.setChecked(True)
    d.strength.setValue(80)
    d.store(s)
    assert (s.model_dir, s.use_gpu, s.default_strength) == ("/models/paper", True, pytest.approx(0.8))
    e = ExportDialog(s)
    qtbot.addWidget(e)
    e.fmt.setCurrentText("jpg")
    assert not e.depth.isEnabled() and e.options().bit_depth == 8
    e.fmt.setCurrentText("tiff")
    e.depth.setCurrentText("16")
    e.long_edge.setValue(2000)
    o = e.options()
    assert (o.fmt, o.bit_depth, o.long_edge) == ("tiff", 16, 2000)


def test_zoomed_in_view_renders_full_resolution_detail(qtbot, photo, predictor):
    """At 100 % on a photo larger than the preview, the visible region is rendered from full-res pixels."""
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow
    from retouch_studio.model.pipeline import apply_prediction

    w = MainWindow(Settings(preview_long_edge=320), loader=lambda m: predictor, synchronous=True, save_settings=False)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    _open_and_apply(w, photo)
    assert w.renderer.base.shape[1] == 320
    w.canvas.set_zoom(1.0)
    w._update_detail()  # the debounce timer's slot; the full decode ran as a (synchronous) job
    assert w.detail_needed() and w.canvas.has_detail()
    x0, y0, x1, y1 = w.detail.box
    full = np.asarray(Image.open(photo).convert("RGB"))
    expected = apply_prediction(full, w.doc.prediction_for(w.doc.layers[0]))[y0:y1, x0:x1]
    got = w.canvas._detail_bufs[0]
    assert got.shape == expected.shape and _diff(got, expected) < 1.0
    w.panel.slider.setSliderDown(True)
    w.panel.slider.setValue(0)  # live slider re-blends the detail too
    assert np.array_equal(w.canvas._detail_bufs[0], full[y0:y1, x0:x1])
    w.panel.slider.setSliderDown(False)
    w.canvas.set_zoom(0.75)  # magnified preview but below 1:1: detail rendered at screen size
    w._update_detail()
    x0, y0, x1, y1 = w.detail.box
    assert w.canvas.has_detail()
    assert w.canvas._detail_bufs[0].shape[:2] == (round((y1 - y0) * 0.75), round((x1 - x0) * 0.75))
    w.canvas.set_zoom(0.4)  # 0.4 * 640 px on screen < 320 preview px: no detail needed
    w._update_detail()
    assert not w.detail_needed() and not w.canvas.has_detail()
    w.close()


def test_typing_in_the_instruction_box_does_not_trigger_shortcuts(window, photo, qtbot):
    window.open_paths([photo])
    window.panel.instruction.setFocus()
    text = "bring out yellow [a bit] \\ more"
    qtbot.keyClicks(window.panel.instruction, text)
    assert window.panel.instruction.text() == text
    assert not window.panel.brush_enabled.isChecked() and not window.panel.overlay.isChecked()
    assert not window.canvas.show_original and not window.canvas.split
    assert window.panel.brush_size.value() == window.settings.brush_size


def test_shortcuts_on_the_canvas(window, photo, qtbot):
    window.open_paths([photo])
    window.canvas.setFocus()
    size = window.panel.brush_size.value()
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.panel.brush_size.value() > size
    qtbot.keyClick(window.canvas, Qt.Key.Key_B)
    assert window.panel.brush_enabled.isChecked() and window.canvas.brush_mode
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y)
    assert window.canvas.split


def test_instruction_history_menu_and_suggestions(window, photo):
    window.open_paths([photo])
    window.apply_instruction("make it warm")
    window.apply_instruction("dark mood")
    window.worker.wait_until_idle()
    actions = window.panel.history_menu.actions()
    assert [a.text() for a in actions] == ["dark mood", "make it warm"]
    actions[1].trigger()
    assert window.panel.instruction.text() == "make it warm"
    window.panel.suggestions.linkActivated.emit("brighten the shadows")
    assert window.panel.instruction.text() == "brighten the shadows"


def test_opening_a_folder_decodes_in_the_background(qtbot, photos, tmp_path, predictor):
    from retouch_studio.app.settings import Settings
    from retouch_studio.app.ui.main_window import MainWindow

    broken = photos[0].parent / "zz_broken.jpg"
    broken.write_bytes(b"garbage")
    w = MainWindow(Settings(), loader=lambda m: predictor, synchronous=False, save_settings=False)
    qtbot.addWidget(w)
    opened = w.open_paths([photos[0].parent])
    assert opened == [] and w.doc is None  # nothing decoded on the GUI thread
    qtbot.waitUntil(lambda: w.doc is not None, timeout=20000)  # the first one shown as it arrives
    assert w.doc.path.name == photos[0].name
    assert w.jobs.wait_until_idle(60)
    assert w.filmstrip.count() == 4 and len(w.documents) == 4
    assert "zz_broken.jpg" in w.last_error
    w.close()


def test_auto_layer(window, photo, predictor):
    from retouch_studio.app.ui.export import load_sidecar

    window.open_paths([photo])
    window.panel.auto_button.click()
    window.worker.wait_until_idle()
    layer = window.doc.layers[0]
    assert layer.kind == "auto" and layer.instruction == "" and predictor.calls == [""]
    assert "Auto" in window.panel.layers.item(0).text()
    assert _diff(window.canvas._buffers[0], window.renderer.base) > 5
    layers, _ = load_sidecar(photo)
    assert layers[0].kind == "auto"


def test_follow_edges_checkbox_tracks_the_selected_layer(window, photo):
    _open_and_apply(window, photo, "make it warm")
    window.panel.edge_aware.setChecked(False)
    window.apply_instruction("dark mood", new_layer=True)
    window.worker.wait_until_idle()
    assert window.doc.layers[0].edge_aware is False and window.doc.layers[1].edge_aware is False
    window.panel.edge_aware.setChecked(True)  # edits the selected (top) layer only
    assert window.doc.layers[1].edge_aware and not window.doc.layers[0].edge_aware
    window.panel.layers.setCurrentRow(1)  # bottom layer
    assert not window.panel.edge_aware.isChecked()
    window.undo()
    assert not window.doc.layers[1].edge_aware


def test_retouch_studio_entry_point_opens_files(qtbot, photo, monkeypatch):
    """``retouch-studio FILE`` (app.gui:main) starts, opens the file, and returns the exit code."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from retouch_studio.app import gui

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    seen = {}

    app = QApplication.instance()

    def windows():
        return [w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible()]

    started = __import__("time").monotonic()

    def check_and_quit():
        seen["docs"] = [d.path.name for w in windows() for d in w.documents.values()]
        if seen["docs"] or __import__("time").monotonic() - started > 30:
            app.exit(0)
        else:
            QTimer.singleShot(100, check_and_quit)  # the photo is decoded in the background

    QTimer.singleShot(200, check_and_quit)
    assert gui.main([str(photo)]) == 0
    assert seen["docs"] == [photo.name]
    # Close without a second (queued) quit reaching the next test's event loops.
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    for w in windows():
        w.close()
        w.deleteLater()
    app.processEvents()
    app.setQuitOnLastWindowClosed(quit_on_close)


def test_opening_several_selects_only_the_first(window, photos):
    window.open_paths(photos)
    assert window.doc.path == photos[0].resolve()
    selected = [i.text() for i in window.filmstrip.selectedItems()]
    assert selected == [photos[0].name]


def test_slider_on_a_lower_layer_coalesces_frames(window, photo, predictor, qtbot):
    _open_and_apply(window, photo, "make it warm")
    window.apply_instruction("dark mood", new_layer=True)
    window.worker.wait_until_idle()
    # Pending layout events can start the full-resolution load, whose arrival redraws: let both
    # happen before counting.
    qtbot.wait(100)
    assert window.jobs.wait_until_idle()
    window.panel.layers.setCurrentRow(1)  # the bottom layer, below "dark mood"
    assert window.doc.current == 0
    slices = window.renderer.slices
    window.panel.slider.setSliderDown(True)
    for v in (10, 20, 30, 40, 50):
        window.panel.slider.setValue(v)
    qtbot.waitUntil(lambda: not window._slider_timer.isActive(), timeout=2000)
    # five slider events, one redraw: the layer above re-sliced once, not five times (at half
    # size while the slider is held)
    assert window._draft_renderer().slices == 2 and window.renderer.slices == slices
    window.panel.slider.setSliderDown(False)
    assert window.doc.layers[0].strength == pytest.approx(0.5)
    assert predictor.calls == ["make it warm", "dark mood"]
