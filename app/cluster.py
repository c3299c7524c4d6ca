"""Run a prepared batch on a Ray cluster (``retouch batch --ray [ADDRESS]``).

Ray does the distribution: scheduling, worker processes, retries and restarts of dead workers.
This module only maps the local batch onto it, so a photo written here is byte-identical to the
same photo written by :func:`run_batch`:

* each worker is a Ray actor that loads the model once and then runs the local batch's own
  :func:`process_job` on the photos it is given (same decode, apply path and atomic writer);
* the driver prepares the jobs (names, existing outputs) and checks the instruction once for the
  whole batch before any worker starts, reports progress in order of completion, and cancels the
  rest on Ctrl-C;
* a worker process that dies is restarted by Ray and its photo retried on a live worker
  (``max_task_retries``); a photo that keeps killing its worker fails alone after the retries.

Inputs and outputs are plain paths that every node must see (a shared NFS/SMB mount, or a bucket
mounted with a FUSE tool); ``docs/cluster.md`` explains the set-up.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from retouch_studio.app.batch import (
    BatchInterrupted,
    BatchJob,
    BatchReport,
    Edit,
    JobState,
    OutputSettings,
    process_job,
)

INSTALL_HINT = "Ray is not installed: pip install 'retouch-studio[cluster]' (or pip install ray)"

# A photo whose worker dies this many times more is reported as failed, so a file that crashes
# the decoder cannot keep a worker restarting for the rest of the batch.
TASK_RETRIES = 2


class ClusterError(Exception):
    """Ray is missing or the cluster cannot be reached; the message says what to do."""


def import_ray():
    try:
        import ray
    except ModuleNotFoundError as exc:
        if exc.name != "ray":
            raise
        raise ClusterError(INSTALL_HINT) from None
    return ray


@dataclass(frozen=True)
class JobSpec:
    """What a worker needs to run one job: plain data, so it crosses process boundaries cheaply."""

    id: int
    source: str
    output: str
    existing: str


@dataclass(frozen=True)
class JobResult:
    id: int
    state: str
    error: str | None
    seconds: float
    timings: dict
    pid: int


class _Worker:
    """One photo at a time with a model loaded once per process (a Ray actor)."""

    def __init__(self, model_dir: str | None, edit: Edit, settings: OutputSettings, started: float):
        from retouch_studio.model.engines.loader import load_predictor

        self.predictor = load_predictor(Path(model_dir) if model_dir else None)
        self.edit = edit
        self.settings = settings
        self.started = started
        # The actor takes a few calls at once so that stop() reaches it while a photo runs;
        # photos themselves run one at a time.
        self._one_photo = threading.Lock()
        self._stop = threading.Event()

    def pid(self) -> int:
        return os.getpid()

    def stop(self) -> None:
        """Cancel the queued photos and stop the running one before its next stage."""
        self._stop.set()

    def run(self, spec: JobSpec) -> JobResult:
        job = BatchJob(id=spec.id, source=Path(spec.source), output=Path(spec.output), existing=spec.existing)
        with self._one_photo:
            if self._stop.is_set():
                job._settle(JobState.CANCELLED)
            elif self._written_by_earlier_attempt(job):
                job._settle(JobState.DONE)
            else:
                process_job(job, self.edit, self.settings, self.predictor, self._stop)
        return JobResult(spec.id, job.state.value, job.error, job.seconds, dict(job.timings), os.getpid())

    def _written_by_earlier_attempt(self, job: BatchJob) -> bool:
        # Outputs appear only by an atomic rename, so a final file that is newer than the batch
        # and was not there when the driver prepared the job is complete: the worker that wrote it
        # died before it could report.
        if job.existing == "overwrite":
            return False
        try:
            return job.output.stat().st_mtime >= self.started
        except OSError:
            return False


def connect(address: str | None, workers: int):
    """Start a local Ray instance (``address`` None) or join a running cluster."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    options = dict(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        if address is None:
            ray.init(num_cpus=workers, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "a local Ray instance" if address is None else f"the Ray cluster at {address}"
        raise ClusterError(f"cannot start or reach {where}: {exc}") from None
    return ray


ProgressCallback = Callable[[BatchJob, int, int], None]


def run_batch_on_ray(
    jobs: Sequence[BatchJob],
    edit: Edit,
    settings: OutputSettings,
    *,
    model_dir: Path | None,
    workers: int,
    address: str | None = None,
    progress_callback: ProgressCallback | None = None,
    cancel_event: threading.Event | None = None,
    on_workers: Callable[[list], None] | None = None,
) -> BatchReport:
    """Run prepared jobs on ``workers`` Ray actors; the same contract as ``run_batch``.

    ``on_workers(actors)`` is called once the actors exist (tests use it to find their pids).
    """
    if workers < 1:
        raise ClusterError(f"--workers must be >= 1, got {workers}")
    ray = connect(address, workers)
    stop = cancel_event if cancel_event is not None else threading.Event()
    total = len(jobs)
    by_id = {job.id: job for job in jobs}
    settled = 0
    t0 = time.perf_counter()

    def report(job: BatchJob) -> None:
        nonlocal settled
        settled += 1
        if progress_callback is not None:
            progress_callback(job, settled, total)

    for job in jobs:
        if job.state.settled:
            report(job)
    todo = [job for job in jobs if not job.state.settled]
    actor_cls = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=TASK_RETRIES, max_concurrency=4)(_Worker)
    started = time.time()
    actors = [
        actor_cls.remote(str(model_dir) if model_dir else None, edit, settings, started)
        for _ in range(min(workers, max(1, len(todo))))
    ]
    if on_workers is not None:
        on_workers(actors)
    interrupt: BaseException | None = None
    # At most two photos queued per worker: memory stays bounded and a restarted worker does not
    # hold a long queue of retries.
    queue = list(todo)
    pending: dict = {}
    free = [a for a in actors for _ in range(2)]
    try:
        while (queue or pending) and not stop.is_set():
            while queue and free:
                job, actor = queue.pop(0), free.pop(0)
                job.state = JobState.RUNNING
                ref = actor.run.remote(JobSpec(job.id, str(job.source), str(job.output), job.existing))
                pending[ref] = (job, actor)
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
            for ref in done:
                job, actor = pending.pop(ref)
                free.append(actor)
                _settle_from(ray, ref, job)
                report(job)
    except KeyboardInterrupt as exc:
        interrupt = exc
        stop.set()
    if stop.is_set():
        # Queued photos come back cancelled; a running one stops before its next stage or, past
        # the last one, finishes its atomic write: either way its true state is reported.
        for actor in actors:
            actor.stop.remote()
        for ref, (job, _) in list(pending.items()):
            _settle_from(ray, ref, job)
            report(job)
    for actor in actors:
        ray.kill(actor, no_restart=True)
    for job in by_id.values():
        if not job.state.settled:
            job._settle(JobState.CANCELLED)
            report(job)
    result = BatchReport(list(jobs), time.perf_counter() - t0, interrupted=stop.is_set())
    if interrupt is not None:
        raise BatchInterrupted(result) from interrupt
    return result


def _settle_from(ray, ref, job: BatchJob) -> None:
    from ray.exceptions import RayActorError, TaskCancelledError, WorkerCrashedError

    try:
        res: JobResult = ray.get(ref)
    except TaskCancelledError:
        job._settle(JobState.CANCELLED)
        return
    except (RayActorError, WorkerCrashedError):
        job._settle(
            JobState.FAILED,
            f"the worker processing this photo died {TASK_RETRIES + 1} times (the file may crash the decoder)",
        )
        return
    job.seconds = res.seconds
    job.timings.update(res.timings)
    job._settle(JobState(res.state), res.error)
