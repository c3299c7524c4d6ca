"""``retouch apply``: edit one photo from the command line (same path as the GUI's export)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

from retouch_studio.app.cli import options
from retouch_studio.app.cli.exit_codes import Exit

FORMATS = ("jpeg", "png", "tiff", "tiff16", "webp")
_EXT_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff", ".webp": "webp"}
_FORMAT_EXT = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "tiff16": ".tif", "webp": ".webp"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "apply",
        help="retouch one photo from an instruction",
        description="Retouch one photo: decode, predict a bilateral grid from a 512 px proxy and "
        "the instruction, apply it at full resolution, encode.",
    )
    p.add_argument("input", type=Path, metavar="INPUT", help="photo to edit (never modified)")
    options.add_instruction(p)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="output file")
    options.add_strength(p)
    p.add_argument(
        "--mask", type=Path, metavar="FILE",
        help="grayscale image: white = full edit, black = none (resized to the photo)",
    )  # fmt: skip
    options.add_model(p)
    add_mask_region_option(p)
    options.add_preset(p)
    p.add_argument("--style", metavar="NAME", help="a learned style (see 'retouch style'); words given with -i go on top")
    p.add_argument(
        "--format", choices=FORMATS,
        help="output format (default: from the output extension; must agree with it)",
    )  # fmt: skip
    options.add_quality(p)
    options.add_overwrite(p)
    options.add_strip_metadata(p)
    p.add_argument("--timings", type=Path, metavar="FILE", help="write per-stage milliseconds to this JSON file")
    p.set_defaults(func=run)


def add_mask_region_option(p: argparse.ArgumentParser) -> None:
    from retouch_studio.model.regions import REGIONS

    p.add_argument(
        "--mask-region", choices=REGIONS, default="",
        help="limit the edit to a region found in each photo (region words such as 'brighten the "
        "faces' or 'moodier sky' do this by themselves)",
    )  # fmt: skip


def output_format(path: Path, fmt: str | None) -> str:
    """The format to write: ``--format`` if given, else the extension's. A format that the
    extension contradicts (``--format png -o x.jpg``) is an error: the bytes would lie about the name."""
    named = _EXT_FORMAT.get(path.suffix.lower())
    if fmt:
        if named is not None and named != fmt and not (named == "tiff" and fmt == "tiff16"):
            raise ValueError(
                f"{path}: --format {fmt} does not match the {path.suffix} extension; "
                f"name the output {path.with_suffix(_FORMAT_EXT[fmt]).name} or leave --format out"
            )
        return fmt
    if named is None:
        raise ValueError(f"{path}: cannot tell the format from the extension {path.suffix!r}; use --format")
    return named


def output_bit_depth(fmt: str, source_depth: int) -> int:
    """16-bit out for tiff16, and for TIFF/PNG when the source is 16-bit; 8 otherwise."""
    if fmt == "tiff16":
        return 16
    if fmt in ("tiff", "png") and source_depth == 16:
        return 16
    return 8


def load_mask(path: Path, width: int, height: int) -> np.ndarray:
    from PIL import Image

    from retouch_studio.model.imaging import PhotoError

    try:
        with Image.open(path) as im:
            im = im.convert("L")
            if im.size != (width, height):
                im = im.resize((width, height), Image.Resampling.BILINEAR)
            return np.asarray(im, np.float32) / 255.0
    except FileNotFoundError:
        raise PhotoError(path, "mask file not found") from None
    except Exception as exc:  # noqa: BLE001
        raise PhotoError(path, f"cannot read mask ({exc})") from exc


def _fail(msg: str, code: int = Exit.FAILED) -> int:
    print(f"retouch apply: {msg}", file=sys.stderr)
    return int(code)


def resolve_instruction(args):
    """(instruction, strength, recipe or None) from -i/--strength and an optional preset."""
    instruction, strength, recipe = args.instruction, args.strength, None
    region = getattr(args, "mask_region", "") or ""
    if getattr(args, "preset", None):
        from retouch_studio.app.presets import load_preset

        preset = load_preset(args.preset)
        if preset.recipe is not None:
            from retouch_studio.model.recipe import Recipe

            recipe = Recipe.from_dict(preset.recipe, f"preset {preset.name!r}")
        elif instruction is None:
            instruction = preset.instruction_text()
        if strength is None:
            strength = preset.strength
    if getattr(args, "style", None):
        from retouch_studio.app.cli.style import instruction_with_style

        if recipe is not None:
            raise ValueError("--style cannot be combined with a recipe preset")
        instruction = instruction_with_style(args.style, instruction or "")
    if recipe is None:
        from retouch_studio.model.recipe import recipe_for_text

        recipe = recipe_for_text(instruction or "", 1.0, region)
    elif region:
        raise ValueError("--mask-region applies to an instruction, not to a recipe preset")
    return (instruction or ""), (1.0 if strength is None else strength), recipe


def check_content_edit(instruction: str):
    """The reading of ``instruction``; raises ContentEditError (nothing doable) or
    NotUnderstoodError (nothing read as a request) before anything is loaded or written."""
    from retouch_studio.model.instructions import check_instruction

    return check_instruction(instruction)


def not_done_line(readings) -> str | None:
    """One line naming the parts of the request that were not done (None when all were)."""
    parts = [clause for r in readings if r is not None for clause in r.not_done]
    if not parts:
        return None
    return "not done: " + "; ".join(repr(p) for p in parts) + " (retouching changes only tone and colour)"


def run(args) -> int:
    timings: dict[str, float] = {}

    def lap(key: str, t0: float) -> float:
        now = time.perf_counter()
        timings[key] = round((now - t0) * 1000, 3)
        return now

    # Cheap checks first: a typo or a missing file is reported before anything heavy loads.
    try:
        fmt = output_format(args.output, args.format)
    except ValueError as exc:
        return _fail(str(exc), Exit.USAGE)
    if not args.input.exists():
        return _fail(f"{args.input}: file not found")
    if not args.input.is_file():
        return _fail(f"{args.input}: not a file")
    if args.mask is not None and not args.mask.is_file():
        return _fail(f"{args.mask}: mask file not found")
    from retouch_studio.model.atomic import OutputError, OutputExistsError, OutputIsInputError, check_output, write_atomic

    inputs = [args.input, args.mask]
    try:
        check_output(args.output, overwrite=args.overwrite, inputs=inputs)
        if args.timings:
            if _same_path(args.timings, args.output):
                raise OutputIsInputError(args.timings, "--timings and -o name the same file")
            check_output(args.timings, overwrite=args.overwrite, inputs=inputs)
    except OutputExistsError as exc:
        return _fail(f"{exc.path}: already exists (use --overwrite to replace it)", Exit.EXISTS)
    except OutputIsInputError as exc:
        return _fail(str(exc), Exit.USAGE)
    except OutputError as exc:
        return _fail(str(exc))
    try:
        instruction, strength, recipe = resolve_instruction(args)
    except Exception as exc:  # noqa: BLE001 - a missing or broken preset is one line
        return _fail(str(exc))
    # Loading numba's cached kernels is mostly LLVM work outside the GIL: it overlaps with the
    # text check, the model load and the decode below instead of waiting for the first apply.
    # Joined before the first kernel runs here: numba's workqueue layer (where OpenMP and TBB are
    # missing) must not launch parallel kernels from two threads at once.
    # The instruction modules are imported before the warm-up thread starts: two threads importing
    # the same packages at once can see one of them half initialised.
    from retouch_studio.model.instructions import ContentEditError, NotUnderstoodError
    from retouch_studio.model.instructions.language import InstructionError

    warm = threading.Thread(target=_warm_kernels, name="retouch-warm-kernels", daemon=True)
    warm.start()
    try:
        readings = [check_content_edit(text)
                    for text in [instruction] + [layer.instruction for layer in (recipe.layers if recipe else [])]]
    except InstructionError as exc:  # no words, too long, not English: the argument is unusable
        return _fail(str(exc), Exit.USAGE)
    except ContentEditError as exc:
        return _fail(str(exc), Exit.REFUSED)
    except NotUnderstoodError as exc:  # nothing read as a request: no edit, nothing written
        return _fail(str(exc), Exit.NOT_UNDERSTOOD)

    from retouch_studio.model import imaging as photo_io
    from retouch_studio.model.engines.base import ModelError
    from retouch_studio.model.engines.loader import load_predictor
    from retouch_studio.model.pipeline import apply_prediction

    try:
        t = time.perf_counter()
        predictor = load_predictor(args.model)
        t_decode = lap("load_ms", t)
        photo = photo_io.load_photo(args.input)
        t = lap("decode_ms", t_decode)
        h, w = photo.pixels.shape[:2]
        mask = load_mask(args.mask, w, h) if args.mask else None
        proxy = photo_io.make_proxy(photo.pixels, 512)
        t = lap("proxy_ms", t)
        if recipe is None:
            predictor.prepare_text(instruction)  # text understanding, cached; predict() reuses it
        t = lap("text_ms", t)
        pixels = photo.pixels
        depth = output_bit_depth(fmt, photo.bit_depth)
        if depth == 16 and pixels.dtype == np.uint8:
            pixels = pixels.astype(np.uint16) * 257
        warm.join()
        if recipe is None:
            prediction = predictor.predict(proxy, instruction)
            t = lap("predict_ms", t)
            # in place: the decoded pixels are not needed afterwards, and a huge photo then
            # never exists twice in memory
            out = apply_prediction(pixels, prediction, strength, mask, out=pixels if pixels.flags.writeable else None)
        else:  # layers (region words or a recipe preset) predict and apply in turn (timed as apply)
            prediction = None
            t = lap("predict_ms", t)
            predictions: dict = {}
            out = _render_recipe(pixels, recipe, strength, predictor, predictions)
            plan = describe_layers(recipe, predictions, pixels)
        t = lap("apply_ms", t)
        photo_io.save_photo(
            args.output, out, fmt=fmt, quality=args.quality, bit_depth=depth, **_metadata_kwargs(photo, args)
        )
        lap("encode_ms", t)
    except photo_io.PhotoExistsError as exc:
        return _fail(f"{exc.path}: already exists (use --overwrite to replace it)")
    except (photo_io.PhotoError, ModelError) as exc:
        return _fail(str(exc))
    except MemoryError:
        return _fail(f"{args.input}: not enough memory")
    except ValueError as exc:
        return _fail(f"{args.input}: {exc}")
    skipped = not_done_line(readings)
    if skipped:
        print(f"retouch: {skipped}", file=sys.stderr)
    timings["total_ms"] = round((time.perf_counter() - t_decode) * 1000, 3)
    if args.timings:
        try:
            write_atomic(args.timings, json.dumps(timings, indent=2) + "\n", overwrite=args.overwrite,
                         inputs=inputs + [args.output])
        except OutputError as exc:
            return _fail(str(exc))
    summary = describe_edit(instruction, prediction) if prediction is not None else plan
    print(f"{args.output}: {w}x{h}, strength {strength:g}" + (f"; {summary}" if summary else ""))
    return 0


def _same_path(a: Path, b: Path) -> bool:
    return a.absolute() == b.absolute()


def _warm_kernels() -> None:
    """Load (or, once per machine, compile) the fused kernels an apply of an 8-bit photo and the
    plan check on the float proxy use. Failures are left for the real call to report."""
    try:
        from retouch_studio.model.grid import cpu_slice
        from retouch_studio.model.grid.guidance import GuidanceParams

        grid = np.zeros((12, 2, 1, 1), np.float32)
        grid[[0, 5, 10]] = 1.0
        for dtype in (np.uint8, np.float32):
            cpu_slice.slice_apply(np.zeros((2, 2, 3), dtype), grid, GuidanceParams.luminance(), 1.0)
    except Exception:  # noqa: BLE001 - only a head start; the apply itself reports errors
        pass


def describe_edit(instruction: str, prediction) -> str:
    """What was applied, in the values the renderer used ("temperature +12, shadows +20"), or
    which learned edit; auto mode says what it corrected, or that it left the photo alone."""
    from retouch_studio.model.params import format_params

    params = format_params(prediction.params) if prediction.params else ""
    if not instruction.strip():
        if params:
            return f"auto: {params}"
        return "auto: left unchanged (already well exposed and neutral)"
    if params:
        return f"applied: {params}"
    understood = ", ".join(_describe(step) for step in prediction.plan)
    return "applied: learned edit" + (f" for {understood}" if understood else "")


def _render_recipe(pixels, recipe, strength, predictor, predictions=None):
    from dataclasses import replace

    from retouch_studio.model.recipe import render_recipe

    layers = [replace(layer, strength=layer.strength * strength) for layer in recipe.layers]
    return render_recipe(pixels, replace(recipe, layers=layers), lambda layer: predictor, predictions=predictions)


def describe_layers(recipe, predictions: dict, pixels) -> str:
    """What each layer understood, and where: "in the sky (sky): exposure darker; ..."."""
    from retouch_studio.model.regions.masks import region_mask

    parts = []
    for layer in recipe.layers:
        pred = predictions.get(layer.id)
        what = ", ".join(_describe(step) for step in pred.plan) if pred is not None and pred.plan else layer.instruction
        if layer.region:
            found = region_mask(pixels, layer.region)  # cached: the render already found it
            where = ("everywhere but " if layer.invert else "in ") + f"the {layer.region} ({found.note})"
            if not found.found and not layer.invert:
                what = "nothing changed"
            parts.append(f"{where}: {what}")
        elif what:
            parts.append(what)
    return "; ".join(parts)


def _metadata_kwargs(photo, args) -> dict:
    """Alpha, EXIF and ICC travel from the original to the output (unless stripped)."""
    return {
        "alpha": photo.alpha,
        "exif": photo.exif,
        "icc": photo.icc,
        "source": photo.path,
        "overwrite": args.overwrite,
        "strip_metadata": args.strip_metadata,
    }


def _describe(step) -> str:
    if isinstance(step, dict):
        attr = step.get("attribute", "?")
        label = step.get("label") or ("up" if step.get("direction", 1) >= 0 else "down")
        return f"{attr} ({label})"
    return str(step)
