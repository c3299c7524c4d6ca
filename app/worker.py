"""Work off the GUI thread: one model worker for predictions, one job queue for exports.

**Model worker.** The GUI thread builds a frozen :class:`PredictRequest` (proxy, instruction,
model id, generation id from ``itertools.count()``, and a ``key`` saying what it is for, e.g. a
layer) and calls :meth:`ModelWorker.submit`. A single thread runs the predictor. A newer request
with the same key replaces the pending one (it is never run), and when a result arrives for a key
that has a newer request outstanding, the result is dropped as stale. Errors come back as a
readable one-line message, never an exception on the GUI thread.

**Jobs.** Export and batch export are plain :class:`Job` objects with an id, a ``state``, a
``cancel()`` and a ``run(progress)``; :class:`JobQueue` runs them one at a time on its own thread
and reports ``progress_changed`` / ``job_finished``.

Both have a synchronous switch for tests (``synchronous=True`` or ``RETOUCH_STUDIO_SYNCHRONOUS=1``)
and a ``wait_until_idle()``.
"""

from __future__ import annotations

import abc
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Hashable

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal

log = logging.getLogger(__name__)

_generations = itertools.count(1)


def next_generation() -> int:
    """Process-wide increasing generation id for requests."""
    return next(_generations)


def _env_synchronous() -> bool:
    return os.environ.get("RETOUCH_STUDIO_SYNCHRONOUS", "") not in ("", "0")


def readable_error(exc: BaseException) -> str:
    """One line a person can read: the error's own message (our errors name the file/model)."""
    if isinstance(exc, MemoryError):
        return "Not enough memory for this operation."
    text = str(exc).strip()
    if not text:
        return f"{type(exc).__name__} (no details)"
    return text.splitlines()[0]


@dataclass(frozen=True, eq=False)
class PredictRequest:
    """Everything one prediction needs, built on the GUI thread and never mutated.

    proxy: ``(h, w, 3)`` float32 in ``[0, 1]`` (made read-only); model_id: the model folder
    (``""`` = shipped default); key: what the result is for (requests with the same key replace
    each other); generation: from :func:`next_generation`.
    """

    proxy: np.ndarray
    instruction: str
    model_id: str
    generation: int
    key: Hashable = None

    @staticmethod
    def make(proxy: np.ndarray, instruction: str, model_id: str = "", key: Hashable = None) -> "PredictRequest":
        proxy = np.array(proxy, dtype=np.float32, copy=True)
        proxy.setflags(write=False)
        return PredictRequest(proxy, instruction, model_id, next_generation(), key)


