"""The Retouch Studio main window: filmstrip, canvas, side panel; owns documents and workers."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, QPointF, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QApplication,
    QComboBox,
    QInputDialog,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from retouch_studio.app.settings import Settings
from retouch_studio.app.worker import Job, JobQueue, ModelWorker, PredictRequest, readable_error

from retouch_studio.app.ui.canvas import Canvas
from retouch_studio.app.ui.detail import DetailView
from retouch_studio.app.ui.develop_panel import LiveParams
from retouch_studio.app.ui.dialogs import ExportDialog, SettingsDialog, ask_existing
from retouch_studio.app.ui.document import Document, LayerState, StrokeData, to_recipe
from retouch_studio.app.ui.export import (
    ExportItem,
    ExportJob,
    ExportOptions,
    load_sidecar,
    load_sidecar_extras,
    save_sidecar,
)
from retouch_studio.app.ui.histogram import clipping_overlay, clipping_warning
from retouch_studio.app.ui.keys import HoldKey
from retouch_studio.app.ui.library import FILTERS, Library
from retouch_studio.app.ui.panel import SidePanel
from retouch_studio.app.ui.photo_edits import CopiedEdits, copy_edits, describe_batch, pasted_layers, plan_batch
from retouch_studio.app.ui.preview import PreviewRenderer
from retouch_studio.app.ui.regions import add_select_menu, apply_region_words
from retouch_studio.app.ui.stroke_preview import StrokePreview
from retouch_studio.app.ui.warmup import warm_up

log = logging.getLogger(__name__)

PHOTO_EXTENSIONS = {
    ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp",
    ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw",
}
RAW_EXTENSIONS = {".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"}


def expand_paths(paths) -> list[Path]:
    """Files as given, folders expanded to the photos directly inside them (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(c for c in p.iterdir() if c.suffix.lower() in PHOTO_EXTENSIONS and c.is_file()))
        else:
            out.append(p)
    return out


def load_preview_photo(path: Path, long_edge: int):
    """The photo at screen size (``model.imaging.load_preview``: JPEG DCT scaling, RAW thumbnail)."""
    from retouch_studio.model.imaging import load_preview

    return load_preview(path, long_edge)


class _OpenJob(Job):
    """Decode one photo at screen size in the background (opening many photos at once)."""

    def __init__(self, path: Path, long_edge: int):
        super().__init__(f"Opening {path.name}")
        self.path = path
        self.long_edge = long_edge

    def run(self, progress):
        return load_preview_photo(self.path, self.long_edge)


class _FullLoadJob(Job):
    """Decode the full-resolution photo off the GUI thread.

    Used for the zoomed-in detail view, and for RAW files, whose embedded camera preview is
    rendered differently from the LibRaw decode that export uses: the preview is remade from
    the full decode so it matches the export. ``result`` = (full uint8, preview uint8).
    """

    def __init__(self, doc: Document, long_edge: int):
        super().__init__(f"Decoding {doc.path.name}")
        self.doc = doc
        self.long_edge = long_edge

    def run(self, progress):
        from retouch_studio.model.imaging import load_photo, make_preview

        pixels = load_photo(self.doc.path).pixels
        full = pixels if pixels.dtype == np.uint8 else (pixels >> 8).astype(np.uint8)
        return np.ascontiguousarray(full), make_preview(pixels, self.long_edge)


def _new_layer_id() -> str:
    from retouch_studio.app.ui.document import _new_id

    return _new_id()


def open_error_text(exc: BaseException) -> str:
    """Why a photo did not open, in the app's words (no programming-interface hints)."""
    from retouch_studio.model.imaging import TooLargeError

    if isinstance(exc, TooLargeError):
        reason = exc.reason.split(" (")[0]
        return (f"{Path(exc.path).name}: {reason}. Photos this large are refused as a guard against "
                "decompression bombs; export a smaller copy from your raw converter.")
    return readable_error(exc)


def downscale_u8(pixels: np.ndarray, long_edge: int) -> np.ndarray:
    """uint8 copy with long edge <= ``long_edge`` (antialiased)."""
    u8 = pixels if pixels.dtype == np.uint8 else (pixels >> 8).astype(np.uint8)
    h, w = u8.shape[:2]
    s = min(1.0, long_edge / max(h, w))
    if s >= 1.0:
        return np.ascontiguousarray(u8)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(u8).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))


