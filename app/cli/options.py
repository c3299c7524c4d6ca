"""Options several subcommands share, defined once so their names, metavars, checks and help
read the same everywhere (``retouch apply``, ``batch``, ``export-lut``, ``presets save``)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from retouch_studio.model.grid.guidance import STRENGTH_MAX, STRENGTH_MIN


def strength(text: str) -> float:
    """argparse type: an edit strength inside the range the app's slider offers."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and STRENGTH_MIN <= value <= STRENGTH_MAX):
        raise argparse.ArgumentTypeError(f"{text} is outside {STRENGTH_MIN:g}..{STRENGTH_MAX:g}")
    return value


def quality(text: str) -> int:
    """argparse type: a JPEG/WebP quality 1..100."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is outside 1..100")
    return value


def add_instruction(p, *, required: bool = False, group=None, auto: str = "empty or absent = auto") -> None:
    """``-i/--instruction TEXT``; ``auto`` says what an empty instruction does here ("" = nothing)."""
    (group or p).add_argument(
        "-i", "--instruction", metavar="TEXT", required=required,
        help='what to do, e.g. "warmer, lift the shadows"' + (f"; {auto}" if auto else ""),
    )  # fmt: skip


def add_strength(p, default: str = "1, or the preset's") -> None:
    p.add_argument(
        "--strength", type=strength, default=None, metavar="S",
        help=f"edit strength {STRENGTH_MIN:g}..{STRENGTH_MAX:g} (0 = none, 1 = as predicted, 2 = double; "
        f"default {default})",
    )  # fmt: skip


def add_preset(p, group=None) -> None:
    (group or p).add_argument("--preset", metavar="NAME", help="a saved preset (see 'retouch presets list')")


def add_recipe(p, group=None, help: str = "a recipe sidecar (layers, strengths, masks)") -> None:
    (group or p).add_argument("--recipe", type=Path, metavar="FILE", help=help)


def add_model(p) -> None:
    p.add_argument("--model", type=Path, default=None, metavar="DIR", help="model folder (default: the shipped model)")


def add_quality(p) -> None:
    p.add_argument("--quality", type=quality, default=95, metavar="Q", help="JPEG/WebP quality 1-100 (default 95)")


def add_overwrite(p, what: str = "an existing output file") -> None:
    p.add_argument("--overwrite", action="store_true", help=f"replace {what}")


def add_strip_metadata(p) -> None:
    p.add_argument(
        "--strip-metadata", action="store_true",
        help="do not copy EXIF (GPS, camera, capture time); an sRGB profile is still embedded",
    )  # fmt: skip
