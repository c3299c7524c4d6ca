"""Batch processing: plain job objects and the engine that runs them (``retouch batch`` and the
GUI's batch export share it; the command is ``app.cli.batch``).

* :func:`collect_inputs` expands files, folders (optionally recursive) and globs into photos.
* :func:`make_jobs` turns them into :class:`BatchJob` objects with their output paths
  (naming template, collision check) and runs each job's :meth:`BatchJob.prepare`, a pure check
  of what would happen (write / skip an existing output / fail) that touches nothing on disk.
* :func:`run_batch` runs the jobs on ``workers`` threads. Each job goes decode -> resize -> proxy
  -> predict -> apply -> encode; with two or more workers those stages overlap across photos
  (decoding, the numba apply and encoding release the GIL; predictions are serialised with a
  lock because predictors are not required to be thread-safe). ``progress_callback(job, done,
  total)`` is called **in the thread that called run_batch** after each job settles, and
  ``cancel_event`` (a ``threading.Event``) stops the batch: running jobs stop before their next
  stage, pending jobs become ``cancelled``. Outputs are written atomically (``save_photo``), so a
  stopped batch leaves finished files and no partial ones.

Every edit goes through ``model.pipeline.apply_prediction`` (or ``model.recipe.render_recipe`` for
recipes), the same path as ``retouch apply`` and the GUI export.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np

from retouch_studio.app.cli.exit_codes import Exit

if TYPE_CHECKING:
    from retouch_studio.model.recipe import Recipe


# Format name -> (file extension, bit depth it writes by default).
FORMATS = {
    "jpeg": ("jpg", 8),
    "png": ("png", 8),
    "tiff": ("tif", 8),
    "tiff16": ("tif", 16),
    "png16": ("png", 16),
    "webp": ("webp", 8),
}
# Input extension -> the output format kept when --format is not given.
_KEEP_FORMAT = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "tif": "tiff", "tiff": "tiff", "webp": "webp"}
TEMPLATE_FIELDS = ("stem", "ext", "name", "srcext", "index", "dir")
DEFAULT_TEMPLATE = "{stem}.{ext}"


OUTPUT_EXISTS = "output already exists (use --overwrite or --skip-existing)"


class BatchError(Exception):
    """A batch cannot start (bad options, output folder unusable); the message says why and
    ``code`` is the exit code (``app.cli.exit_codes``)."""

    def __init__(self, message: str, code: int = Exit.USAGE):
        super().__init__(message)
        self.code = code


class JobState(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def settled(self) -> bool:
        return self not in (JobState.PENDING, JobState.RUNNING)


def is_photo_path(path: Path) -> bool:
    """Whether a folder scan picks this file: a photo extension (``model.imaging``), not hidden."""
    from retouch_studio.model.imaging import is_supported

    return not path.name.startswith(".") and is_supported(path)


# --------------------------------------------------------------------------------------------
# Settings, edits, jobs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputSettings:
    """How each output file is written.

    fmt: one of :data:`FORMATS` or None (keep the input's format when writable, else JPEG).
    bit_depth: 8, 16 or None (the format's default; 16-bit inputs stay 16-bit in TIFF/PNG).
    resize: long edge in pixels; photos are only ever shrunk. existing: "refuse" | "skip" |
    "overwrite" for outputs that already exist.
    """

    out_dir: Path
    fmt: str | None = None
    quality: int = 95
    bit_depth: int | None = None
    resize: int | None = None
    name_template: str = DEFAULT_TEMPLATE
    existing: str = "refuse"
    keep_metadata: bool = True

    def __post_init__(self) -> None:
        if self.fmt is not None and self.fmt not in FORMATS:
            raise BatchError(f"unknown format {self.fmt!r} (choose from {', '.join(FORMATS)})")
        if not 1 <= self.quality <= 100:
            raise BatchError(f"quality must be in 1..100, got {self.quality}")
        if self.bit_depth not in (None, 8, 16):
            raise BatchError(f"bit depth must be 8 or 16, got {self.bit_depth}")
        if self.bit_depth == 16 and self.fmt in ("jpeg", "webp"):
            raise BatchError(f"{self.fmt} cannot store 16 bits per channel (use png, tiff16)")
        if self.bit_depth == 8 and self.fmt in ("tiff16", "png16"):
            raise BatchError(f"{self.fmt} is 16-bit; use --bit-depth 16 or the 8-bit format")
        if self.resize is not None and self.resize < 16:
            raise BatchError(f"--resize must be at least 16 pixels, got {self.resize}")
        if self.existing not in ("refuse", "skip", "overwrite"):
            raise BatchError(f"existing must be refuse, skip or overwrite, got {self.existing!r}")
        check_template(self.name_template)

    def format_for(self, source: Path, source_bits: int | None = None) -> str:
        if self.fmt is not None:
            return self.fmt
        fmt = _KEEP_FORMAT.get(source.suffix.lower().lstrip("."), "jpeg")
        if fmt == "tiff" and (self.bit_depth == 16 or source_bits == 16):
            fmt = "tiff16"
        return fmt

    def bits_for(self, fmt: str, source_bits: int) -> int:
        if self.bit_depth is not None:
            return self.bit_depth
        if fmt == "tiff16":
            return 16
        if fmt == "png16":
            return 16
        if fmt == "png":
            return source_bits
        return 8


@dataclass(frozen=True)
class Edit:
    """What is done to every photo: an instruction at a strength, or a recipe.

    ``recipe`` is a ``model.recipe.Recipe``; its layers carry their own strengths and masks and
    ``strength`` scales the whole recipe.
    """

    instruction: str = ""
    strength: float = 1.0
    recipe: Recipe | None = None

    def describe(self) -> str:
        what = f"recipe with {len(getattr(self.recipe, 'layers', []))} layers" if self.recipe else repr(self.instruction)
        return f"{what} at strength {self.strength:g}"

    def render(
        self, pixels: np.ndarray, predictor, checkpoint: Callable[[], None], timings: dict | None = None,
        *, in_place: bool = False,
    ) -> np.ndarray:
        """The edited pixels (same dtype). ``checkpoint()`` raises to stop between stages;
        ``timings`` (if given) receives ``predict_ms`` (proxy + network) and ``apply_ms``;
        ``in_place`` lets the edit overwrite ``pixels`` (the caller needs them no more)."""
        from retouch_studio.model.pipeline import apply_prediction, predict_for

        if self.recipe is not None:
            from dataclasses import replace

            from retouch_studio.model.recipe import render_recipe

            recipe = self.recipe
            if self.strength != 1.0:
                layers = [replace(layer, strength=layer.strength * self.strength) for layer in recipe.layers]
                recipe = replace(recipe, layers=layers)

            def stop() -> bool:
                try:
                    checkpoint()
                except _Cancelled:
                    return True
                return False

            try:
                return render_recipe(pixels, recipe, lambda layer: predictor, cancelled=stop)
            except InterruptedError:
                raise _Cancelled from None
        t0 = time.perf_counter()
        prediction = predict_for(predictor, pixels, self.instruction)
        t1 = time.perf_counter()
        checkpoint()
        in_place = in_place and pixels.flags.writeable  # a big photo is then never held twice
        out = apply_prediction(pixels, prediction, self.strength, out=pixels if in_place else None)
        if timings is not None:
            timings["predict_ms"] = (t1 - t0) * 1000
            timings["apply_ms"] = (time.perf_counter() - t1) * 1000
        return out


class _LockedPredictor:
    """Serialises ``predict`` calls: engines need not be thread-safe, and on a small CPU two
    concurrent network runs only fight over the same cores while decode/apply/encode overlap."""

    def __init__(self, predictor, lock: threading.Lock):
        self._predictor = predictor
        self._lock = lock
        self.model_id = getattr(predictor, "model_id", "")

    def predict(self, proxy, instruction):
        with self._lock:
            return self._predictor.predict(proxy, instruction)


@dataclass(eq=False)
class BatchJob:
    """One photo of a batch. ``state`` moves pending -> running -> done | failed | cancelled, or
    straight to skipped / failed / cancelled; ``error`` holds the reason for failed jobs."""

    id: int
    source: Path
    output: Path
    state: JobState = JobState.PENDING
    error: str | None = None
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)  # per-stage milliseconds of the last run
    existing: str = "refuse"
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def prepare(self) -> JobState:
        """Decide, without touching the disk beyond ``stat``, what running this job will do."""
        if self.state.settled:
            return self.state
        try:
            same = self.output.exists() and self.source.exists() and os.path.samefile(self.output, self.source)
        except OSError:
            same = False
        if same or self.output.resolve() == self.source.resolve():
            return self._settle(JobState.FAILED, "the output would overwrite the source photo")
        if self.output.exists():
            if self.output.is_dir():
                return self._settle(JobState.FAILED, f"output {self.output} is a folder")
            if self.existing == "skip":
                return self._settle(JobState.SKIPPED, "output exists")
            if self.existing == "refuse":
                return self._settle(JobState.FAILED, OUTPUT_EXISTS)
        self.state = JobState.PENDING
        return self.state

    def cancel(self) -> None:
        """Stop this job: a pending job is cancelled now, a running one before its next stage."""
        self._cancel.set()
        if self.state == JobState.PENDING:
            self.state = JobState.CANCELLED

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _settle(self, state: JobState, error: str | None = None) -> JobState:
        self.state = state
        self.error = error
        return state


class _Cancelled(Exception):
    pass


@dataclass
class BatchReport:
    jobs: list[BatchJob]
    seconds: float
    interrupted: bool = False

    def count(self, state: JobState) -> int:
        return sum(1 for j in self.jobs if j.state == state)

    @property
    def failed(self) -> list[BatchJob]:
        return [j for j in self.jobs if j.state == JobState.FAILED]

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(j.state in (JobState.DONE, JobState.SKIPPED) for j in self.jobs)

    def summary(self) -> str:
        done = self.count(JobState.DONE)
        rate = f", {done / self.seconds * 60:.1f} photos/min" if done and self.seconds > 0 else ""
        parts = [
            f"{done} written",
            f"{self.count(JobState.SKIPPED)} skipped",
            f"{self.count(JobState.FAILED)} failed",
        ]
        if self.count(JobState.CANCELLED):
            parts.append(f"{self.count(JobState.CANCELLED)} cancelled")
        head = "interrupted: " if self.interrupted else ""
        return f"{head}{len(self.jobs)} photos: {', '.join(parts)} in {self.seconds:.1f} s{rate}"


# --------------------------------------------------------------------------------------------
# Inputs and output names
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputFile:
    path: Path
    rel_dir: str = ""  # sub-folder relative to the folder argument it was found in


def collect_inputs(
    args: Sequence[str | os.PathLike], recursive: bool = False, exclude: Path | None = None
) -> tuple[list[InputFile], list[tuple[str, str]]]:
    """Expand files, folders and glob patterns. Returns (photos, problems) where problems are
    ``(argument, reason)`` for arguments that match nothing. Files named explicitly are taken
    whatever their extension (their decoder will say if they are not photos); folder scans take
    photo extensions only and skip hidden files and anything under ``exclude`` (the output folder).
    """
    found: list[InputFile] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()
    exclude = exclude.resolve() if exclude is not None else None

    def add(path: Path, rel: str = "", scanned: bool = False, folder: Path | None = None) -> None:
        key = path.resolve()
        if key in seen or (scanned and folder is not None and _inside_output(key, folder, exclude)):
            return
        seen.add(key)
        found.append(InputFile(path, rel))

    def scan(folder: Path) -> int:
        n = 0
        pattern = "**/*" if recursive else "*"
        for p in sorted(folder.glob(pattern), key=lambda q: str(q).casefold()):
            rel_parts = p.relative_to(folder).parts
            if any(part.startswith(".") for part in rel_parts[:-1]) or not p.is_file() or not is_photo_path(p):
                continue
            add(p, "/".join(rel_parts[:-1]), scanned=True, folder=folder)
            n += 1
        return n

    for arg in args:
        p = Path(arg)
        if p.is_dir():
            if scan(p) == 0:
                problems.append((str(arg), "folder has no photos" + ("" if recursive else " (try --recursive)")))
        elif p.is_file():
            add(p)
        elif glob.has_magic(str(arg)):
            matches = sorted(glob.glob(str(arg), recursive=True), key=str.casefold)
            files = [Path(m) for m in matches if Path(m).is_file()]
            if not files:
                problems.append((str(arg), "pattern matches no files"))
            for m in files:
                add(m)
        elif p.exists():
            problems.append((str(arg), "not a regular file or folder"))
        else:
            problems.append((str(arg), "no such file or folder"))
    return found, problems


def _inside_output(path: Path, folder: Path, output: Path | None) -> bool:
    """Whether a scanned photo lies in the output folder, when that folder sits inside the
    scanned one (a rerun must not take earlier outputs as inputs). An output folder that holds
    the scanned one (``retouch batch shoot -r -o .``) excludes nothing."""
    if output is None:
        return False
    folder = folder.resolve()
    return output != folder and output.is_relative_to(folder) and path.is_relative_to(output)


def check_template(template: str) -> None:
    sample = dict(stem="a", ext="jpg", name="a.jpg", srcext="jpg", index=1, dir="sub")
    try:
        out = template.format(**sample)
    except (KeyError, IndexError, ValueError) as exc:
        raise BatchError(
            f"bad --name template {template!r} ({exc}); fields: " + ", ".join("{%s}" % f for f in TEMPLATE_FIELDS)
        ) from None
    if not out or Path(out).is_absolute() or ".." in Path(out).parts:
        raise BatchError(f"--name template {template!r} must give a relative path inside the output folder")


def output_name(template: str, item: InputFile, index: int, ext: str) -> str:
    src = item.path
    name = template.format(
        stem=src.stem, ext=ext, name=src.name, srcext=src.suffix.lstrip("."), index=index, dir=item.rel_dir
    )
    # An empty {dir} (photo not in a sub-folder) leaves a leading "/": drop it.
    name = name.lstrip("/") if not item.rel_dir else name
    parts = [p for p in Path(name).parts if p not in ("", ".")]
    if not parts or ".." in parts or Path(name).is_absolute():
        raise BatchError(f"output name {name!r} for {src} leaves the output folder")
    return str(Path(*parts))


def make_jobs(inputs: Iterable[InputFile], settings: OutputSettings) -> list[BatchJob]:
    """One prepared :class:`BatchJob` per input. Two inputs that would write the same output
    fail with a message naming both (case-insensitively, for macOS and Windows disks)."""
    jobs: list[BatchJob] = []
    claimed: dict[str, BatchJob] = {}
    for i, item in enumerate(inputs, 1):
        fmt = settings.format_for(item.path)
        out = settings.out_dir / output_name(settings.name_template, item, i, FORMATS[fmt][0])
        job = BatchJob(id=i, source=item.path, output=out, existing=settings.existing)
        key = str(out.resolve()).casefold()
        if key in claimed:
            job._settle(JobState.FAILED, f"output name {out.name} is already used by {claimed[key].source}")
        else:
            claimed[key] = job
            job.prepare()
        jobs.append(job)
    return jobs


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def shrink_to_long_edge(pixels: np.ndarray, long_edge: int) -> np.ndarray:
    from PIL import Image

    h, w = pixels.shape[:2]
    if max(h, w) <= long_edge:
        return pixels
    scale = long_edge / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if pixels.dtype == np.uint8:
        return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
    # 16-bit: Pillow has no 16-bit RGB mode, so resample each channel as 32-bit float.
    chans = [
        np.asarray(Image.fromarray(pixels[..., c].astype(np.float32)).resize(size, Image.Resampling.LANCZOS))
        for c in range(3)
    ]
    return np.clip(np.rint(np.stack(chans, -1)), 0, 65535).astype(np.uint16)


def _resize_plane(plane: np.ndarray | None, long_edge: int) -> np.ndarray | None:
    if plane is None or max(plane.shape) <= long_edge:
        return plane
    return shrink_to_long_edge(np.repeat(plane[..., None], 3, axis=2), long_edge)[..., 0].copy()


def to_bits(pixels: np.ndarray, bits: int) -> np.ndarray:
    if bits == 16 and pixels.dtype == np.uint8:
        return pixels.astype(np.uint16) * 257
    if bits == 8 and pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return pixels


def _save(job: BatchJob, pixels: np.ndarray, alpha, fmt: str, bits: int, meta, settings: OutputSettings) -> None:
    from retouch_studio.model.imaging import save_photo

    keep = settings.keep_metadata
    exif, icc = meta
    save_photo(
        job.output,
        pixels,
        fmt,
        settings.quality,
        alpha=alpha,
        exif=exif if keep else None,
        icc=icc if keep else None,
        bit_depth=bits,
        strip_metadata=not keep,
        overwrite=settings.existing == "overwrite",
        source=job.source,
    )


def process_job(job: BatchJob, edit: Edit, settings: OutputSettings, predictor, stop: threading.Event) -> BatchJob:
    """Run one job to a settled state (never raises except KeyboardInterrupt/SystemExit)."""
    from retouch_studio.model.imaging import PhotoError, load_photo

    if job.state.settled:
        return job
    t0 = time.perf_counter()

    def checkpoint() -> None:
        if job.cancelled or stop.is_set():
            raise _Cancelled

    job.state = JobState.RUNNING
    try:
        checkpoint()
        t = time.perf_counter()
        photo = load_photo(job.source)
        job.timings["decode_ms"] = (time.perf_counter() - t) * 1000
        checkpoint()
        pixels, alpha = photo.pixels, photo.alpha
        if settings.resize:
            pixels, alpha = shrink_to_long_edge(pixels, settings.resize), _resize_plane(alpha, settings.resize)
        fmt = settings.format_for(job.source, 16 if pixels.dtype == np.uint16 else 8)
        bits = settings.bits_for(fmt, 16 if pixels.dtype == np.uint16 else 8)
        # Apply at the output depth when it is higher, so 16-bit outputs keep smooth gradations.
        if bits == 16:
            pixels = to_bits(pixels, 16)
        checkpoint()
        t = time.perf_counter()
        edited = edit.render(pixels, predictor, checkpoint, job.timings, in_place=True)
        job.timings["edit_ms"] = (time.perf_counter() - t) * 1000
        checkpoint()
        meta = (photo.exif, photo.icc)
        del photo, pixels  # only the edited frame is needed from here: less memory per worker
        edited = to_bits(edited, bits)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        _save(job, edited, alpha, fmt, bits, meta, settings)
        job.timings["encode_ms"] = (time.perf_counter() - t) * 1000
        job._settle(JobState.DONE)
    except _Cancelled:
        job._settle(JobState.CANCELLED)
    except PhotoError as exc:
        job._settle(JobState.FAILED, _reason(exc, job))
    except (KeyboardInterrupt, SystemExit):
        job._settle(JobState.CANCELLED)
        stop.set()
        raise
    except OSError as exc:
        job._settle(JobState.FAILED, f"{exc.strerror or exc} ({exc.filename or job.output})")
    except MemoryError:
        job._settle(JobState.FAILED, "out of memory")
    except Exception as exc:  # noqa: BLE001 - one bad photo must not stop the batch
        job._settle(JobState.FAILED, f"{type(exc).__name__}: {exc}")
    finally:
        job.seconds = time.perf_counter() - t0
    return job


def _reason(exc, job: BatchJob) -> str:
    path = getattr(exc, "path", None)
    reason = getattr(exc, "reason", None) or str(exc)
    if path and Path(path) != job.source:
        return f"{path}: {reason}"
    return reason


ProgressCallback = Callable[[BatchJob, int, int], None]


def run_batch(
    jobs: Sequence[BatchJob],
    edit: Edit,
    settings: OutputSettings,
    predictor,
    *,
    workers: int = 1,
    progress_callback: ProgressCallback | None = None,
    cancel_event: threading.Event | None = None,
) -> BatchReport:
    """Run prepared jobs; returns a :class:`BatchReport` once every job has settled.

    ``progress_callback(job, settled_count, total)`` runs in the calling thread, once per job
    (jobs already settled by ``prepare()`` are reported first). Setting ``cancel_event`` (or
    Ctrl-C in the calling thread, or a KeyboardInterrupt inside a worker) cancels the rest: the
    report then has ``interrupted=True``. A KeyboardInterrupt in the calling thread is re-raised
    after the workers have stopped, so nothing is left half-written.
    """
    if workers < 1:
        raise BatchError(f"--workers must be >= 1, got {workers}")
    stop = cancel_event if cancel_event is not None else threading.Event()
    predictor = _LockedPredictor(predictor, threading.Lock()) if predictor is not None else None
    total = len(jobs)
    reported: set[int] = set()
    t0 = time.perf_counter()

    def report(job: BatchJob) -> None:
        if id(job) in reported:
            return
        reported.add(id(job))
        if progress_callback is not None:
            progress_callback(job, len(reported), total)

    interrupt: BaseException | None = None
    pending: dict[Future, BatchJob] = {}
    todo = iter([j for j in jobs if not j.state.settled])

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="retouch-batch") as pool:

        def fill() -> None:
            # At most `workers` jobs in flight, so memory stays bounded whatever the batch size.
            while len(pending) < workers and not stop.is_set():
                job = next(todo, None)
                if job is None:
                    return
                if job.cancelled:
                    job._settle(JobState.CANCELLED)
                    report(job)
                    continue
                pending[pool.submit(process_job, job, edit, settings, predictor, stop)] = job

        while True:
            try:
                # Ctrl-C lands in this (the calling) thread: stop, then drain the running jobs,
                # which finish or abandon their current photo without leaving partial files.
                for job in jobs:
                    if job.state.settled and job not in pending.values():
                        report(job)
                fill()
                if not pending:
                    break
                done, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = pending.pop(fut)
                    if isinstance(fut.exception(), (KeyboardInterrupt, SystemExit)):
                        stop.set()  # a worker was interrupted: stop the whole batch
                    report(job)
            except KeyboardInterrupt as exc:
                interrupt = exc
                stop.set()
    for job in jobs:  # never started because the batch was stopped
        if not job.state.settled:
            job._settle(JobState.CANCELLED)
        report(job)
    result = BatchReport(list(jobs), time.perf_counter() - t0, interrupted=stop.is_set())
    if interrupt is not None:
        raise BatchInterrupted(result) from interrupt
    return result


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_batch`; ``report`` describes what was finished."""

    def __init__(self, report: BatchReport):
        super().__init__("batch interrupted")
        self.report = report


def check_edit(edit: Edit) -> None:
    """Refuse content edits ("add a hat") and unreadable text in any of the edit's texts, before
    anything is read or written (the router's decision, ``model.engines.router``)."""
    from retouch_studio.model.engines.router import route
    from retouch_studio.model.instructions import ContentEditError
    from retouch_studio.model.instructions.language import InstructionError

    texts = [edit.instruction] if edit.recipe is None else [layer.instruction for layer in edit.recipe.layers]
    for text in texts:
        try:
            route(text).raise_if_refused()
        except InstructionError as exc:  # no words, too long, not English: the argument is unusable
            raise BatchError(str(exc), Exit.USAGE) from exc
        except ContentEditError as exc:
            raise BatchError(str(exc), Exit.REFUSED) from exc
        except ValueError as exc:  # explicit parameters out of range or misspelt
            raise BatchError(str(exc), Exit.USAGE) from exc
