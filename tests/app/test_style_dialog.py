"""The app's "Learn Style from Folders…" dialog (progress, cancel) and the Styles menu."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.style_exports import write_export_pairs

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def style_config(tmp_path, monkeypatch):
    monkeypatch.setenv("RETOUCH_CONFIG_DIR", str(tmp_path / "userconfig"))
    return tmp_path / "userconfig"


@pytest.fixture
def pair_folders(tmp_path):
    write_export_pairs(sorted(DATA.glob("*.jpg"))[:6], tmp_path / "originals", tmp_path / "exports", edge=192)
    return tmp_path / "originals", tmp_path / "exports"


def _dialog(qtbot, pair_folders, name="wedding"):
    from retouch_studio.app.ui.style_dialog import LearnStyleDialog

    dialog = LearnStyleDialog()
    qtbot.addWidget(dialog)
    dialog.before_edit.setText(str(pair_folders[0]))
    dialog.after_edit.setText(str(pair_folders[1]))
    dialog.name_edit.setText(name)
    dialog.minutes.setValue(0.25)
    dialog.show()
    return dialog


def test_learn_style_dialog_learns_with_progress(qtbot, style_config, pair_folders, tmp_path):
    from retouch_studio.model.style.store import list_styles

    dialog = _dialog(qtbot, pair_folders)
    seen = []
    dialog.learn_button.click()
    dialog.job.progress_changed.connect(lambda f, m: seen.append(f))
    assert dialog.cancel_button.text() == "Cancel"
    qtbot.waitUntil(lambda: not dialog.running() and dialog.learn_button.isEnabled(), timeout=300_000)
    assert "Learned “wedding”" in dialog.status.toPlainText(), dialog.status.toPlainText()
    assert dialog.progress.value() == 1000 and seen
    assert list_styles() == ["wedding"]
    dialog.grab().save(str(tmp_path / "learn_style_dialog.png"))


def test_learn_style_dialog_cancel_saves_nothing(qtbot, style_config, pair_folders):
    from retouch_studio.model.style.store import list_styles

    dialog = _dialog(qtbot, pair_folders)
    dialog.learn_button.click()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running() and dialog.learn_button.isEnabled(), timeout=120_000)
    assert "Cancelled" in dialog.status.toPlainText()
    assert list_styles() == []


def test_learn_style_dialog_bad_input(qtbot, style_config, pair_folders, tmp_path):
    dialog = _dialog(qtbot, (tmp_path / "missing", pair_folders[1]), name="a,b")
    dialog.learn_button.click()
    assert "invalid style name" in dialog.status.toPlainText() and dialog.job is None
    dialog.name_edit.setText("ok")
    dialog.learn_button.click()
    assert "not a folder" in dialog.status.toPlainText() and dialog.job is None


def test_styles_menu_applies_a_style_as_a_layer(window, photo, style_config):
    import shutil

    folder = style_config / "styles" / "wedding"
    folder.mkdir(parents=True)
    (folder / "style.json").write_text("{}")  # listed by name; the counting predictor serves it
    window.open_paths([photo])
    window.style_menu.aboutToShow.emit()
    titles = [a.text() for a in window.style_menu.actions()]
    assert titles[0].startswith("&Learn Style from Folders") and "Apply “wedding”" in titles
    next(a for a in window.style_menu.actions() if a.text() == "Apply “wedding”").trigger()
    assert window.worker.wait_until_idle()
    assert window.doc.layers[-1].instruction == "style: wedding"
    shutil.rmtree(folder)
