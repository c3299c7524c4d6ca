"""Learned styles on disk: one folder per style in ``<user config dir>/styles/``.

A style folder holds plain files, nothing executable and no pickle::

    style.json   version, name, feature and parameter names, the regression (means, scales,
                 weights, bias as numbers), what was learned and measured ("info")
    grade.npy    the shared grade, (S, S, S, 3) float32 (``model.lut`` layout)
    cube.npy     the closest single LUT, (33, 33, 33, 3) float32, for ``export-cube``

A folder is written under a temporary name and renamed into place, so a reader never sees half a
style.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from retouch_studio.model.user_config import config_dir

from .features import FEATURE_NAMES
from .learn import PHOTO_PARAMS, LearnedStyle
from .reference import check_style_name

STYLE_VERSION = 1


class StyleError(ValueError):
    """A style is missing, unreadable or cannot be stored; the message says which and why."""


def styles_dir() -> Path:
    return config_dir() / "styles"


def style_path(name: str) -> Path:
    try:
        check_style_name(name)
    except ValueError as exc:
        raise StyleError(str(exc)) from None
    return styles_dir() / name


def save_style(style: LearnedStyle, overwrite: bool = False, folder: Path | None = None) -> Path:
    """Write ``style`` to its folder (default: :func:`style_path`); refuses to replace an existing
    style unless ``overwrite``."""
    path = Path(folder) if folder is not None else style_path(style.name)
    if path.exists() and not overwrite:
        raise StyleError(f"a style named {style.name!r} already exists (use --overwrite to replace it)")
    meta = {
        "version": STYLE_VERSION,
        "name": style.name,
        "features": list(FEATURE_NAMES),
        "params": list(PHOTO_PARAMS),
        "feature_mean": style.feature_mean.tolist(),
        "feature_std": style.feature_std.tolist(),
        "weights": style.weights.tolist(),
        "bias": style.bias.tolist(),
        "grade": "grade.npy",
        "cube": "cube.npy",
        "info": style.info,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
        try:
            (tmp / "style.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            np.save(tmp / "grade.npy", np.asarray(style.grade, np.float32), allow_pickle=False)
            np.save(tmp / "cube.npy", np.asarray(style.cube, np.float32), allow_pickle=False)
            old = None
            if path.exists():
                old = path.with_name(f".{path.name}.old-{os.getpid()}")
                os.replace(path, old)
            os.replace(tmp, path)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    except OSError as exc:
        raise StyleError(f"cannot save style to {path} ({exc.strerror or exc})") from exc
    _cache.pop(str(path), None)
    return path


_cache: dict[str, tuple[float, LearnedStyle]] = {}


def load_style(name: str) -> LearnedStyle:
    """The style called ``name``; :class:`StyleError` naming the known styles if there is none."""
    path = style_path(name)
    if not (path / "style.json").is_file():
        known = ", ".join(list_styles()) or "none learned yet"
        raise StyleError(f"no style named {name!r} (known: {known})")
    return load_style_folder(path)


def load_style_folder(path: Path) -> LearnedStyle:
    path = Path(path)
    meta_path = path / "style.json"
    try:
        stamp = meta_path.stat().st_mtime_ns
    except OSError as exc:
        raise StyleError(f"{path}: not a style folder ({exc.strerror or exc})") from None
    hit = _cache.get(str(path))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    style = _read(path)
    _cache[str(path)] = (stamp, style)
    return style


def _read(path: Path) -> LearnedStyle:
    def bad(why: str) -> StyleError:
        return StyleError(f"{path}: damaged style ({why}); learn it again")

    try:
        meta = json.loads((path / "style.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise bad(f"style.json unreadable: {exc}") from None
    if not isinstance(meta, dict):
        raise bad("style.json is not an object")
    version = meta.get("version")
    if not isinstance(version, int) or version > STYLE_VERSION:
        raise StyleError(f"{path}: style version {version!r} is newer than this program ({STYLE_VERSION})")
    if meta.get("features") != list(FEATURE_NAMES) or meta.get("params") != list(PHOTO_PARAMS):
        raise StyleError(f"{path}: the style was learned by another version of the program; learn it again")
    nf, nk = len(FEATURE_NAMES), len(PHOTO_PARAMS)
    try:
        mean = np.asarray(meta["feature_mean"], np.float64).reshape(nf)
        std = np.asarray(meta["feature_std"], np.float64).reshape(nf)
        weights = np.asarray(meta["weights"], np.float64).reshape(nf, nk)
        bias = np.asarray(meta["bias"], np.float64).reshape(nk)
    except (KeyError, TypeError, ValueError) as exc:
        raise bad(f"regression: {exc}") from None
    arrays = {}
    for key in ("grade", "cube"):
        try:
            lut = np.load(path / f"{key}.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise bad(f"{key}.npy: {exc}") from None
        s = lut.shape[0] if lut.ndim == 4 else 0
        if lut.shape != (s, s, s, 3) or not 2 <= s <= 129:
            raise bad(f"{key}.npy has shape {lut.shape}")
        arrays[key] = lut.astype(np.float32)
    if not all(np.isfinite(a).all() for a in (mean, std, weights, bias, arrays["grade"], arrays["cube"])) or (std <= 0).any():
        raise bad("non-finite numbers")
    info = meta.get("info") if isinstance(meta.get("info"), dict) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else path.name
    return LearnedStyle(name, mean, std, weights, bias, arrays["grade"], arrays["cube"], info)


def list_styles() -> list[str]:
    """Names of the stored styles, sorted case-insensitively."""
    folder = styles_dir()
    if not folder.is_dir():
        return []
    names = [p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / "style.json").is_file()]
    return sorted(names, key=str.casefold)


def remove_style(name: str) -> None:
    path = style_path(name)
    if not (path / "style.json").is_file():
        raise StyleError(f"no style named {name!r}")
    try:
        shutil.rmtree(path)
    except OSError as exc:
        raise StyleError(f"cannot remove {path} ({exc.strerror or exc})") from exc
    _cache.pop(str(path), None)


def describe(style: LearnedStyle) -> str:
    info = style.info
    parts = [f"{info.get('pairs', '?')} pairs"]
    de = info.get("held_back_delta_e")
    if isinstance(de, (int, float)) and math.isfinite(de):
        parts.append(f"held-back ΔE {de:.2f} (unedited {info.get('held_back_input_delta_e', float('nan')):.2f})")
    cube = info.get("cube_delta_e")
    if isinstance(cube, (int, float)):
        parts.append(f"as one LUT ΔE {cube:.2f}")
    if info.get("learned_at"):
        parts.append(f"learned {info['learned_at']}")
    return ", ".join(parts)