def _thumbnail_icon(pixels_u8: np.ndarray) -> QIcon:
    small = downscale_u8(pixels_u8, 160)
    h, w = small.shape[:2]
    img = QImage(small.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QIcon(QPixmap.fromImage(img))


class _ParamsJob(Job):
    """What a layer's words set, as parameter values (``model.engines.retoucher.params_for``)."""

    def __init__(self, doc: Document, layer: LayerState, key: tuple, proxy: np.ndarray):
        super().__init__(f"Reading “{layer.instruction}”")
        self.doc, self.layer, self.key, self.proxy = doc, layer, key, proxy

    def run(self, progress):
        from retouch_studio.model.engines.retoucher import params_for
        from retouch_studio.model.engines.router import route

        params, _items = params_for(route(self.layer.instruction), self.proxy)
        return params


class MainWindow(QMainWindow):
    """``loader(model_id) -> Predictor`` loads a model (default: ``model.runtime.load_predictor``)."""

    preview_changed = Signal()
    message_shown = Signal(str)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        loader: Callable[[str], object] | None = None,
        synchronous: bool | None = None,
        save_settings: bool = True,
    ):
        super().__init__()
        self.settings = settings if settings is not None else Settings.load()
        self._save_settings_enabled = save_settings
        self.setWindowTitle("Retouch Studio")
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.worker = ModelWorker(loader or _default_loader, checker=_default_checker,
                                  synchronous=synchronous, parent=self)
        self.jobs = JobQueue(synchronous=synchronous, parent=self)
        self.documents: dict[Path, Document] = {}
        self.doc: Document | None = None
        self.renderer: PreviewRenderer | None = None
        self._renderers: dict[Path, PreviewRenderer] = {}
        self._inflight: dict[tuple, str] = {}  # request key -> instruction
        self._stroke: list[tuple[float, float]] | None = None
        self._current_job: ExportJob | None = None
        self._copied: CopiedEdits | None = None
        self.last_message = ""
        self.last_error = ""
        self.detail: DetailView | None = None
        self._full: tuple[Document, np.ndarray] | None = None  # full-res uint8 of the current photo
        self._full_loading: set[Path] = set()
        self._opening: set[Path] = set()
        self._detail_timer = QTimer(self, singleShot=True, interval=60, timeout=self._update_detail)
        self._live_stroke: StrokePreview | None = None
        self.live_params = LiveParams(synchronous=self.worker.synchronous, parent=self)
        self._develop_params: dict[tuple, tuple[dict, str]] = {}  # (layer id, text, model) -> (params, source)
        self._live_grid: tuple[dict, object] | None = None  # the newest (params, Prediction) drawn live
        self._show_next_opened = False
        self._open_errors: list[str] = []
        self.stroke_times: list[float] = []
        self._draft: tuple[PreviewRenderer, PreviewRenderer] | None = None  # (renderer, its half-size twin)
        self._resize_timer = QTimer(self, singleShot=True, interval=250, timeout=self._fit_renderer_to_view)
        self._live_strength: float | None = None
        self._slider_timer = QTimer(self, singleShot=True, interval=0, timeout=self._draw_live_strength)
        self.frame_times: list[float] = []

        # Widgets ----------------------------------------------------------------------------
        self.canvas = Canvas()
        self.panel = SidePanel()
        self.filmstrip = QListWidget()
        self.filmstrip.setViewMode(QListView.ViewMode.IconMode)
        self.filmstrip.setFlow(QListView.Flow.LeftToRight)
        self.filmstrip.setWrapping(False)
        self.filmstrip.setIconSize(QSize(120, 80))
        self.filmstrip.setGridSize(QSize(136, 112))
        self.filmstrip.setUniformItemSizes(True)
        self.filmstrip.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.filmstrip.setFixedHeight(128)
        self.filmstrip.setMovement(QListView.Movement.Static)
        self.filmstrip.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.filmstrip.setToolTip("Opened photos; Ctrl/Shift-click to select several for batch export")
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setStyleSheet("background:#5c2b29; color:#fde0dc; padding:6px; border-radius:3px;")
        self._banner_timer = QTimer(self, singleShot=True, interval=8000, timeout=lambda: self.banner.setVisible(False))

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.setSpacing(2)
        lv.addWidget(self.banner)
        lv.addWidget(self.canvas, 1)
        row = QHBoxLayout()
        self.filter = QComboBox()
        self.filter.addItems(list(FILTERS))
        self.filter.setToolTip("Show only some photos: flag with P (pick), X (reject), U (none); rate with 0-5")
        self.filter.currentTextChanged.connect(lambda _t: self._apply_filter())
        row.addWidget(QLabel("Filmstrip:"))
        row.addWidget(self.filter)
        row.addStretch(1)
        lv.addLayout(row)
        lv.addWidget(self.filmstrip)
        splitter = QSplitter()
        splitter.addWidget(left)
        side = QScrollArea()
        side.setWidget(self.panel)
        side.setWidgetResizable(True)
        side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.setMinimumWidth(self.panel.minimumWidth() + 16)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([1000, 360])
        central = QWidget()
        cl = QHBoxLayout(central)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(splitter)
        self.setCentralWidget(central)
        self.zoom_label = QLabel("")
        self.statusBar().addPermanentWidget(self.zoom_label)

        self._build_menus()
        self._connect()
        self.panel.set_history(self.settings.instruction_history)
        self.panel.set_brush(self.settings.brush_size, self.settings.brush_feather, self.settings.brush_flow, self.settings.edge_aware)
        self.canvas.brush_size = self.settings.brush_size
        self._refresh()
        self.worker.preload(self.settings.model_dir)
        if not self.worker.synchronous:
            warm_up()

    # ------------------------------------------------------------------ setup

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open, triggered=self.open_dialog)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        self.export_action = QAction("&Export…", self, shortcut=QKeySequence("Ctrl+E"), triggered=self.export_dialog)
        self.batch_action = QAction("&Batch export…", self, shortcut=QKeySequence("Ctrl+Shift+E"), triggered=self.batch_dialog)
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.batch_action)
        file_menu.addSeparator()
        file_menu.addAction(QAction("&Settings…", self, triggered=self.settings_dialog))
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close))
        edit = bar.addMenu("&Edit")
        self.undo_action = QAction("&Undo", self, shortcut=QKeySequence("Ctrl+Z"), triggered=self.undo)
        self.redo_action = QAction("&Redo", self, triggered=self.redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        self.copy_edits_action = QAction("&Copy edits", self, shortcut=QKeySequence("Ctrl+Shift+C"), triggered=self.copy_edits)
        self.paste_edits_action = QAction("&Paste edits", self, shortcut=QKeySequence("Ctrl+Shift+V"), triggered=self.paste_edits)
        self.sync_edits_action = QAction("&Sync edits to selected", self, shortcut=QKeySequence("Ctrl+Shift+S"),
                                         triggered=self.sync_edits)
        for action in (self.copy_edits_action, self.paste_edits_action, self.sync_edits_action):
            edit.addAction(action)
        view = bar.addMenu("&View")
        view.addAction(QAction("&Fit", self, shortcut=QKeySequence("Ctrl+0"), triggered=self.canvas.fit))
        view.addAction(QAction("&100 %", self, shortcut=QKeySequence("Ctrl+1"), triggered=self.canvas.actual_size))
        # Held, not toggled (as in Lightroom): the key is watched by an application event filter.
        self.original_action = QAction("Show &original (hold \\)", self, checkable=True)
        self.original_action.toggled.connect(self.canvas.set_show_original)
        view.addAction(self.original_action)
        self._hold_original = HoldKey(Qt.Key.Key_Backslash, self.original_action.setChecked, self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._hold_original)
        self.split_action = QAction("&Before / after", self, shortcut=QKeySequence("Y"), checkable=True)
        self.split_action.toggled.connect(self.panel.compare.setChecked)
        view.addAction(self.split_action)
        add_select_menu(self)
        from retouch_studio.app.ui.style_dialog import install_style_menu

        install_style_menu(self)
        for key, slot in (("[", lambda: self._scale_brush(1 / 1.2)), ("]", lambda: self._scale_brush(1.2)),
                          ("B", self.panel.brush_enabled.toggle), ("O", self.panel.overlay.toggle),
                          ("J", self.toggle_clipping), ("P", lambda: self.set_flag("pick")),
                          ("X", lambda: self.set_flag("reject")), ("U", lambda: self.set_flag(""))):
            QShortcut(QKeySequence(key), self, activated=slot)

        for stars in range(6):
            QShortcut(QKeySequence(str(stars)), self, activated=lambda n=stars: self.set_rating(n))
        library = bar.addMenu("&Photo")
        self.snapshot_action = QAction("Take &snapshot…", self, shortcut=QKeySequence("Ctrl+Shift+N"),
                                       triggered=lambda: self.take_snapshot())
        library.addAction(self.snapshot_action)
        self.snapshots_menu = library.addMenu("&Restore snapshot")
        self.snapshots_menu.aboutToShow.connect(self._fill_snapshots)
        library.addSeparator()
        self.presets_menu = library.addMenu("Apply &preset")
        self.presets_menu.aboutToShow.connect(self._fill_presets)
        library.addAction(QAction("Save layer as preset…", self, triggered=lambda: self.save_preset()))

    def _connect(self) -> None:
        w, p, c = self.worker, self.panel, self.canvas
        w.result_ready.connect(self._on_prediction)
        w.failed.connect(self._on_prediction_failed)
        w.busy_changed.connect(self._on_busy)
        self.jobs.progress_changed.connect(self._on_job_progress)
        self.jobs.job_finished.connect(self._on_job_finished)
        p.instruction_submitted.connect(self.apply_instruction)
        p.instruction_stacked.connect(lambda text: self.apply_instruction(text, new_layer=True))
        p.typing_finished.connect(self.canvas.setFocus)
        p.auto_requested.connect(self.apply_auto)
        p.strength_changed.connect(self.preview_strength)
        p.strength_committed.connect(self.commit_strength)
        p.layer_selected.connect(self._on_layer_selected)
        p.layer_visibility_changed.connect(lambda i, v: self._edit(lambda d: d.set_visible(i, v)))
        p.layer_move_requested.connect(lambda a, b: self._edit(lambda d: d.move_layer(a, b)))
        p.layer_delete_requested.connect(lambda i: self._edit(lambda d: d.delete_layer(i)))
        p.brush_enabled_changed.connect(self._on_brush_enabled)
        p.brush_settings_changed.connect(self._on_brush_settings)
        p.overlay_changed.connect(lambda _on: self._update_overlay())
        p.clear_mask_requested.connect(self._clear_mask)
        p.compare_changed.connect(self._on_compare)
        p.export_requested.connect(self.export_dialog)
        p.batch_export_requested.connect(self.batch_dialog)
        p.cancel_requested.connect(self.cancel_export)
        p.develop.params_moved.connect(self.preview_params)
        p.develop.params_committed.connect(self.commit_params)
        self.live_params.ready.connect(self._on_live_params)
        c.stroke_started.connect(self._on_stroke_started)
        c.stroke_moved.connect(self._on_stroke_moved)
        c.stroke_finished.connect(self._on_stroke_finished)
        c.zoom_changed.connect(lambda z: self._update_status())
        c.view_changed.connect(self._detail_timer.start)
        c.view_changed.connect(self._resize_timer.start)
        c.brush_size_changed.connect(self._set_brush_size)
        self.filmstrip.currentItemChanged.connect(self._on_filmstrip_current)

    # ------------------------------------------------------------------ messages

    def show_message(self, text: str, error: bool = False) -> None:
        """Readable feedback: status bar always, the red banner for errors."""
        self.last_message = text
        self.statusBar().showMessage(text, 10000)
        if error:
            self.last_error = text
            if self.banner.isVisible() and self._banner_timer.isActive() and text not in self.banner.text():
                text = self.banner.text() + "\n" + text  # several failures in a row: keep them all
            self.banner.setText(text)
            self.banner.setVisible(True)
            self._banner_timer.start()
            self.panel.set_status(text, error=True)
        self.message_shown.emit(text)

    # ------------------------------------------------------------------ opening photos

    def open_dialog(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(PHOTO_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos", "", f"Photos ({exts});;All files (*)")
        if files:
            self.open_paths(files)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self.recent_menu.addAction(path, lambda p=path: self.open_paths([p]))
        if not self.settings.recent_files:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def open_paths(self, paths) -> list[Document]:
        """Open photos (folders expand to their photos); each failure becomes a message.

        Every photo is decoded (at screen size) by a background job, so the window never waits
        for a decoder; the first one that opens is shown, the others join the filmstrip as they
        arrive. With ``synchronous`` jobs (tests) they are all open when this returns. Returns
        the documents open once this returns.
        """
        targets = [p.resolve() if p.exists() else p for p in expand_paths(paths)]
        show: Path | None = None
        queued = []
        for path in targets:
            if path in self.documents or path in self._opening:
                show = show or (path if path in self.documents else None)
                continue
            queued.append(path)
        self._open_errors = []
        if show is not None:
            self._select_document(show)
        elif queued:
            self._show_next_opened = True
            self.panel.set_busy(True, f"Opening {queued[0].name}…" + (f" (+{len(queued) - 1})" if len(queued) > 1 else ""))
        for path in queued:
            self._opening.add(path)
            self.jobs.submit(_OpenJob(path, self.settings.preview_long_edge))
        if show is not None or queued:
            self._save_settings()
        return [self.documents[p] for p in targets if p in self.documents]

    def _on_opened(self, job: "_OpenJob") -> None:
        self._opening.discard(job.path)
        if not self._opening:
            self.panel.set_busy(False)
        if job.state != Job.DONE:
            # One message for the photos of one open that failed.
            self._open_errors.append(open_error_text(job.exception) if job.exception else str(job.error))
            self.show_message("Could not open: " + " | ".join(self._open_errors), error=True)
            return
        if job.path not in self.documents:
            self._add_document(job.path, job.result)
            if self.doc is None or self._show_next_opened:
                self._show_next_opened = False
                self._select_document(job.path)

    def _add_document(self, path: Path, photo) -> Document:
        base = np.ascontiguousarray(photo.pixels)
        size = tuple(photo.info.get("size") or (base.shape[1], base.shape[0]))
        doc = Document(path, base, size=size, model_id=self.settings.model_dir, photo=photo)
        try:
            restored = load_sidecar(path)
        except Exception as exc:  # noqa: BLE001 - an unusable sidecar must not block the photo
            self.show_message(f"Ignoring the saved edits: {readable_error(exc)}", error=True)
            restored = None
        if restored:
            layers, model_id = restored
            doc.layers, doc.current = layers, len(layers) - 1
            if model_id != self.settings.model_dir:
                self.show_message(f"{path.name}: edits were made with model '{model_id or 'default'}'; "
                                  "re-predicting with the current model")
        self.documents[path] = doc
        self._renderers[path] = self._make_renderer(doc)
        doc.library = Library.from_extras(load_sidecar_extras(path))
        item = QListWidgetItem(_thumbnail_icon(base), path.name)
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        item.setToolTip(f"{path}\n{doc.size[0]} × {doc.size[1]}")
        self.filmstrip.addItem(item)
        self._show_library(doc)
        self.settings.add_recent(path)
        if path.suffix.lower() in RAW_EXTENSIONS:
            self._load_full(doc)
        return doc

    def _select_document(self, path: Path) -> None:
        for i in range(self.filmstrip.count()):
            item = self.filmstrip.item(i)
            if Path(item.data(Qt.ItemDataRole.UserRole)) == path:
                self.filmstrip.setCurrentItem(item, QItemSelectionModel.SelectionFlag.ClearAndSelect)
                break
        self._show_document(path)

    def _on_filmstrip_current(self, item, _previous) -> None:
        if item is not None:
            self._show_document(Path(item.data(Qt.ItemDataRole.UserRole)))

    def _show_document(self, path: Path) -> None:
        if self.doc is not None and self.doc.path == path:
            return
        self.doc = self.documents[path]
        if self._screen_edge(self.doc) != max(self._renderers[path].base.shape[:2]):
            self._renderers[path] = self._make_renderer(self.doc)  # the window changed size since
        self.renderer = self._renderers[path]
        self.detail, self._full = None, None  # one full-resolution photo in memory at a time
        self.canvas.clear_detail()
        self.canvas.fit_mode = True
        self._refresh()

    # ------------------------------------------------------------------ screen-size rendering

    def _screen_edge(self, doc: Document) -> int:
        """Long edge, in device pixels, of ``doc`` fitted into the canvas (never above its preview).

        Previews are rendered at this size, so every slider frame and brush move costs what the
        screen shows, not what the photo holds; zooming past it shows the full-resolution detail.
        """
        w, h = doc.size
        dpr = self.canvas.devicePixelRatioF()
        cw, ch = max(self.canvas.width(), 320) * dpr, max(self.canvas.height(), 240) * dpr
        fit = min(cw / w, ch / h) * max(w, h)
        # Steps of 128 px so small resizes keep the caches; at least 768 px (the model's proxy).
        edge = max(768, int(-(-fit // 128) * 128))
        return min(edge, max(doc.pixels.shape[:2]))

    def _make_renderer(self, doc: Document) -> PreviewRenderer:
        return PreviewRenderer(downscale_u8(doc.pixels, self._screen_edge(doc)), doc.size)

    def _fit_renderer_to_view(self) -> None:
        doc = self.doc
        if doc is None or self.renderer is None or self._stroke is not None:
            return
        if self._screen_edge(doc) != max(self.renderer.base.shape[:2]):
            self._renderers[doc.path] = self.renderer = self._make_renderer(doc)
            self.detail = None
            self._refresh()
            self._update_detail()

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_paths(paths)
            event.acceptProposedAction()

    # ------------------------------------------------------------------ instructions

    def apply_instruction(self, text: str, new_layer: bool = False) -> LayerState | None:
        """Enter in the instruction box: the selected instruction layer takes the new words
        (keeping its strength and mask; one undo step); with no such layer, or ``new_layer``
        (Ctrl+Enter, "New layer"), the words become a new layer on top."""
        text = text.strip()
        if not text:
            return None
        if self.doc is None:
            self.show_message("Open a photo first (Ctrl+O or drop files on the window).", error=True)
            return None
        doc = self.doc
        layer = doc.current_layer()
        region_layer = apply_region_words(self, text, new_layer)  # "brighten the faces", or a fresh selection
        if region_layer is not None:
            layer = region_layer
        elif not new_layer and layer is not None and layer.kind == "instruction":
            if layer.instruction == text:
                return layer
            layer = doc.replace_layer(doc.current, f"Instruction “{text}”", instruction=text)
        else:
            layer = doc.add_layer(text, self.settings.default_strength, edge_aware=self.settings.edge_aware)
        self.settings.add_instruction(text)
        self.panel.set_history(self.settings.instruction_history)
        self._after_edit()
        return layer

    def apply_auto(self) -> LayerState | None:
        """An auto layer: the engine picks the correction from the photo (empty instruction)."""
        if self.doc is None:
            self.show_message("Open a photo first (Ctrl+O or drop files on the window).", error=True)
            return None
        layer = self.doc.add_layer("", self.settings.default_strength, edge_aware=self.settings.edge_aware)
        self._after_edit()
        return layer

    def _layer_key(self, doc: Document, layer: LayerState) -> tuple:
        return (str(doc.path), layer.id)

    def _request_missing(self, doc: Document) -> None:
        """Request predictions for layers that have none, bottom-up.

        A layer's proxy is the preview of the layers below it (as ``render_recipe`` predicts from
        the image as it stands before the layer), so a layer waits until those are predicted.
        """
        renderer = self._renderers[doc.path]
        for index, layer in enumerate(doc.layers):
            if not layer.visible or doc.prediction_for(layer) is not None:
                continue
            if layer.id in doc.errors and doc.errors[layer.id] == layer.instruction:
                continue  # failed before with this instruction; the user must retype or undo
            key = self._layer_key(doc, layer)
            if self._inflight.get(key) == layer.instruction:
                return
            below = doc.layers[:index]
            if any(b.visible and doc.prediction_for(b) is None for b in below):
                return
            from retouch_studio.model.imaging import make_proxy

            source = renderer.render(doc.layers, [doc.prediction_for(b) for b in doc.layers], upto=index)
            request = PredictRequest.make(make_proxy(source, 512), layer.instruction, doc.model_id, key)
            self._inflight[key] = layer.instruction
            self.worker.submit(request)
            return

    def _on_prediction(self, request: PredictRequest, prediction) -> None:
        doc_path, layer_id = request.key
        self._inflight.pop(request.key, None)
        doc = self.documents.get(Path(doc_path))
        if doc is None:
            return
        doc.predictions[(layer_id, request.instruction, request.model_id)] = prediction
        doc.errors.pop(layer_id, None)
        if doc is self.doc:
            self._refresh()
            self.panel.set_status(f"Applied “{request.instruction}”" if request.instruction else "Applied auto")
        self._request_missing(doc)
        if doc is not self.doc and not self._waiting(doc):
            # Edits synced or restored on another photo: its thumbnail shows them.
            renderer = self._renderers[doc.path]
            self._set_thumbnail(doc, renderer.render(doc.layers, [doc.prediction_for(x) for x in doc.layers]))

    def _waiting(self, doc: Document) -> bool:
        return any(x.visible and doc.prediction_for(x) is None and doc.errors.get(x.id) != x.instruction for x in doc.layers)

    def _on_prediction_failed(self, request: PredictRequest, message: str) -> None:
        doc_path, layer_id = request.key
        self._inflight.pop(request.key, None)
        doc = self.documents.get(Path(doc_path))
        if doc is not None:
            doc.errors[layer_id] = request.instruction
            self._save_sidecar(doc)
        self.show_message(f"Could not apply “{request.instruction}”: {message}", error=True)
        if doc is self.doc:
            self._refresh()

    def _on_busy(self, busy: bool) -> None:
        self.panel.set_busy(busy, "Predicting…" if busy else "")
        self.panel.apply_button.setText("Working…" if busy else "Apply")

    # ------------------------------------------------------------------ edits

    def _edit(self, change: Callable[[Document], None]) -> None:
        if self.doc is None:
            return
        change(self.doc)
        self._after_edit()

    def _after_edit(self) -> None:
        if self.doc is None:
            return
        self._save_sidecar(self.doc)
        self._refresh()

    def _save_sidecar(self, doc: Document) -> None:
        # A layer the engine refused stays on screen (marked failed) but is not saved: it would
        # only bring the error back on every reopen.
        layers = doc.kept_layers()
        try:
            save_sidecar(doc.path, layers, doc.model_id, doc.size, doc.library.extras() if doc.library else None)
            doc.dirty = False
        except OSError as exc:
            self.show_message(f"Could not save the edits next to {doc.path.name}: {readable_error(exc)}", error=True)

    def undo(self) -> None:
        if self.doc is not None and self.doc.undo():
            self._after_edit()
            self.show_message("Undo")

    def redo(self) -> None:
        if self.doc is not None and self.doc.redo():
            self._after_edit()
            self.show_message("Redo")

    def _on_layer_selected(self, index: int) -> None:
        if self.doc is not None and index != self.doc.current:
            self.doc.select(index)
            self._refresh(render=False)

    # ------------------------------------------------------------------ strength

    def preview_strength(self, strength: float) -> None:
        """Live slider: re-blend cached previews only (no prediction, no history entry).

        On the top visible layer a frame is one re-blend and is drawn at once; below other
        layers (which then re-slice) frames are coalesced to one per event-loop pass so the
        slider never lags behind the hand.
        """
        doc = self.doc
        if doc is None or doc.current_layer() is None:
            return
        self._live_strength = strength
        above = [x for x in doc.layers[doc.current + 1 :] if x.visible and doc.prediction_for(x) is not None]
        if above:
            if not self._slider_timer.isActive():
                self._slider_timer.start()
            return
        self._draw_live_strength()

    def _draw_live_strength(self) -> None:
        doc = self.doc
        if doc is None or doc.current_layer() is None or self._live_strength is None:
            return
        t0 = time.perf_counter()
        layers = list(doc.layers)
        layers[doc.current] = replace(layers[doc.current], strength=self._live_strength)
        predictions = [doc.prediction_for(x) for x in doc.layers]
        above = any(x.visible and p is not None for x, p in zip(layers[doc.current + 1 :], predictions[doc.current + 1 :]))
        if above and self.panel.slider.isSliderDown():
            # Layers above must re-slice each frame: while the hand moves, at half the screen
            # size (a quarter of the work); the release renders at full screen size.
            out = self._draft_renderer().render(layers, predictions)
        else:
            out = self.renderer.render(layers, predictions)
            self._render_detail(layers)
        self.canvas.set_after(out)
        self.frame_times.append(time.perf_counter() - t0)

    def _draft_renderer(self) -> PreviewRenderer:
        if self._draft is None or self._draft[0] is not self.renderer:
            base = self.renderer.base
            small = downscale_u8(base, max(256, max(base.shape[:2]) // 2))
            self._draft = (self.renderer, PreviewRenderer(small, self.doc.size))
        return self._draft[1]

    def commit_strength(self, strength: float) -> None:
        self._slider_timer.stop()
        self._live_strength = None
        if self.doc is not None and self.doc.current_layer() is not None:
            self._edit(lambda d: d.set_strength(d.current, strength))

    # ------------------------------------------------------------------ flags, ratings, snapshots, presets

    def _targets(self) -> list[Document]:
        """The photos selected in the filmstrip (at least the current one)."""
        docs = [self.documents[Path(i.data(Qt.ItemDataRole.UserRole))] for i in self.filmstrip.selectedItems()]
        if self.doc is not None and self.doc not in docs:
            docs.append(self.doc)
        return docs

    def set_flag(self, flag: str) -> None:
        for doc in self._targets():
            doc.library.flag = flag
            self._save_sidecar(doc)
            self._show_library(doc)
        self._apply_filter()

    def set_rating(self, stars: int) -> None:
        for doc in self._targets():
            doc.library.rating = stars
            self._save_sidecar(doc)
            self._show_library(doc)
        self._apply_filter()

    def _show_library(self, doc: Document) -> None:
        for i in range(self.filmstrip.count()):
            item = self.filmstrip.item(i)
            if Path(item.data(Qt.ItemDataRole.UserRole)) == doc.path:
                badge = doc.library.badge()
                item.setText(f"{badge}  {doc.path.name}" if badge else doc.path.name)

    def _apply_filter(self) -> None:
        name = self.filter.currentText()
        for i in range(self.filmstrip.count()):
            item = self.filmstrip.item(i)
            doc = self.documents.get(Path(item.data(Qt.ItemDataRole.UserRole)))
            item.setHidden(doc is not None and not doc.library.passes(name))

    def take_snapshot(self, name: str | None = None) -> None:
        """A named copy of the current photo's edits, kept in its sidecar."""
        doc = self.doc
        if doc is None:
            return
        if name is None:
            default = f"Snapshot {len(doc.library.snapshots) + 1}"
            name, ok = QInputDialog.getText(self, "Snapshot", "Name:", text=default)
            if not ok or not name.strip():
                return
        doc.library.take_snapshot(name.strip(), doc.layers)
        self._save_sidecar(doc)
        self.show_message(f"Snapshot “{name.strip()}” taken ({len(doc.layers)} layer(s))")

    def restore_snapshot(self, name: str) -> None:
        doc = self.doc
        layers = doc.library.snapshot_layers(name) if doc is not None else None
        if layers is None:
            return
        doc.set_layers(layers, f"Snapshot “{name}”")
        self._after_edit()

    def _fill_snapshots(self) -> None:
        self.snapshots_menu.clear()
        for snap in (self.doc.library.snapshots if self.doc else []):
            self.snapshots_menu.addAction(snap["name"], lambda n=snap["name"]: self.restore_snapshot(n))
        if self.snapshots_menu.isEmpty():
            self.snapshots_menu.addAction("(none)").setEnabled(False)

    def _fill_presets(self) -> None:
        from retouch_studio.app.presets import list_presets

        self.presets_menu.clear()
        try:
            presets = list_presets()
        except Exception as exc:  # noqa: BLE001 - an unreadable preset folder is a message
            self.show_message(f"Presets: {readable_error(exc)}", error=True)
            presets = []
        for preset in presets:
            self.presets_menu.addAction(preset.name, lambda n=preset.name: self.apply_preset(n))
        if not presets:
            self.presets_menu.addAction("(none: save one from a layer)").setEnabled(False)

    def apply_preset(self, name: str) -> None:
        """A preset (the command line's store) as a new layer, or its recipe's layers on top."""
        recipe = self._preset_recipe(name)
        if recipe is None or self.doc is None:
            return
        from retouch_studio.app.ui.document import layers_from_recipe

        added = tuple(replace(x, id=_new_layer_id()) for x in layers_from_recipe(recipe))
        self.doc.set_layers(self.doc.layers + added, f"Preset “{name}”")
        self._after_edit()

    def save_preset(self, name: str | None = None) -> None:
        """The selected layer's instruction and strength as a preset (``retouch presets`` sees it)."""
        from retouch_studio.app.presets import Preset, PresetError, save_preset

        layer = self.doc.current_layer() if self.doc else None
        if layer is None:
            self.show_message("Select a layer to save as a preset.")
            return
        if name is None:
            name, ok = QInputDialog.getText(self, "Save preset", "Preset name:")
            if not ok or not name.strip():
                return
        try:
            save_preset(Preset(name.strip(), instruction=layer.instruction, strength=layer.strength), overwrite=True)
        except PresetError as exc:
            self.show_message(readable_error(exc), error=True)
            return
        self.show_message(f"Saved preset “{name.strip()}”")

    # ------------------------------------------------------------------ develop sliders

    def _show_develop(self, doc: Document, layer: LayerState) -> None:
        """Fill the sliders with what the selected layer's words set (read off the GUI thread)."""
        from retouch_studio.model.engines.router import explicit_params

        if self.panel.develop.dragging():
            return
        key = doc.prediction_key(layer)
        exact = explicit_params(layer.instruction)
        if exact is not None:
            self.panel.develop.set_params(exact, "Exact values (drag to adjust).")
        elif key in self._develop_params:
            params, source = self._develop_params[key]
            self.panel.develop.set_params(params, source)
        elif doc.prediction_for(layer) is not None:
            self.panel.develop.set_params(None, "Reading the words…")
            index = doc.layers.index(layer)
            source = self.renderer.render(doc.layers, [doc.prediction_for(x) for x in doc.layers], upto=index)
            from retouch_studio.model.imaging import make_proxy

            self.jobs.submit(_ParamsJob(doc, layer, key, make_proxy(source, 512)))
        else:
            self.panel.develop.set_params(None, "")

    def _on_params_read(self, job: "_ParamsJob") -> None:
        if job.state != Job.DONE:
            self.panel.develop.set_params(None, f"No sliders for this layer: {job.error}")
            return
        what = f"“{job.layer.instruction}”" if job.layer.instruction else "Auto"
        self._develop_params[job.key] = (job.result, f"What {what} sets on this photo (drag to adjust).")
        if self.doc is job.doc and self.doc.current_layer() is not None and self.doc.prediction_key(self.doc.current_layer()) == job.key:
            self._show_develop(self.doc, self.doc.current_layer())

    def preview_params(self, params: dict) -> None:
        """A develop slider is held: the newest values become a grid in the background."""
        doc = self.doc
        if doc is None or doc.current_layer() is None:
            return
        self.live_params.submit((doc.path, doc.current_layer().id), params)

    def _on_live_params(self, key, params: dict, grid) -> None:
        doc = self.doc
        layer = doc.current_layer() if doc is not None else None
        if layer is None or key != (doc.path, layer.id):
            return
        from retouch_studio.model.engines.base import Prediction
        from retouch_studio.model.grid.ops import GuidanceParams
        from retouch_studio.model.params import format_params

        pred = Prediction(grid, GuidanceParams.luminance(), [], "params")
        self._live_grid = (params, pred)
        if not self.panel.develop.dragging():
            if layer.instruction == (format_params(params) or "exposure +0"):
                doc.predictions.setdefault(doc.prediction_key(layer), pred)
                self._refresh()
            return
        t0 = time.perf_counter()
        layers = list(doc.layers)
        predictions = [doc.prediction_for(x) for x in layers]
        predictions[doc.current] = pred
        self.canvas.set_after(self._draft_renderer().render(layers, predictions))
        self.frame_times.append(time.perf_counter() - t0)

    def commit_params(self, params: dict) -> None:
        """Released slider: the layer becomes these exact values (one undo step)."""
        from retouch_studio.model.params import format_params

        doc = self.doc
        layer = doc.current_layer() if doc is not None else None
        if layer is None:
            return
        text = format_params(params) or "exposure +0"
        if text == layer.instruction:
            return
        doc.replace_layer(doc.current, "Develop", instruction=text, kind="instruction")
        if self._live_grid is not None and self._live_grid[0] == params:
            # The frame on screen is this edit: keep it (no second fit, no flicker).
            doc.predictions[doc.prediction_key(doc.current_layer())] = self._live_grid[1]
        else:
            self.live_params.submit((doc.path, doc.current_layer().id), params)
        self._after_edit()

    # ------------------------------------------------------------------ brush

    def _on_brush_enabled(self, on: bool) -> None:
        self.canvas.brush_mode = on
        self.canvas.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.OpenHandCursor)
        if on and (self.doc is None or self.doc.current_layer() is None):
            self.show_message("Apply an instruction first: the brush paints where the selected layer applies.")

    def _on_brush_settings(self) -> None:
        p = self.panel
        self.settings.brush_size = p.brush_size.value()
        self.settings.brush_feather = p.feather.value()
        self.settings.brush_flow = p.flow.value()
        self.canvas.brush_size = p.brush_size.value()
        self.canvas.update()
        edge = p.edge_aware.isChecked()
        layer = self.doc.current_layer() if self.doc else None
        if layer is not None and layer.edge_aware != edge:
            # The checkbox shows the selected layer's setting; changing it is an undoable edit.
            self.settings.edge_aware = edge
            self._edit(lambda d: d.set_edge_aware(d.current, edge))
        elif layer is None:
            self.settings.edge_aware = edge

    def _set_brush_size(self, size: float) -> None:
        self.panel.brush_size.setValue(size)

    def _scale_brush(self, factor: float) -> None:
        self._set_brush_size(min(2000.0, max(1.0, self.panel.brush_size.value() * factor)))

    def _current_stroke(self, points) -> StrokeData:
        p = self.panel
        return StrokeData(tuple(points), p.brush_size.value(), p.feather.value(), p.flow.value(), p.brush_mode() == "erase")

    def _on_stroke_started(self, pos: QPointF) -> None:
        doc = self.doc
        if doc is None or doc.current_layer() is None:
            self.show_message("Apply an instruction first: the brush paints where the selected layer applies.", error=True)
            self._stroke = None
            return
        self._stroke = [(pos.x(), pos.y())]
        self._live_stroke = None
        layer = doc.current_layer()
        if layer.visible and doc.prediction_for(layer) is not None:
            p = self.panel
            self._live_stroke = StrokePreview(
                self.renderer, doc.layers, [doc.prediction_for(x) for x in doc.layers], doc.current,
                size=p.brush_size.value(), feather=p.feather.value(), flow=p.flow.value(),
                erase=p.brush_mode() == "erase", edge_aware=layer.edge_aware)
            # Zoomed in, the full-resolution detail is redrawn on release; meanwhile the live
            # stroke shows on the screen-size preview.
            self.canvas.clear_detail()
        self._draw_stroke_point(pos)

    def _on_stroke_moved(self, pos: QPointF) -> None:
        if self._stroke is None:
            return
        lx, ly = self._stroke[-1]
        if (pos.x() - lx) ** 2 + (pos.y() - ly) ** 2 >= max(1.0, self.panel.brush_size.value() * 0.08) ** 2:
            self._stroke.append((pos.x(), pos.y()))
            self._draw_stroke_point(pos)

    def _draw_stroke_point(self, pos: QPointF) -> None:
        live = self._live_stroke
        if live is None:
            return
        t0 = time.perf_counter()
        live.add_point(pos.x(), pos.y())
        self.canvas.set_after(live.out)
        if self.panel.overlay.isChecked():
            self.canvas.set_overlay(live.mask)
        self.stroke_times.append(time.perf_counter() - t0)

    def _on_stroke_finished(self) -> None:
        if self._stroke is None or self.doc is None:
            return
        stroke = self._current_stroke(self._stroke)
        live, self._stroke, self._live_stroke = self._live_stroke, None, None
        self.paint_stroke(stroke, live.finished_mask() if live is not None else None)

    def paint_stroke(self, stroke: StrokeData, mask: np.ndarray | None = None) -> None:
        """Add a stroke (image coordinates) to the selected layer's mask: one undo step.

        ``mask``: the layer's mask with the stroke, already drawn live at preview size.
        """
        doc = self.doc
        if doc is None or doc.current_layer() is None:
            self.show_message("Apply an instruction first: the brush paints where the selected layer applies.", error=True)
            return
        doc.add_stroke(doc.current, stroke)
        if mask is not None:
            self.renderer.adopt_mask(doc.current_layer(), mask)
        self._after_edit()
        self._update_detail()

    def _clear_mask(self) -> None:
        if self.doc is not None and self.doc.current_layer() is not None and self.doc.current_layer().strokes:
            self._edit(lambda d: d.clear_mask(d.current))

    def _update_overlay(self) -> None:
        layer = self.doc.current_layer() if self.doc else None
        if layer is None or not self.panel.overlay.isChecked() or self.renderer is None:
            self.canvas.set_overlay(None)
            return
        mask = self.renderer.mask_of(layer)
        if mask is None and layer.has_mask:
            self._render()
            mask = self.renderer.mask_of(layer)
        self.canvas.set_overlay(mask if mask is not None else None)

    # ------------------------------------------------------------------ compare

    def _on_compare(self, on: bool) -> None:
        self.canvas.set_split(on)
        self.split_action.setChecked(on)

    # ------------------------------------------------------------------ view refresh

    def _render(self) -> None:
        doc = self.doc
        if doc is None or self.renderer is None:
            self.canvas.clear()
            return
        out = self.renderer.render(doc.layers, [doc.prediction_for(x) for x in doc.layers])
        self.canvas.set_images(out, self.renderer.base, doc.size)
        self._render_detail(doc.layers)
        self._after_render(doc, out)
        self.preview_changed.emit()

    def _after_render(self, doc: Document, out: np.ndarray) -> None:
        """A finished frame: histogram, clipping warning, the filmstrip thumbnail."""
        self.panel.histogram.set_pixels(out)
        warning = clipping_warning(out, self.renderer.base) if doc.layers else ""
        self.panel.set_clipping_warning(warning)
        if self.canvas.clipping_shown():
            self.canvas.set_clipping(clipping_overlay(out))
        self._set_thumbnail(doc, out)

    def _set_thumbnail(self, doc: Document, pixels: np.ndarray) -> None:
        for i in range(self.filmstrip.count()):
            item = self.filmstrip.item(i)
            if Path(item.data(Qt.ItemDataRole.UserRole)) == doc.path:
                item.setIcon(_thumbnail_icon(pixels))
                return

    def toggle_clipping(self) -> None:
        """J: show blown highlights (red) and crushed shadows (blue) on the photo."""
        if self.canvas.clipping_shown():
            self.canvas.set_clipping(None)
        elif self.canvas.has_image():
            self.canvas.set_clipping(clipping_overlay(self.canvas.after_pixels()))

    def _refresh(self, render: bool = True) -> None:
        doc = self.doc
        has_doc = doc is not None
        for w in (self.panel.export_button, self.panel.batch_button, self.export_action, self.batch_action):
            w.setEnabled(has_doc)
        if not has_doc:
            self.panel.set_layers([], -1)
            self.undo_action.setEnabled(False)
            self.redo_action.setEnabled(False)
            self._render()
            return
        rows = []
        for layer in doc.layers:
            state = ""
            if doc.prediction_for(layer) is None:
                state = "  ⚠ failed" if layer.id in doc.errors else "  … predicting"
            rows.append((layer.label() + state, layer.visible, layer.instruction))
        self.panel.set_layers(rows, doc.current)
        layer = doc.current_layer()
        if layer is not None:
            self.panel.set_strength(layer.strength)
            with QSignalBlocker(self.panel.edge_aware):
                self.panel.edge_aware.setChecked(layer.edge_aware)
            pred = doc.prediction_for(layer)
            self.panel.set_plan(list(pred.plan) if pred is not None else [])
            self._show_develop(doc, layer)
        else:
            self.panel.set_strength(self.settings.default_strength)
            self.panel.set_plan([])
            self.panel.develop.set_params(None)
        self.undo_action.setEnabled(doc.history.can_undo())
        self.redo_action.setEnabled(doc.history.can_redo())
        self.undo_action.setText(f"&Undo {doc.history.undo_label()}".strip())
        self.redo_action.setText(f"&Redo {doc.history.redo_label()}".strip())
        self.setWindowTitle(f"{doc.path.name} — Retouch Studio")
        if render:
            self._render()
        self._update_overlay()
        self._request_missing(doc)
        self._update_status()

    def _update_status(self) -> None:
        if self.doc is None:
            self.zoom_label.setText("")
            return
        w, h = self.doc.size
        self.zoom_label.setText(f"{w} × {h}   {self.canvas.zoom * 100:.0f} %   predictions: {self.worker.calls}")

    # ------------------------------------------------------------------ export

    def _item_for(self, doc: Document, recipe) -> ExportItem:
        preds = {}
        for layer in doc.layers:
            pred = doc.prediction_for(layer)
            if pred is not None and any(rl.id == layer.id for rl in recipe.layers):
                preds[layer.id] = pred
        return ExportItem(doc.path, recipe, None, None, preds)

    def export_dialog(self) -> None:
        if self.doc is None:
            return
        dialog = ExportDialog(self.settings, 1, self, about=f"{self.doc.path.name} with its own edits")
        if dialog.exec() == QDialog.DialogCode.Accepted:
            dialog.store(self.settings)
            self._save_settings()
            options = self._resolve_existing(dialog.options(), [self.doc.path])
            if options is not None:
                self.start_export(options)

    def batch_dialog(self) -> None:
        paths = self.batch_selection()
        if self.doc is None or not paths:
            return
        from retouch_studio.app.presets import list_presets

        try:
            presets = [p.name for p in list_presets()]
        except Exception:  # noqa: BLE001 - an unreadable preset folder must not block exporting
            presets = []
        entries = plan_batch(paths, self.documents)
        dialog = ExportDialog(self.settings, len(paths), self, about=describe_batch(entries), presets=presets)
        dialog.fallback.currentIndexChanged.connect(
            lambda _i: dialog.about.setText(describe_batch(plan_batch(paths, self.documents, dialog.fallback_choice()),
                                                           dialog.fallback_choice())))
        if dialog.exec() == QDialog.DialogCode.Accepted:
            dialog.store(self.settings)
            self._save_settings()
            options = self._resolve_existing(dialog.options(), paths)
            if options is not None:
                self.start_batch_export(options, paths, dialog.fallback_choice())

    def _resolve_existing(self, options: ExportOptions, paths: list[Path]) -> ExportOptions | None:
        """Ask what to do when export files exist; None = the user cancelled."""
        if options.existing != "ask":
            return options
        existing = [options.target_for(Path(p)) for p in paths if options.target_for(Path(p)).exists()]
        if not existing:
            return replace(options, existing="overwrite")
        choice = ask_existing(self, existing, len(paths))
        return None if choice is None else replace(options, existing=choice)

    def batch_selection(self) -> list[Path]:
        """Photos selected in the filmstrip; with one or none selected, every open photo."""
        items = self.filmstrip.selectedItems()
        if len(items) < 2:
            items = [self.filmstrip.item(i) for i in range(self.filmstrip.count())]
        return [Path(i.data(Qt.ItemDataRole.UserRole)) for i in items]

    def start_export(self, options: ExportOptions) -> ExportJob | None:
        """Render the current photo at full resolution on the job thread."""
        doc = self.doc
        if doc is None:
            return None
        recipe = to_recipe(doc.kept_layers(), doc.model_id, doc.size)
        return self._submit_job(ExportJob([self._item_for(doc, recipe)], options, self._predictor, "Export"))

    def start_batch_export(self, options: ExportOptions, paths: list[Path], fallback: str = "unchanged") -> ExportJob | None:
        """Export ``paths``, each with its own edits (open document, else sidecar); photos without
        edits get ``fallback``: ``unchanged``, ``skip`` or a preset name."""
        fallback_recipe = None
        if fallback not in ("unchanged", "skip"):
            fallback_recipe = self._preset_recipe(fallback)
            if fallback_recipe is None:
                return None
        entries = plan_batch(paths, self.documents, fallback, fallback_recipe)
        items = [ExportItem(e.path, e.recipe, None, None, dict(e.predictions)) for e in entries if e.recipe is not None]
        if not items:
            self.show_message("Nothing to export: no selected photo has edits.", error=True)
            return None
        return self._submit_job(ExportJob(items, options, self._predictor, f"Batch export ({len(items)})"))

    def _preset_recipe(self, name: str):
        from retouch_studio.app.presets import PresetError, load_preset
        from retouch_studio.model.recipe import Recipe

        try:
            preset = load_preset(name)
            if preset.recipe is not None:
                return Recipe.from_dict(preset.recipe, f"preset {name!r}")
            return Recipe.single(preset.instruction_text(), preset.strength)
        except (PresetError, ValueError) as exc:
            self.show_message(f"Preset “{name}”: {readable_error(exc)}", error=True)
            return None

    # ------------------------------------------------------------------ copy / paste / sync edits

    def copy_edits(self) -> None:
        if self.doc is None or not self.doc.layers:
            self.show_message("Nothing to copy: this photo has no edits.")
            return
        self._copied = copy_edits(self.doc)
        self.show_message(f"Copied {len(self._copied.layers)} edit layer(s) of {self.doc.path.name}")

    def paste_edits(self) -> None:
        if self.doc is None or self._copied is None:
            self.show_message("Copy edits first (Ctrl+Shift+C).")
            return
        self._paste_into(self.doc)
        self._after_edit()
        self.show_message(f"Pasted the edits of {self._copied.source}")

    def sync_edits(self) -> None:
        """The current photo's edits onto every other photo selected in the filmstrip."""
        if self.doc is None or not self.doc.layers:
            self.show_message("Nothing to sync: this photo has no edits.")
            return
        self._copied = copy_edits(self.doc)
        targets = [self.documents[Path(i.data(Qt.ItemDataRole.UserRole))] for i in self.filmstrip.selectedItems()]
        targets = [d for d in targets if d is not self.doc]
        if not targets:
            self.show_message("Select the photos to sync in the filmstrip (Ctrl-click) first.")
            return
        for doc in targets:
            self._paste_into(doc)
            self._save_sidecar(doc)
            self._request_missing(doc)
        self.show_message(f"Synced the edits of {self.doc.path.name} to {len(targets)} photo(s)")

    def _paste_into(self, doc: Document) -> None:
        layers = pasted_layers(self._copied, doc.size)
        doc.set_layers(layers, f"Paste edits of {self._copied.source}")

    def _predictor(self):
        return self.worker.predictor(self.doc.model_id if self.doc else self.settings.model_dir)

    def _submit_job(self, job: ExportJob) -> ExportJob:
        self._current_job = job
        self.panel.set_progress(0, 1, f"{job.title}…")
        self.jobs.submit(job)
        return job

    def cancel_export(self) -> None:
        if self._current_job is not None:
            self._current_job.cancel()
            self.panel.export_status.setText("Cancelling…")

    def _on_job_progress(self, job, done: int, total: int, text: str) -> None:
        self.panel.set_progress(done, total, text)

    def _on_job_finished(self, job) -> None:
        if isinstance(job, _FullLoadJob):
            self._on_full_loaded(job)
            return
        if isinstance(job, _OpenJob):
            self._on_opened(job)
            return
        if isinstance(job, _ParamsJob):
            self._on_params_read(job)
            return
        summary = job.summary() if hasattr(job, "summary") else job.state
        self.panel.end_progress(summary)
        self.show_message(summary, error=bool(getattr(job, "failures", None)) or job.state == job.FAILED)
        if job is self._current_job:
            self._current_job = None

    def _load_full(self, doc: Document) -> None:
        if doc.path not in self._full_loading:
            self._full_loading.add(doc.path)
            self.jobs.submit(_FullLoadJob(doc, self.settings.preview_long_edge))

    def _on_full_loaded(self, job: "_FullLoadJob") -> None:
        doc = job.doc
        self._full_loading.discard(doc.path)
        if job.state != Job.DONE:
            if job.error:
                self.show_message(f"{doc.path.name}: full-resolution decode failed ({job.error})", error=True)
            return
        if self.documents.get(doc.path) is not doc:
            return
        full, preview = job.result
        if doc.path.suffix.lower() in RAW_EXTENSIONS:
            doc.pixels = np.ascontiguousarray(preview)
            self._renderers[doc.path] = self._make_renderer(doc)
        if doc is self.doc:
            self._full = (doc, full)
            self.renderer = self._renderers[doc.path]
            self._refresh()
            self._update_detail()

    # ------------------------------------------------------------------ detail (zoomed-in) view

    def detail_needed(self) -> bool:
        """True when the canvas magnifies the preview (100 % on a photo larger than the preview)."""
        if self.doc is None or self.renderer is None:
            return False
        magnification = self.canvas.zoom * self.canvas.devicePixelRatioF() * self.doc.size[0] / self.renderer.base.shape[1]
        return magnification > 1.05

    def _update_detail(self) -> None:
        doc = self.doc
        if not self.detail_needed():
            self.detail = None
            self.canvas.clear_detail()
            return
        if self._full is None or self._full[0] is not doc:
            self._load_full(doc)
            return
        box = self.canvas.visible_box()
        if box is None:
            self.canvas.clear_detail()
            return
        if self.detail is None or self.detail.full is not self._full[1]:
            self.detail = DetailView(self._full[1], doc.size)
        self.detail.set_box(box, self.renderer, self.canvas.zoom * self.canvas.devicePixelRatioF())
        self._render_detail(doc.layers)

    def _render_detail(self, layers) -> None:
        if self.detail is None or self.doc is None or self.detail.box is None:
            return
        out = self.detail.render(layers, [self.doc.prediction_for(x) for x in layers])
        self.canvas.set_detail(out, self.detail.original, self.detail.box)

    # ------------------------------------------------------------------ settings

    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            old = (self.settings.model_dir, self.settings.use_gpu)
            dialog.store(self.settings)
            if self.settings.model_dir:
                from retouch_studio.model.engines.loader import read_config

                try:
                    read_config(self.settings.model_dir)
                except Exception as exc:  # noqa: BLE001 - keep the previous model, say why
                    self.show_message(f"Keeping the current model: {readable_error(exc)}", error=True)
                    self.settings.model_dir = old[0]
            self._save_settings()
            if (self.settings.model_dir, self.settings.use_gpu) != old:
                self.set_model(self.settings.model_dir)

    def set_model(self, model_dir: str) -> None:
        """Switch every open photo to another model; predictions are redone on demand."""
        self.settings.model_dir = model_dir
        self.worker.forget_models()
        for doc in self.documents.values():
            doc.model_id = model_dir
            doc.errors.clear()
        self._refresh()

    def _save_settings(self) -> None:
        if self._save_settings_enabled:
            try:
                self.settings.save()
            except OSError as exc:
                log.warning("cannot save settings: %s", exc)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._save_settings()
        if self._current_job is not None:
            self._current_job.cancel()
        self.worker.shutdown()
        super().closeEvent(event)


def _default_checker(instruction: str) -> None:
    """Refuse content edits before the model runs (the router's decision)."""
    from retouch_studio.model.engines.router import route

    route(instruction).raise_if_refused()


def _default_loader(model_id: str):
    from retouch_studio.model.engines.loader import load_predictor

    return load_predictor(model_id or None)
