"""What every file the program reads must look like, checked before anything uses it.

Recipes and sidecars, presets and model configs are JSON written by people and other programs;
each is read with :func:`read_json` (size and nesting bounded, one typed error) and checked against
a schema here (pydantic), so a bad file is reported with its path and the field at fault instead
of failing deep inside the program. Every number must be finite and inside the range the program
can use; the ranges live here, once.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retouch_studio.model.regions import REGIONS

# Edit strength range: defined with the grid conventions (the app's slider goes 0-200 %).
from retouch_studio.model.grid.guidance import STRENGTH_MAX, STRENGTH_MIN

#: Longest instruction read, in characters; longer ones are refused with this number.
MAX_INSTRUCTION_CHARS = 2000
#: Largest JSON file read (recipes with many brush strokes stay far below).
MAX_JSON_BYTES = 32 * 1024 * 1024
MAX_LAYERS = 256
MAX_STROKES = 100_000
MAX_POINTS = 1_000_000
#: Photo sizes a recipe may refer to (pixels per side).
MAX_SIDE = 1_000_000


class SchemaError(ValueError):
    """A file (or a value from the command line) does not have the expected shape.

    ``source`` names the file, ``field`` the value at fault (``layers.0.strokes.2.radius``).
    """

    def __init__(self, source: str, field: str, problem: str):
        self.source, self.field, self.problem = source, field, problem
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {problem}" if field else f"{where}{problem}")


Finite = Annotated[float, Field(allow_inf_nan=False)]
Strength = Annotated[float, Field(ge=STRENGTH_MIN, le=STRENGTH_MAX, allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Coord = Annotated[float, Field(ge=-10.0 * MAX_SIDE, le=10.0 * MAX_SIDE, allow_inf_nan=False)]
Side = Annotated[int, Field(ge=1, le=MAX_SIDE)]
Text = Annotated[str, Field(max_length=MAX_INSTRUCTION_CHARS)]
Name = Annotated[str, Field(max_length=200)]
RegionName = Literal[("",) + REGIONS]  # type: ignore[valid-type]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StrokeSchema(_Schema):
    points: Annotated[list[tuple[Coord, Coord]], Field(max_length=MAX_POINTS)]
    radius: Annotated[float, Field(gt=0.0, le=float(MAX_SIDE), allow_inf_nan=False)] = 50.0
    feather: Unit = 0.5
    flow: Unit = 1.0
    erase: bool = False


class LayerSchema(_Schema):
    instruction: Text = ""
    kind: Literal["instruction", "params", "auto"] = "instruction"
    strength: Strength = 1.0
    visible: bool = True
    strokes: Annotated[list[StrokeSchema], Field(max_length=MAX_STROKES)] = []
    edge_aware: bool = False
    invert: bool = False
    name: Name = ""
    id: Annotated[str, Field(max_length=64)] | None = None
    region: RegionName = ""
    region_model: Name = ""


class RecipeSchema(_Schema):
    version: Annotated[int, Field(ge=1, le=1)] = 1
    model: Name = "default"
    image_size: tuple[Side, Side] | None = None
    layers: Annotated[list[LayerSchema], Field(max_length=MAX_LAYERS)] = []


class InstructionFileSchema(_Schema):
    """The short form ``{"instruction": ..., "strength": ...}`` a recipe file may also take."""

    instruction: Text
    strength: Strength = 1.0


class PresetSchema(_Schema):
    version: Annotated[int, Field(ge=1, le=1)] = 1
    name: Name
    instruction: Text | None = None
    params: dict[Annotated[str, Field(max_length=64)], Finite] | None = None
    recipe: dict[str, Any] | None = None
    strength: Strength = 1.0


class ModelConfigSchema(_Schema):
    """The part of a model folder's ``config.json`` every engine shares."""

    model_config = ConfigDict(extra="allow", frozen=True)
    engine: Annotated[str, Field(min_length=1, max_length=64)]
    model_id: Name | None = None
    grid_shape: tuple[Annotated[int, Field(ge=2, le=256)], Side, Side] | None = None
    route_to_params: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=1000)] = []
    verify_with_plan: bool = False


class CompactConfigSchema(_Schema):
    """The compact engine's network sizes (``model.compact.CompactConfig``)."""

    text_dim: Annotated[int, Field(ge=1, le=8192)] = 384
    net_size: Annotated[int, Field(ge=8, le=2048, multiple_of=8)] = 64
    grid_depth: Annotated[int, Field(ge=2, le=256)] = 8
    channels: tuple[
        Annotated[int, Field(ge=1, le=4096)], Annotated[int, Field(ge=1, le=4096)], Annotated[int, Field(ge=1, le=4096)]
    ] = (16, 32, 64)
    global_channels: Annotated[int, Field(ge=1, le=4096)] = 64
    text_hidden: Annotated[int, Field(ge=1, le=8192)] = 128
    hidden: Annotated[int, Field(ge=1, le=8192)] = 256
    residual_scale: Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)] = 0.05
    max_clauses: Annotated[int, Field(ge=1, le=256)] = 4


S = TypeVar("S", bound=BaseModel)


def validate(schema: type[S], data: Any, source: str = "") -> S:
    """``schema`` checked against ``data``; :class:`SchemaError` names ``source`` and the field."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err.get("loc", ()))
        problem = err.get("msg", "invalid")
        value = err.get("input")
        if isinstance(value, (int, float, str)) and not isinstance(value, bool) and len(repr(value)) <= 40:
            problem += f" (got {value!r})"
        more = exc.error_count() - 1
        if more:
            problem += f"; {more} more problem{'s' if more > 1 else ''}"
        raise SchemaError(source, field, problem) from None


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Parse a JSON file; :class:`SchemaError` for a missing, huge, non-UTF-8, malformed or too
    deeply nested file (never a RecursionError)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise SchemaError(str(path), "", f"{what} is {size / 1e6:.0f} MB (at most {MAX_JSON_BYTES // 2**20} MB)")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SchemaError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise SchemaError(str(path), "", "is a folder, not a file") from None
    except OSError as exc:
        raise SchemaError(str(path), "", f"cannot read ({exc.strerror or exc})") from None
    return parse_json(raw, str(path), what)


def parse_json(raw: bytes | str, source: str = "", what: str = "JSON") -> Any:
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise SchemaError(source, "", f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise SchemaError(source, "", f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise SchemaError(source, "", f"not valid {what} ({exc})") from None


def check_number(name: str, value: Any, lo: float, hi: float, source: str = "") -> float:
    """A finite number in ``[lo, hi]`` (command-line values: strength, sizes...)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SchemaError(source, name, f"{value!r} is not a number") from None
    if not math.isfinite(v):
        raise SchemaError(source, name, f"{value!r} is not a finite number")
    if not lo <= v <= hi:
        raise SchemaError(source, name, f"{v:g} is outside {lo:g}..{hi:g}")
    return v


def check_strength(value: Any, source: str = "") -> float:
    return check_number("strength", value, STRENGTH_MIN, STRENGTH_MAX, source)
