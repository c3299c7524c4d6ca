"""Named presets: an instruction (or explicit parameters, or a whole recipe) with a strength.

Presets are JSON files in ``<user config dir>/presets/`` (platformdirs; the environment variable
``RETOUCH_CONFIG_DIR`` replaces the config dir, which tests use). The command line
(``retouch presets ...``, ``--preset NAME`` in ``retouch batch`` and ``retouch apply``) and the GUI
share this one store through :func:`load_preset`, :func:`save_preset`, :func:`list_presets` and
:func:`delete_preset`.

File format (version 1)::

    {"version": 1, "name": "warm film", "instruction": "warm, soft film look",
     "params": null, "recipe": null, "strength": 0.7}

Exactly one of ``instruction`` / ``params`` / ``recipe`` is set. ``params`` is the param-mode
dictionary (``{"exposure": 0.7, "temperature": -10}``); it is handed to the engine as the
param-mode text ``"exposure +0.7, temperature -10"``. ``recipe`` is a recipe sidecar dictionary
(layers, strengths, masks; see ``model.recipe``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from retouch_studio.app.cli import options
from retouch_studio.app.cli.exit_codes import Exit
from retouch_studio.model.atomic import OutputError, OutputExistsError, write_text_atomic
from retouch_studio.model.user_config import APP_NAME, config_dir  # noqa: F401 - re-exported

PRESET_VERSION = 1
# Names become file names: keep them portable (no separators, no leading dot, no control chars).
_NAME_RE = re.compile(r"^[^/\\:*?\"<>|\x00-\x1f.][^/\\:*?\"<>|\x00-\x1f]{0,99}$")


class PresetError(Exception):
    """A preset is missing, invalid or cannot be stored; the message says which and why."""

    def __init__(self, message: str, code: int = Exit.FAILED):
        super().__init__(message)
        self.code = code  # the exit code (``app.cli.exit_codes``)


@dataclass(frozen=True)
class Preset:
    name: str
    instruction: str | None = None
    params: dict | None = None
    recipe: dict | None = None
    strength: float = 1.0

    def __post_init__(self) -> None:
        check_name(self.name)
        given = [k for k in ("instruction", "params", "recipe") if getattr(self, k) is not None]
        if len(given) != 1:
            raise PresetError(
                f"preset {self.name!r}: set exactly one of instruction, params, recipe "
                f"(got {', '.join(given) or 'none'})"
            )
        if self.instruction is not None and not isinstance(self.instruction, str):
            raise PresetError(f"preset {self.name!r}: instruction must be text")
        if self.params is not None:
            if not isinstance(self.params, dict) or not self.params:
                raise PresetError(f"preset {self.name!r}: params must be a non-empty object")
            for key, value in self.params.items():
                if not isinstance(key, str) or not _is_number(value):
                    raise PresetError(f"preset {self.name!r}: param {key!r} must be a number")
        if self.recipe is not None and not isinstance(self.recipe, dict):
            raise PresetError(f"preset {self.name!r}: recipe must be an object")
        if not _is_number(self.strength):
            raise PresetError(f"preset {self.name!r}: strength must be a number")
        from retouch_studio.model.schema import STRENGTH_MAX, STRENGTH_MIN

        if not STRENGTH_MIN <= self.strength <= STRENGTH_MAX:
            raise PresetError(
                f"preset {self.name!r}: strength {self.strength:g} is outside {STRENGTH_MIN:g}..{STRENGTH_MAX:g}"
            )

    def instruction_text(self) -> str:
        """The text handed to the engine: the instruction, or params in param-mode syntax."""
        if self.instruction is not None:
            return self.instruction
        if self.params is not None:
            return format_params(self.params)
        raise PresetError(f"preset {self.name!r} holds a recipe, not an instruction")

    def to_dict(self) -> dict:
        return {
            "version": PRESET_VERSION,
            "name": self.name,
            "instruction": self.instruction,
            "params": self.params,
            "recipe": self.recipe,
            "strength": float(self.strength),
        }

    @staticmethod
    def from_dict(data: dict, source: str = "preset") -> "Preset":
        """A preset from its JSON form, checked against ``model.schema.PresetSchema`` (and a
        stored recipe against ``RecipeSchema``); :class:`PresetError` names the field."""
        from retouch_studio.model.schema import PresetSchema, RecipeSchema, SchemaError, validate

        if not isinstance(data, dict):
            raise PresetError(f"{source}: not a JSON object")
        version = data.get("version", PRESET_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version > PRESET_VERSION:
            raise PresetError(f"{source}: unsupported preset version {version!r}")
        if "name" not in data:
            raise PresetError(f"{source}: no 'name'")
        try:
            checked = validate(PresetSchema, data, source)
            if checked.recipe is not None:
                validate(RecipeSchema, checked.recipe, f"{source}: recipe")
        except SchemaError as exc:
            raise PresetError(str(exc)) from None
        return Preset(
            name=checked.name,
            instruction=checked.instruction,
            params=dict(checked.params) if checked.params is not None else None,
            recipe=checked.recipe,
            strength=checked.strength,
        )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_params(params: dict) -> str:
    """``{"exposure": 0.7, "temperature": -10}`` -> ``"exposure +0.7, temperature -10"``."""
    return ", ".join(f"{key} {value:+g}" for key, value in params.items())


def parse_params(text: str) -> dict:
    """Inverse of :func:`format_params`: ``"exposure +0.7, shadows 30"`` -> dict.

    Uses param mode's own parser (``model.params``: known names, ranges, suggestions)."""
    from retouch_studio.model.params import parse_params as parse

    try:
        return {key: float(value) for key, value in parse(text).items()}
    except (TypeError, ValueError) as exc:
        raise PresetError(str(exc)) from None