class ModelWorker(QObject):
    """One thread that loads models and runs predictions.

    ``loader(model_id) -> Predictor`` loads a model (called on the worker thread, cached per id).
    ``checker(instruction)`` runs first on the worker thread and raises to refuse an instruction
    (e.g. a content edit); it may be slow the first time (a text encoder loads), which is why it
    is not run on the GUI thread.
    """

    result_ready = Signal(object, object)  # (PredictRequest, Prediction)
    failed = Signal(object, str)  # (PredictRequest, message)
    busy_changed = Signal(bool)
    _finished = Signal(object, object, object)  # internal, worker thread -> GUI thread

    def __init__(
        self,
        loader: Callable[[str], Any],
        *,
        checker: Callable[[str], None] | None = None,
        synchronous: bool | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self._loader = loader
        self._checker = checker
        self._models: dict[str, Any] = {}
        self._models_lock = threading.Lock()
        self.synchronous = _env_synchronous() if synchronous is None else synchronous
        self._cond = threading.Condition()
        self._pending: dict[Hashable, PredictRequest] = {}
        self._latest: dict[Hashable, int] = {}
        self._running: PredictRequest | None = None
        self._undelivered = 0
        self._stop = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self.calls = 0  # predictions actually run (tests and the status bar read it)
        self._finished.connect(self._on_finished)

    # ------------------------------------------------------------------ models

    def predictor(self, model_id: str = "") -> Any:
        """The loaded predictor for ``model_id`` (loads it on the calling thread if needed)."""
        with self._models_lock:
            if model_id not in self._models:
                self._models[model_id] = self._loader(model_id)
            return self._models[model_id]

    def preload(self, model_id: str = "") -> None:
        """Load the model (and warm the checker) in the background so the first Enter is fast."""
        if self.synchronous:
            return

        def work():
            try:
                self.predictor(model_id)
                if self._checker is not None:
                    self._checker("brighter")
            except Exception:  # noqa: BLE001 - reported when a real request fails
                log.info("preloading model %r failed", model_id, exc_info=True)

        threading.Thread(target=work, name="retouch-preload", daemon=True).start()

    def set_loader(self, loader: Callable[[str], Any]) -> None:
        with self._models_lock:
            self._loader = loader
            self._models.clear()

    def forget_models(self) -> None:
        with self._models_lock:
            self._models.clear()

    # ------------------------------------------------------------------ requests

    def submit(self, request: PredictRequest) -> None:
        """Queue ``request``; a pending request with the same key is dropped unrun."""
        with self._cond:
            self._latest[request.key] = request.generation
        if self.synchronous:
            self._set_busy(True)
            result, error = self._run(request)
            self._undelivered += 1
            self._on_finished(request, result, error)
            return
        with self._cond:
            replaced = self._pending.pop(request.key, None)
            if replaced is not None:
                log.debug("request %d replaced by %d", replaced.generation, request.generation)
            self._pending[request.key] = request
            self._ensure_thread()
            self._cond.notify_all()
        self._set_busy(True)

    def is_stale(self, request: PredictRequest) -> bool:
        return self._latest.get(request.key, request.generation) != request.generation

    def cancel(self, key: Hashable) -> None:
        """Forget everything about ``key``: pending request dropped, running result ignored."""
        with self._cond:
            self._pending.pop(key, None)
            self._latest[key] = next_generation()

    def busy(self) -> bool:
        with self._cond:
            return bool(self._pending) or self._running is not None or self._undelivered > 0

    def wait_until_idle(self, timeout: float = 60.0) -> bool:
        """Block (processing Qt events) until every request has run and been delivered."""
        deadline = time.monotonic() + timeout
        while self.busy():
            if time.monotonic() > deadline:
                return False
            QCoreApplication.processEvents()
            with self._cond:
                if self._pending or self._running is not None:
                    self._cond.wait(0.005)
        QCoreApplication.processEvents()
        return True

    def shutdown(self) -> None:
        with self._cond:
            self._stop = True
            self._pending.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # ------------------------------------------------------------------ internals

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = threading.Thread(target=self._loop, name="retouch-model-worker", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                key = next(iter(self._pending))
                request = self._pending.pop(key)
                self._running = request
            result, error = self._run(request)
            with self._cond:
                self._running = None
                self._undelivered += 1
                self._cond.notify_all()
            self._finished.emit(request, result, error)

    def _run(self, request: PredictRequest):
        try:
            if self._checker is not None:
                self._checker(request.instruction)
            predictor = self.predictor(request.model_id)
            self.calls += 1
            return predictor.predict(request.proxy, request.instruction), None
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            log.info("prediction for %r failed", request.instruction, exc_info=True)
            return None, readable_error(exc)

    def _on_finished(self, request: PredictRequest, result: Any, error: str | None) -> None:
        with self._cond:
            self._undelivered -= 1
        if self.is_stale(request):
            log.debug("dropping stale result %d", request.generation)
        elif error is not None:
            self.failed.emit(request, error)
        else:
            self.result_ready.emit(request, result)
        if not self.busy():
            self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)


# ---------------------------------------------------------------------------------------------
# Jobs (export, batch export)
# ---------------------------------------------------------------------------------------------


class Cancelled(Exception):
    """Raised inside a job's ``run`` when it notices ``cancel()``."""


_job_ids = itertools.count(1)


class Job(abc.ABC):
    """A unit of background work: id, state, ``cancel()``, ``run(progress)``.

    Subclasses implement ``run(progress)`` where ``progress(done, total, text)``; they call
    ``self.check_cancelled()`` between steps. ``result`` and ``error`` hold the outcome.
    """

    QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"

    def __init__(self, title: str = ""):
        self.id = next(_job_ids)
        self.title = title
        self.state = Job.QUEUED
        self.result: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None  # what failed, for callers that word it themselves
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    @abc.abstractmethod
    def run(self, progress: Callable[[int, int, str], None]) -> Any:
        """Do the work; call ``progress(done, total, text)`` and ``check_cancelled()`` between steps."""

    def execute(self, progress: Callable[[int, int, str], None]) -> None:
        self.state = Job.RUNNING
        try:
            self.check_cancelled()
            self.result = self.run(progress)
            self.state = Job.DONE
        except Cancelled:
            self.state = Job.CANCELLED
        except Exception as exc:  # noqa: BLE001 - failures are reported, not raised
            log.info("job %s failed", self.title, exc_info=True)
            self.error = readable_error(exc)
            self.exception = exc
            self.state = Job.FAILED


class JobQueue(QObject):
    """Runs jobs one at a time on a background thread."""

    progress_changed = Signal(object, int, int, str)  # job, done, total, text
    job_finished = Signal(object)
    count_changed = Signal(int)
    _progress = Signal(object, int, int, str)
    _done = Signal(object)

    def __init__(self, *, synchronous: bool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.synchronous = _env_synchronous() if synchronous is None else synchronous
        self._cond = threading.Condition()
        self._queue: list[Job] = []
        self._active = 0
        self._thread: threading.Thread | None = None
        self._progress.connect(self.progress_changed)
        self._done.connect(self._on_done)

    def submit(self, job: Job) -> Job:
        with self._cond:
            self._active += 1
        self.count_changed.emit(self._active)
        if self.synchronous:
            job.execute(lambda d, t, s: self.progress_changed.emit(job, d, t, s))
            self._on_done(job)
            return job
        with self._cond:
            self._queue.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="retouch-jobs", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return job

    def active(self) -> int:
        return self._active

    def wait_until_idle(self, timeout: float = 120.0) -> bool:
        deadline = time.monotonic() + timeout
        while self._active:
            if time.monotonic() > deadline:
                return False
            QCoreApplication.processEvents()
            time.sleep(0.002)
        QCoreApplication.processEvents()
        return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    if not self._cond.wait(30):
                        self._thread = None
                        return
                job = self._queue.pop(0)
            job.execute(lambda d, t, s, job=job: self._progress.emit(job, d, t, s))
            self._done.emit(job)

    def _on_done(self, job: Job) -> None:
        with self._cond:
            self._active -= 1
        self.job_finished.emit(job)
        self.count_changed.emit(self._active)
