"""Retouch Studio settings: one typed, versioned object stored as JSON.

Every field has a default and a help text. A stored value of the wrong type or out of range
falls back to its default and is logged; an unknown key is ignored (logged), and a newer or
unreadable file never stops the program from starting. The file lives in the platform's user
config folder (``platformdirs.user_config_dir("retouch-studio")``) unless ``RETOUCH_STUDIO_CONFIG``
names another file (tests use that).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from retouch_studio.model.atomic import write_text_atomic

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
EXPORT_FORMATS = ("jpg", "png", "tiff", "webp")
MAX_RECENT = 12


def _between(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: lo <= v <= hi


@dataclass
class Settings:
    """User settings. ``model_dir`` empty means the shipped default model."""

    model_dir: str = field(
        default="", metadata={"help": "Model folder (config.json inside); empty = shipped default model"}
    )
    use_gpu: bool = field(default=False, metadata={"help": "Run the model on the GPU when one is available"})
    default_strength: float = field(
        default=1.0, metadata={"help": "Strength of a new edit layer (0-2)", "check": _between(0.0, 2.0)}
    )
    preview_long_edge: int = field(
        default=2048,
        metadata={"help": "Long edge of the on-screen preview in pixels", "check": _between(256, 8192)},
    )
    brush_size: float = field(
        default=80.0, metadata={"help": "Brush diameter in image pixels", "check": _between(1.0, 2000.0)}
    )
    brush_feather: float = field(
        default=0.5, metadata={"help": "Brush edge softness (0 hard - 1 soft)", "check": _between(0.0, 1.0)}
    )
    brush_flow: float = field(
        default=1.0, metadata={"help": "Brush opacity per stroke (0-1)", "check": _between(0.01, 1.0)}
    )
    edge_aware: bool = field(default=True, metadata={"help": "Snap brushed masks to the photo's edges"})
    export_format: str = field(
        default="jpg", metadata={"help": "Export file format", "check": lambda v: v in EXPORT_FORMATS}
    )
    export_quality: int = field(
        default=95, metadata={"help": "JPEG/WebP quality (1-100)", "check": _between(1, 100)}
    )
    export_bit_depth: int = field(
        default=8, metadata={"help": "Export bit depth (8 or 16; 16 only for PNG/TIFF)", "check": lambda v: v in (8, 16)}
    )
    export_long_edge: int = field(
        default=0, metadata={"help": "Resize export to this long edge (0 = full resolution)", "check": _between(0, 100000)}
    )
    export_keep_metadata: bool = field(default=True, metadata={"help": "Copy EXIF/ICC into exports"})
    export_dir: str = field(default="", metadata={"help": "Last export folder; empty = next to the photo"})
    recent_files: list = field(
        default_factory=list,
        metadata={"help": "Recently opened photos, newest first", "check": lambda v: all(isinstance(p, str) for p in v)},
    )
    instruction_history: list = field(
        default_factory=list,
        metadata={"help": "Past instructions, newest first", "check": lambda v: all(isinstance(p, str) for p in v)},
    )

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict:
        return {"version": SETTINGS_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        """Typed load: wrong types or out-of-range values fall back to the default (logged)."""
        settings = cls()
        if not isinstance(data, dict):
            log.warning("settings: expected an object, got %s; using defaults", type(data).__name__)
            return settings
        version = data.get("version")
        if version != SETTINGS_VERSION:
            log.warning("settings: version %r, expected %d; reading what still fits", version, SETTINGS_VERSION)
        known = {f.name: f for f in fields(cls)}
        for key, value in data.items():
            if key == "version":
                continue
            f = known.get(key)
            if f is None:
                log.warning("settings: ignoring unknown key %r", key)
                continue
            default = getattr(settings, key)
            coerced = _coerce(value, default)
            check = f.metadata.get("check")
            if coerced is None or (check is not None and not _safe_check(check, coerced)):
                log.warning("settings: bad value %r for %s; using default %r", value, key, default)
                continue
            setattr(settings, key, coerced)
        return settings

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "Settings":
        path = Path(path) if path is not None else settings_path()
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # unreadable, malformed, nested too deeply
            log.warning("settings: cannot read %s (%s); using defaults", path, exc)
            return cls()
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        path = Path(path) if path is not None else settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_text_atomic(path, json.dumps(self.to_dict(), indent=2), overwrite=True)

    # ------------------------------------------------------------------ helpers

    def add_recent(self, path: str | os.PathLike) -> None:
        p = str(Path(path).resolve())
        self.recent_files = [p] + [r for r in self.recent_files if r != p]
        del self.recent_files[MAX_RECENT:]

    def add_instruction(self, text: str) -> None:
        text = text.strip()
        if text:
            self.instruction_history = [text] + [t for t in self.instruction_history if t != text]
            del self.instruction_history[50:]

    @staticmethod
    def help(name: str) -> str:
        return {f.name: f.metadata.get("help", "") for f in fields(Settings)}[name]


def _safe_check(check: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(check(value))
    except Exception:  # noqa: BLE001 - a check that cannot evaluate means a bad value
        return False


def _coerce(value: Any, default: Any) -> Any:
    """Value converted to the type of ``default``, or None if it is not that kind of value."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else None
    if isinstance(default, str):
        return value if isinstance(value, str) else None
    if isinstance(default, list):
        return list(value) if isinstance(value, list) else None
    return None


def settings_path() -> Path:
    env = os.environ.get("RETOUCH_STUDIO_CONFIG")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("retouch-studio")) / "settings.json"
