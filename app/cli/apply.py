"""``retouch apply``: edit one photo from the command line (same path as the GUI's export)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

FORMATS = ("jpeg", "png", "tiff", "tiff16", "webp")
_EXT_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff", ".webp": "webp"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "apply",
        help="retouch one photo from an instruction",
        description="Retouch one photo: decode, predict a bilateral grid from a 512 px proxy and "
        "the instruction, apply it at full resolution, encode.",
    )
    p.add_argument("input", type=Path, help="photo to edit (never modified)")
    p.add_argument("-i", "--instruction", default=None, help='what to do, e.g. "warmer, lift the shadows"; empty = auto')
    p.add_argument("-o", "--output", type=Path, required=True, help="output file")
    p.add_argument("--strength", type=float, default=None, help="edit strength (0 = none, 1 = as predicted, 2 = double)")
    p.add_argument("--mask", type=Path, help="grayscale image: white = full edit, black = none (resized to the photo)")
    p.add_argument("--model", type=Path, help="model folder (default: the shipped model)")
    add_mask_region_option(p)
    p.add_argument("--preset", help="use a saved preset's instruction and strength")
    p.add_argument("--style", metavar="NAME", help="a learned style (see 'retouch style'); words given with -i go on top")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the output extension)")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default 95)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--strip-metadata", action="store_true", help="do not copy EXIF to the output")
    p.add_argument("--timings", type=Path, help="write per-stage milliseconds to this JSON file")
    p.set_defaults(func=run)


def add_mask_region_option(p: argparse.ArgumentParser) -> None:
    from retouch_studio.model.regions import REGIONS

    p.add_argument(
        "--mask-region", choices=REGIONS, default="",
        help="limit the edit to a region found in each photo (region words such as 'brighten the "
        "faces' or 'moodier sky' do this by themselves)",
    )  # fmt: skip


def output_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    try:
        return _EXT_FORMAT[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; use --format"
        ) from None


def output_bit_depth(fmt: str, source_depth: int) -> int:
    """16-bit out for tiff16, and for TIFF/PNG when the source is 16-bit; 8 otherwise."""
    if fmt == "tiff16":
        return 16
    if fmt in ("tiff", "png") and source_depth == 16:
        return 16
    return 8


def load_mask(path: Path, width: int, height: int) -> np.ndarray:
    from PIL import Image

    from retouch_studio.model.imaging.photo import PhotoError

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


def _fail(msg: str, code: int = 1) -> int:
    print(f"retouch: {msg}", file=sys.stderr)
    return code


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


def check_content_edit(instruction: str) -> None:
    try:
        from retouch_studio.model.instructions import check_instruction
    except ImportError:  # instruction understanding not installed yet
        return
    check_instruction(instruction)


def run(args) -> int:
    from retouch_studio.model.imaging import photo as photo_io
    from retouch_studio.model.pipeline import apply_prediction
    from retouch_studio.model.engines.loader import ModelError, load_predictor

    timings: dict[str, float] = {}

    def lap(key: str, t0: float) -> float:
        now = time.perf_counter()
        timings[key] = round((now - t0) * 1000, 3)
        return now

    from retouch_studio.model.atomic import OutputError, OutputExistsError, check_output, write_atomic
    from retouch_studio.model.schema import check_strength

    try:
        instruction, strength, recipe = resolve_instruction(args)
        strength = check_strength(strength)
        for text in [instruction] + [layer.instruction for layer in (recipe.layers if recipe else [])]:
            check_content_edit(text)
        fmt = output_format(args.output, args.format)
    except Exception as exc:  # noqa: BLE001 - every user error becomes one line
        return _fail(str(exc), 2)
    inputs = [args.input, args.mask]
    try:
        check_output(args.output, overwrite=args.overwrite, inputs=inputs)
        if args.timings:
            if _same_path(args.timings, args.output):
                raise OutputError(args.timings, "--timings and -o name the same file")
            check_output(args.timings, overwrite=args.overwrite, inputs=inputs)
    except OutputExistsError as exc:
        return _fail(f"{exc.path}: already exists (use --overwrite to replace it)")
    except OutputError as exc:
        return _fail(str(exc))

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
        prepare_text = getattr(predictor, "prepare_text", None)
        if prepare_text is not None and recipe is None:
            prepare_text(instruction)  # text understanding, cached; predict() reuses it
        t = lap("text_ms", t)
        pixels = photo.pixels
        depth = output_bit_depth(fmt, photo.bit_depth)
        if depth == 16 and pixels.dtype == np.uint8:
            pixels = pixels.astype(np.uint16) * 257
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
    timings["total_ms"] = round((time.perf_counter() - t_decode) * 1000, 3)
    if args.timings:
        try:
            write_atomic(args.timings, json.dumps(timings, indent=2) + "\n", overwrite=args.overwrite,
                         inputs=inputs + [args.output])
        except OutputError as exc:
            return _fail(str(exc))
    if prediction is not None:
        plan = ", ".join(_describe(step) for step in prediction.plan) if prediction.plan else ""
    print(f"{args.output}: {w}x{h}, strength {strength:g}" + (f"; understood: {plan}" if plan else ""))
    return 0


def _same_path(a: Path, b: Path) -> bool:
    return a.absolute() == b.absolute()


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
        direction = step.get("direction", "")
        return f"{attr} {direction}".strip()
    return str(step)
