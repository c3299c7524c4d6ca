"""``retouch export-lut``: turn the edit on one photo into a 3D LUT (.cube) for other editors.

The instruction is predicted and applied to the photo exactly as ``retouch apply`` does; then
``model.lut.fit_photo_lut`` finds the single global colour mapping (a LUT of ``--size``³ nodes)
closest to that edit in the least-squares sense, with a smoothness term that also fills the colours
the photo does not contain. A bilateral-grid edit can vary across the picture and a LUT cannot, so
the fit is reported as the mean CIEDE2000 difference between the LUT applied to the photo and the
real edit: small for global looks, larger for edits that treat regions differently.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from retouch_studio.app.cli import options
from retouch_studio.app.cli.exit_codes import Exit


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-lut",
        help="fit a 3D LUT (.cube) to the edit on a photo",
        description="Fit a 3D LUT to the edit an instruction makes on a photo and write it as a "
        ".cube file (DaVinci Resolve / Adobe format), reporting the fit's mean ΔE2000 on the photo.",
    )
    p.add_argument("input", type=Path, metavar="INPUT", help="the photo the look is fitted on (never modified)")
    what = p.add_mutually_exclusive_group()
    options.add_instruction(p, group=what, auto='"" = auto mode')
    options.add_preset(p, group=what)
    options.add_recipe(p, group=what, help="a recipe sidecar (masked layers fit poorly)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the .cube file to write")
    p.add_argument("--size", type=int, default=33, metavar="N", help="LUT nodes per axis (default 33; 17, 33, 65 are common)")
    options.add_strength(p)
    p.add_argument("--smoothness", type=float, default=1e-3, metavar="W", help="smoothness weight of the fit (default 1e-3)")
    p.add_argument(
        "--work-size",
        type=int,
        default=1536,
        metavar="PX",
        help="fit and measure on the photo scaled to this long edge (default 1536; 0 = full size)",
    )
    p.add_argument("--title", default=None, metavar="TEXT", help="title stored in the .cube (default: the instruction)")
    options.add_model(p)
    options.add_overwrite(p)
    p.add_argument("--json", action="store_true", help="print the fit report as JSON")
    p.set_defaults(func=run)


class LutCommandError(Exception):
    """One line for the user; ``code`` is the exit code (``app.cli.exit_codes``)."""

    def __init__(self, message: str, code: int = Exit.USAGE):
        super().__init__(message)
        self.code = code


def _edit(args):
    from retouch_studio.app.batch import BatchError
    from retouch_studio.app.cli.batch import edit_from_args

    try:
        return edit_from_args(args)
    except BatchError as exc:
        raise LutCommandError(str(exc), exc.code) from exc


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except LutCommandError as exc:
        print(f"retouch export-lut: {exc}", file=sys.stderr)
        return int(exc.code)


def _run(args: argparse.Namespace) -> int:
    from retouch_studio.app.batch import BatchError, check_edit
    from retouch_studio.model import lut as L
    from retouch_studio.model.imaging import PhotoError, load_photo, to_float
    from retouch_studio.model.engines.base import ModelError
    from retouch_studio.model.engines.loader import load_predictor

    if not 2 <= args.size <= 129:
        raise LutCommandError(f"--size must be in 2..129, got {args.size}")
    from retouch_studio.model.schema import SchemaError, check_number

    try:
        check_number("--smoothness", args.smoothness, 1e-12, 1e6)
    except SchemaError as exc:
        raise LutCommandError(str(exc)) from None
    if args.work_size < 0:
        raise LutCommandError(f"--work-size must be >= 0, got {args.work_size}")
    out = args.output
    if not args.input.is_file():
        raise LutCommandError(f"{args.input}: file not found", Exit.FAILED)
    from retouch_studio.model.atomic import OutputError, OutputExistsError, OutputIsInputError, check_output

    inputs = [args.input, getattr(args, "recipe", None)]
    try:
        check_output(out, overwrite=args.overwrite, inputs=inputs)
    except OutputExistsError:
        raise LutCommandError(f"{out}: already exists (use --overwrite to replace it)", Exit.EXISTS) from None
    except OutputIsInputError as exc:
        raise LutCommandError(str(exc)) from None
    except OutputError as exc:
        raise LutCommandError(str(exc), Exit.FAILED) from None
    edit = _edit(args)
    try:
        check_edit(edit)  # content edits are refused before anything is read or written
    except BatchError as exc:
        raise LutCommandError(str(exc), exc.code) from exc

    try:
        predictor = load_predictor(args.model)
        photo = load_photo(args.input)
    except (PhotoError, ModelError) as exc:
        print(f"retouch export-lut: {exc}", file=sys.stderr)
        return Exit.FAILED
    source = _work_image(photo.pixels, args.work_size)
    try:
        edited = edit.render(to_float(source), predictor, lambda: None)
        fit = L.fit_photo_lut(source, np.clip(edited, 0.0, 1.0), size=args.size, smoothness=args.smoothness)
    except (PhotoError, ValueError) as exc:
        print(f"retouch export-lut: {args.input}: {exc}", file=sys.stderr)
        return Exit.FAILED
    title = args.title if args.title is not None else (edit.instruction or args.input.stem)
    comments = [
        "Made by Retouch Studio (retouch export-lut)",
        f"Edit: {edit.describe()}",
        f"Fitted on: {args.input.name} at {source.shape[1]}x{source.shape[0]}",
        f"Fit: mean dE2000 {fit.delta_e_mean:.3f}, p95 {fit.delta_e_p95:.3f}, max {fit.delta_e_max:.3f}",
        "Input and output: sRGB-encoded values in [0, 1]",
    ]
    try:
        L.write_cube(out, fit.lut, title=title, comments=comments, overwrite=args.overwrite, inputs=inputs)
    except L.CubeError as exc:
        print(f"retouch export-lut: {exc}", file=sys.stderr)
        return Exit.FAILED
    report = {
        "output": str(out),
        "size": args.size,
        "edit": edit.describe(),
        "fitted_on": [int(source.shape[1]), int(source.shape[0])],
        "delta_e_mean": round(fit.delta_e_mean, 4),
        "delta_e_p95": round(fit.delta_e_p95, 4),
        "delta_e_max": round(fit.delta_e_max, 4),
        "colors": fit.colors,
        "solver_iterations": fit.iterations,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{out}: {args.size}^3 LUT of {edit.describe()}, fitted on {args.input.name} "
            f"({source.shape[1]}x{source.shape[0]}); mean ΔE2000 {fit.delta_e_mean:.2f} "
            f"(95th percentile {fit.delta_e_p95:.2f}, max {fit.delta_e_max:.2f})"
        )
    return 0


def _work_image(pixels: np.ndarray, long_edge: int) -> np.ndarray:
    """8-bit working copy (the fit merges identical 8-bit colours), scaled to ``long_edge``."""
    from retouch_studio.app.batch import shrink_to_long_edge, to_bits

    if long_edge:
        pixels = shrink_to_long_edge(pixels, long_edge)
    return np.ascontiguousarray(to_bits(pixels, 8))
