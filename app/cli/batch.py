"""``retouch batch``: one edit applied to many photos (the engine is ``app.batch``)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


from retouch_studio.app.cli import options
from retouch_studio.app.cli.exit_codes import Exit

from retouch_studio.app.batch import (
    BatchError,
    BatchInterrupted,
    BatchJob,
    BatchReport,
    DEFAULT_TEMPLATE,
    Edit,
    FORMATS,
    JobState,
    OUTPUT_EXISTS,
    OutputSettings,
    check_edit,
    collect_inputs,
    make_jobs,
    run_batch,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "batch",
        help="apply one edit to many photos",
        description="Apply an instruction, preset or recipe to files, folders and globs, writing "
        "one output per photo into -o DIR. Existing outputs are never replaced unless asked.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photos, folders or glob patterns")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="output folder (created if missing)")
    what = p.add_mutually_exclusive_group()
    options.add_instruction(p, group=what, auto='"" = auto mode')
    options.add_recipe(p, group=what)
    options.add_preset(p, group=what)
    p.add_argument("--style", metavar="NAME", help="a learned style (see 'retouch style'); -i words go on top")
    options.add_strength(p)
    p.add_argument("--recursive", "-r", action="store_true", help="look into sub-folders of folder inputs")
    p.add_argument(
        "--format", choices=list(FORMATS), default=None,
        help="output format (default: keep the input's when writable, else jpeg)",
    )  # fmt: skip
    options.add_quality(p)
    p.add_argument("--bit-depth", type=int, choices=(8, 16), default=None, help="bits per channel for png/tiff")
    p.add_argument(
        "--resize", type=int, default=None, metavar="LONG_EDGE",
        help="shrink so the long edge is at most this many pixels (never enlarges)",
    )  # fmt: skip
    p.add_argument(
        "--name",
        default=DEFAULT_TEMPLATE,
        metavar="TEMPLATE",
        help="output file name; fields {stem} {ext} {name} {srcext} {index} {dir} (default %(default)s)",
    )
    ex = p.add_mutually_exclusive_group()
    ex.add_argument("--skip-existing", action="store_true", help="leave photos whose output exists")
    options.add_overwrite(ex, "existing outputs")
    options.add_strip_metadata(p)
    p.add_argument(
        "--workers", "-j", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
        help="photos in flight at once; their decode/predict/apply/encode overlap (default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
        help="run on Ray: a local instance without ADDRESS, or join a cluster ('auto', "
        "'ray://host:10001'); inputs and outputs must be on storage every node sees",
    )  # fmt: skip
    p.add_argument("--dry-run", "-n", action="store_true", help="show what would be written and exit")
    options.add_model(p)
    from retouch_studio.app.cli.apply import add_mask_region_option

    add_mask_region_option(p)
    p.add_argument(
        "--timings", type=Path, metavar="FILE",
        help="write per-photo and total per-stage milliseconds to this JSON file",
    )  # fmt: skip
    p.add_argument(
        "--progress", choices=("auto", "bar", "lines", "none"), default="auto",
        help="progress display (default: a bar with ETA on a terminal, plain lines otherwise)",
    )  # fmt: skip
    p.set_defaults(func=run)


def edit_from_args(args) -> Edit:
    from retouch_studio.model.schema import SchemaError, check_strength

    try:
        strength = None if args.strength is None else check_strength(args.strength)
    except SchemaError as exc:
        raise BatchError(f"--{exc}") from None
    style = getattr(args, "style", None)
    if args.preset:
        from retouch_studio.app.presets import PresetError, load_preset

        try:
            preset = load_preset(args.preset)
        except PresetError as exc:
            raise BatchError(str(exc), Exit.FAILED) from exc
        s = preset.strength if strength is None else strength
        if preset.recipe is not None:
            if style:
                raise BatchError("--style cannot be combined with a recipe preset")
            return Edit(strength=s, recipe=_recipe_from_dict(preset.recipe, f"preset {preset.name!r}"))
        return Edit(instruction=_with_style(style, preset.instruction_text()), strength=s)
    s = 1.0 if strength is None else strength
    # Only batch has --mask-region; a LUT (export-lut) cannot be limited to a region.
    regions_apply = hasattr(args, "mask_region")
    region = getattr(args, "mask_region", "") or ""
    if args.recipe is not None:
        if region:
            raise BatchError("--mask-region applies to an instruction, not to a recipe")
        if style:
            raise BatchError("--style cannot be combined with a recipe")
        return Edit(strength=s, recipe=_load_recipe(args.recipe))
    if args.instruction is None and not region and not style:
        raise BatchError("say what to do: -i TEXT, --preset NAME or --recipe FILE (or a learned style: --style NAME)")
    text = _with_style(style, args.instruction or "")
    # Region words ("brighten the faces") or --mask-region make masked layers.
    layers = _recipe_module().recipe_for_text(text, 1.0, region) if regions_apply else None
    if layers is not None:
        # The whole text is checked: splitting it by region must not hide a content edit
        # ("replace the sky with a sunset").
        check_edit(Edit(instruction=args.instruction or "", strength=s))
        return Edit(strength=s, recipe=layers)
    return Edit(instruction=text, strength=s)


def _with_style(style: str | None, words: str) -> str:
    """``words`` on top of the learned style ``style`` (``--style``), or ``words`` alone."""
    if not style:
        return words
    from retouch_studio.app.cli.style import instruction_with_style

    try:
        return instruction_with_style(style, words)
    except ValueError as exc:
        raise BatchError(str(exc)) from exc


def _recipe_module():
    try:
        import retouch_studio.model.recipe as recipe
    except ModuleNotFoundError as exc:
        if exc.name != "retouch_studio.model.recipe":
            raise
        raise BatchError("recipes are not available in this build (model.recipe is missing)") from None
    return recipe


def _load_recipe(path: Path):
    recipe = _recipe_module()
    try:
        return recipe.load_recipe(path)
    except (OSError, ValueError) as exc:  # RecipeError is a ValueError naming the file
        raise BatchError(str(exc), Exit.FAILED) from exc


def _recipe_from_dict(data: dict, source: str):
    recipe = _recipe_module()
    try:
        return recipe.Recipe.from_dict(data, source)
    except (KeyError, TypeError, ValueError) as exc:
        raise BatchError(str(exc), Exit.FAILED) from exc




def _check_writable(folder: Path, dry_run: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise BatchError(f"output {folder} exists and is not a folder")
    if dry_run:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".retouch-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BatchError(f"output folder {folder} is not writable ({exc.strerror or exc})", Exit.FAILED) from None


class _Progress:
    """tqdm bar with ETA on a terminal, one plain line per photo otherwise."""

    def __init__(self, total: int, mode: str, stream=None):
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="photo", file=self.stream, dynamic_ncols=True)

    def __call__(self, job: BatchJob, done: int, total: int) -> None:
        if self.mode == "none":
            return
        label = {
            JobState.DONE: f"-> {job.output}",
            JobState.SKIPPED: f"skipped ({job.error})",
            JobState.FAILED: f"FAILED: {job.error}",
            JobState.CANCELLED: "cancelled",
        }.get(job.state, job.state.value)
        if self.bar is not None:
            if job.state == JobState.FAILED:
                self.bar.write(f"{job.source}: {label}", file=self.stream)
            self.bar.set_postfix_str(job.source.name, refresh=False)
            self.bar.update(1)
        else:
            w = len(str(total))
            print(f"[{done:>{w}}/{total}] {job.source} {label}", file=sys.stdout, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BatchError as exc:
        print(f"retouch batch: {exc}", file=sys.stderr)
        return int(exc.code)


def _run(args: argparse.Namespace) -> int:
    existing = "skip" if args.skip_existing else "overwrite" if args.overwrite else "refuse"
    settings = OutputSettings(
        out_dir=args.output,
        fmt=args.format,
        quality=args.quality,
        bit_depth=args.bit_depth,
        resize=args.resize,
        name_template=args.name,
        existing=existing,
        keep_metadata=not args.strip_metadata,
    )
    if getattr(args, "ray", None) is not None:
        from retouch_studio.app.cluster import ClusterError, import_ray

        try:
            import_ray()
        except ClusterError as exc:
            raise BatchError(str(exc)) from None
    if args.workers < 1:
        raise BatchError(f"--workers must be >= 1, got {args.workers}")
    # Cheap checks first: missing photos and existing outputs are reported before anything loads.
    inputs, problems = collect_inputs(args.inputs, args.recursive, exclude=args.output)
    jobs = make_jobs(inputs, settings)
    for arg, reason in problems:
        print(f"retouch batch: {arg}: {reason}", file=sys.stderr)
    if not jobs:
        print("retouch batch: no photos to process", file=sys.stderr)
        return Exit.FAILED
    edit = edit_from_args(args)
    if args.dry_run:
        check_edit(edit)
        return _dry_run(jobs, edit, settings, problems)
    existing_outputs = [j for j in jobs if j.state == JobState.FAILED and j.error == OUTPUT_EXISTS]
    if existing_outputs:
        # One line for the whole batch (a rerun onto the same folder), not one error per photo.
        raise BatchError(
            f"{len(existing_outputs)} of {len(jobs)} outputs already exist in {settings.out_dir} "
            f"(e.g. {existing_outputs[0].output.name}); nothing written: add --skip-existing to leave "
            "them or --overwrite to replace them",
            Exit.EXISTS,
        )
    check_edit(edit)
    _check_writable(settings.out_dir, dry_run=False)
    from retouch_studio.model.atomic import remove_stale_parts
    from retouch_studio.model.folder_lock import FolderLock, FolderLockedError

    lock = FolderLock(settings.out_dir)
    try:
        lock.acquire()
    except FolderLockedError as exc:
        raise BatchError(str(exc)) from None
    try:
        remove_stale_parts(settings.out_dir)
        if getattr(args, "ray", None) is not None:
            return _run_on_ray(args, jobs, edit, settings, problems)
        return _run_locked(args, jobs, edit, settings, problems)
    finally:
        lock.release()


def _run_locked(args, jobs, edit: Edit, settings: OutputSettings, problems) -> int:
    from retouch_studio.model.engines.base import ModelError
    from retouch_studio.model.engines.loader import load_predictor

    t_load = time.perf_counter()
    if any(j.state == JobState.PENDING for j in jobs):
        try:
            predictor = load_predictor(args.model)
        except ModelError as exc:
            raise BatchError(str(exc), Exit.FAILED) from exc
    else:
        predictor = None
    load_ms = (time.perf_counter() - t_load) * 1000
    print(f"retouch batch: {edit.describe()}, {len(jobs)} photos -> {settings.out_dir} ({args.workers} workers)", file=sys.stderr)
    progress = _Progress(len(jobs), args.progress)
    try:
        report = run_batch(jobs, edit, settings, predictor, workers=args.workers, progress_callback=progress)
    except BatchInterrupted as exc:
        report = exc.report
    finally:
        progress.close()
    _print_summary(report, problems)
    if args.timings:
        write_timings(args.timings, report, load_ms)
    if report.interrupted:
        return Exit.INTERRUPTED
    return Exit.OK if report.ok and not problems else Exit.FAILED


def write_timings(path: Path, report: BatchReport, load_ms: float) -> None:
    """``--timings``: per-photo stage milliseconds, their sums and the wall time, as JSON."""
    import json

    photos = [
        {"source": str(j.source), "output": str(j.output), "state": j.state.value,
         **{k: round(v, 3) for k, v in j.timings.items()}}
        for j in report.jobs
    ]  # fmt: skip
    stages: dict[str, float] = {}
    for job in report.jobs:
        for key, value in job.timings.items():
            stages[key] = stages.get(key, 0.0) + value
    summary = {
        "photos": len(report.jobs),
        "written": report.count(JobState.DONE),
        "load_ms": round(load_ms, 3),
        "wall_ms": round(report.seconds * 1000, 3),
        "stage_sums_ms": {k: round(v, 3) for k, v in stages.items()},
    }
    path.write_text(json.dumps({"summary": summary, "photos": photos}, indent=2) + "\n")


def _run_on_ray(args, jobs: list[BatchJob], edit: Edit, settings: OutputSettings, problems) -> int:
    from retouch_studio.app.cluster import ClusterError, run_batch_on_ray

    address = None if args.ray == "local" else args.ray
    where = "a local Ray instance" if address is None else f"Ray at {address}"
    print(
        f"retouch batch: {edit.describe()}, {len(jobs)} photos -> {settings.out_dir} ({args.workers} workers on {where})",
        file=sys.stderr,
    )
    progress = _Progress(len(jobs), args.progress)
    try:
        report = run_batch_on_ray(
            jobs, edit, settings, model_dir=args.model, workers=args.workers, address=address,
            progress_callback=progress,
        )  # fmt: skip
    except ClusterError as exc:
        raise BatchError(str(exc), Exit.FAILED) from None
    except BatchInterrupted as exc:
        report = exc.report
    finally:
        progress.close()
    _print_summary(report, problems)
    if report.interrupted:
        return Exit.INTERRUPTED
    return Exit.OK if report.ok and not problems else Exit.FAILED


def _dry_run(jobs: list[BatchJob], edit: Edit, settings: OutputSettings, problems) -> int:
    print(f"dry run: {edit.describe()} -> {settings.out_dir}")
    for job in jobs:
        if job.state == JobState.PENDING:
            print(f"  write  {job.source} -> {job.output}")
        elif job.state == JobState.SKIPPED:
            print(f"  skip   {job.source} ({job.error})")
        else:
            print(f"  FAIL   {job.source}: {job.error}")
    n_write = sum(j.state == JobState.PENDING for j in jobs)
    n_fail = sum(j.state == JobState.FAILED for j in jobs)
    n_skip = sum(j.state == JobState.SKIPPED for j in jobs)
    print(f"dry run: {n_write} would be written, {n_skip} skipped, {n_fail} would fail; nothing written")
    return Exit.OK if n_fail == 0 and not problems else Exit.FAILED


def _print_summary(report: BatchReport, problems) -> None:
    print(report.summary())
    failures = [(str(j.source), j.error or "failed") for j in report.failed] + list(problems)
    if failures:
        print(f"failed ({len(failures)}):", file=sys.stderr)
        for path, reason in failures:
            print(f"  {path}: {reason}", file=sys.stderr)