def check_name(name) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name != name.strip():
        raise PresetError(
            f"invalid preset name {name!r}: 1-100 characters, no path separators, no leading dot "
            "or surrounding spaces"
        )
    return name


def presets_dir() -> Path:
    return config_dir() / "presets"


def preset_path(name: str) -> Path:
    return presets_dir() / f"{check_name(name)}.json"


def list_presets() -> list[Preset]:
    """All readable presets, sorted by name (case-insensitive). Unreadable files are skipped
    with a warning on stderr so one bad file does not hide the others."""
    folder = presets_dir()
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob("*.json"):
        try:
            out.append(_read(path))
        except PresetError as exc:
            print(f"retouch: skipping preset file {exc}", file=sys.stderr)
    return sorted(out, key=lambda p: p.name.casefold())


def _read(path: Path) -> Preset:
    from retouch_studio.model.schema import SchemaError, read_json

    try:
        data = read_json(path, "preset")
    except SchemaError as exc:
        raise PresetError(str(exc)) from None
    return Preset.from_dict(data, str(path))


def load_preset(name: str) -> Preset:
    """The preset called ``name``; :class:`PresetError` naming the known presets if absent."""
    path = preset_path(name)
    if not path.is_file():
        known = ", ".join(p.name for p in list_presets()) or "none saved"
        raise PresetError(f"no preset named {name!r} (known: {known})")
    return _read(path)


def save_preset(preset: Preset, overwrite: bool = False) -> Path:
    """Write atomically; refuses to replace an existing preset unless ``overwrite``."""
    path = preset_path(preset.name)
    if path.exists() and not overwrite:
        raise PresetError(f"preset {preset.name!r} already exists (use --overwrite to replace it)", Exit.EXISTS)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(preset.to_dict(), indent=2, ensure_ascii=False) + "\n", overwrite=overwrite)
    except OutputExistsError:
        raise PresetError(f"preset {preset.name!r} already exists (use --overwrite to replace it)", Exit.EXISTS) from None
    except (OSError, OutputError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise PresetError(f"cannot save preset to {path} ({reason})") from None
    return path


def delete_preset(name: str) -> None:
    path = preset_path(name)
    try:
        path.unlink()
    except FileNotFoundError:
        raise PresetError(f"no preset named {name!r}") from None
    except OSError as exc:
        raise PresetError(f"cannot delete {path} ({exc.strerror or exc})") from exc


def describe(preset: Preset) -> str:
    if preset.recipe is not None:
        layers = preset.recipe.get("layers")
        what = f"recipe ({len(layers)} layers)" if isinstance(layers, list) else "recipe"
    else:
        what = repr(preset.instruction_text())
    return f"{what} at strength {preset.strength:g}"


# --------------------------------------------------------------------------------------------
# Command line: retouch presets list|show|save|delete
# --------------------------------------------------------------------------------------------


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "presets",
        help="list, show, save and delete named presets",
        description=f"Named presets (stored in {presets_dir()}; override with RETOUCH_CONFIG_DIR).",
    )
    sub = parser.add_subparsers(dest="presets_command", metavar="ACTION")
    p = sub.add_parser("list", help="list saved presets")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = sub.add_parser("show", help="print one preset as JSON")
    p.add_argument("name", metavar="NAME")
    p = sub.add_parser("delete", help="delete a preset")
    p.add_argument("name", metavar="NAME")
    p = sub.add_parser("save", help="save an instruction, parameters or a recipe as a preset")
    p.add_argument("name", metavar="NAME")
    src = p.add_mutually_exclusive_group(required=True)
    options.add_instruction(p, group=src, auto="")
    src.add_argument("--params", metavar="TEXT", help="explicit parameters, e.g. 'exposure +0.7, temperature -10'")
    options.add_recipe(p, group=src, help="a recipe sidecar JSON file to store")
    options.add_strength(p, default="1")
    options.add_overwrite(p, "a preset of the same name")
    parser.set_defaults(func=run, _presets_parser=parser)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except PresetError as exc:
        print(f"retouch presets: {exc}", file=sys.stderr)
        return int(exc.code)


def _run(args: argparse.Namespace) -> int:
    cmd = getattr(args, "presets_command", None)
    if cmd == "list":
        presets = list_presets()
        if args.json:
            print(json.dumps([p.to_dict() for p in presets], indent=2, ensure_ascii=False))
        elif not presets:
            print(f"no presets saved (folder: {presets_dir()})")
        else:
            width = max(len(p.name) for p in presets)
            for p in presets:
                print(f"{p.name:<{width}}  {describe(p)}")
        return 0
    if cmd == "show":
        print(json.dumps(load_preset(args.name).to_dict(), indent=2, ensure_ascii=False))
        return 0
    if cmd == "delete":
        delete_preset(args.name)
        print(f"deleted preset {args.name!r}")
        return 0
    if cmd == "save":
        kw: dict = {}
        if args.instruction is not None:
            _check_instruction(args.instruction)
            kw["instruction"] = args.instruction
        elif args.params is not None:
            kw["params"] = parse_params(args.params)
        else:
            from retouch_studio.model.recipe import RecipeError, load_recipe

            try:
                kw["recipe"] = load_recipe(args.recipe).to_dict()  # checked before it is stored
            except RecipeError as exc:
                raise PresetError(str(exc)) from None
        preset = Preset(args.name, strength=1.0 if args.strength is None else args.strength, **kw)
        path = save_preset(preset, overwrite=args.overwrite)
        print(f"saved preset {preset.name!r}: {describe(preset)} -> {path}")
        return 0
    args._presets_parser.print_help()
    return Exit.USAGE


def _check_instruction(text: str) -> None:
    """Refuse content edits and unreadable text before storing them (the router's decision)."""
    from retouch_studio.model.engines.router import route
    from retouch_studio.model.instructions import ContentEditError
    from retouch_studio.model.instructions.language import InstructionError

    try:
        route(text).raise_if_refused()
    except InstructionError as exc:  # no words, too long, not English: the argument is unusable
        raise PresetError(str(exc), Exit.USAGE) from exc
    except ContentEditError as exc:
        raise PresetError(str(exc), Exit.REFUSED) from exc
    except ValueError as exc:
        raise PresetError(str(exc), Exit.USAGE) from exc
