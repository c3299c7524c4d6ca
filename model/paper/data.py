"""Training triplets ``(x, x*, c_T)`` (paper §3.1) in a simple folder format, and a tool to make one.

Folder format::

    DIR/pairs.jsonl     one JSON object a line: {"input": "...", "target": "...", "instruction": "..."}
                        (image paths relative to DIR, or absolute)
    DIR/inputs/*.png    degraded inputs x        (any layout works; these are what make_pairs writes)
    DIR/targets/*.png   retouched targets x*

:func:`make_pairs` builds such a folder from ordinary photos the way the paper does (§3.1,
"controlled degradation"): the photo is the target ``x*``, a random photometric degradation of it
is the input ``x`` and the instruction names the edit that undoes the degradation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from retouch_studio.model.atomic import write_atomic
from retouch_studio.model.imaging import PhotoError, load_photo, to_float

PAIRS_FILE = "pairs.jsonl"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}


class DataError(ValueError):
    """A training folder is missing, malformed or names an unreadable image."""


@dataclass(frozen=True)
class Triplet:
    input: Path
    target: Path
    instruction: str


def read_pairs(folder: str | Path) -> list[Triplet]:
    folder = Path(folder)
    index = folder / PAIRS_FILE
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist")
    if not index.is_file():
        raise DataError(f"data folder {folder} has no {PAIRS_FILE}")
    out = []
    for n, line in enumerate(index.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            item = Triplet(folder / rec["input"], folder / rec["target"], str(rec["instruction"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{index}:{n}: need a JSON object with input, target, instruction ({exc})") from None
        for path in (item.input, item.target):
            if not path.is_file():
                raise DataError(f"{index}:{n}: image {path} does not exist")
        out.append(item)
    if not out:
        raise DataError(f"{index} lists no pairs")
    return out


def _load_square(path: Path, size: int) -> torch.Tensor:
    try:
        rgb = to_float(load_photo(path).pixels)
    except PhotoError as exc:
        raise DataError(str(exc)) from exc
    im = Image.fromarray(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8))
    im = im.resize((size, size), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(im, np.float32) / 255.0).permute(2, 0, 1).contiguous()


class TripletDataset(torch.utils.data.Dataset):
    """Yields ``(x (3, S, S), x* (3, S, S), instruction)`` float32 in [0, 1], squashed to S x S.

    The grid's spatial axes are normalised, so a squashed proxy predicts the same edit as an
    aspect-preserving one.
    """

    def __init__(self, folder: str | Path, size: int):
        self.items = read_pairs(folder)
        self.size = size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        item = self.items[i]
        return _load_square(item.input, self.size), _load_square(item.target, self.size), item.instruction


# --------------------------------------------------------------------------------------------
# Making a folder from photos
# --------------------------------------------------------------------------------------------


def _srgb_to_linear(x):
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x):
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def degrade(target: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Random photometric degradation of ``target`` (H, W, 3) float in [0, 1].

    Returns the degraded input and the instruction that undoes it.
    """
    ops = rng.choice(4, size=int(rng.integers(1, 3)), replace=False)
    lin = _srgb_to_linear(target)
    words = []
    for op in sorted(ops):
        if op == 0:  # exposure
            ev = float(rng.choice([-1, 1]) * rng.uniform(0.4, 1.0))
            lin = lin * 2.0**ev
            words.append("make it darker" if ev > 0 else "make it brighter")
        elif op == 1:  # white balance
            warm = bool(rng.integers(2))
            g = float(rng.uniform(1.1, 1.3))
            gains = np.array([g, 1.0, 1 / g]) if warm else np.array([1 / g, 1.0, g])
            lin = lin * gains
            words.append("make it cooler" if warm else "make it warmer")
        elif op == 2:  # saturation (in linear light)
            luma = (lin * np.array([0.2126, 0.7152, 0.0722])).sum(-1, keepdims=True)
            more = bool(rng.integers(2))
            s = float(rng.uniform(1.3, 1.6) if more else rng.uniform(0.3, 0.7))
            lin = luma + s * (lin - luma)
            words.append("make the colours more muted" if more else "make the colours more vivid")
        else:  # contrast (in sRGB around mid grey)
            srgb = _linear_to_srgb(lin)
            more = bool(rng.integers(2))
            c = float(rng.uniform(1.2, 1.4) if more else rng.uniform(0.55, 0.8))
            lin = _srgb_to_linear(np.clip(0.5 + c * (srgb - 0.5), 0.0, 1.0))
            words.append("reduce the contrast" if more else "add more contrast")
    return _linear_to_srgb(lin).astype(np.float32), " and ".join(words)


def make_pairs(
    photos: str | Path, out: str | Path, count: int, size: int = 512, seed: int = 0, source: str = "simple"
) -> Path:
    """Write ``count`` triplets made from the photos in ``photos`` (a folder) into ``out``.

    source "simple": the degradations of :func:`degrade`; "synth": the default model's data
    synthesis (:class:`model.synth.Synthesizer`, corrective and forward edits with its clause bank).
    """
    if source not in ("simple", "synth"):
        raise DataError(f"unknown pair source {source!r} (use 'simple' or 'synth')")
    photos, out = Path(photos), Path(out)
    if not photos.is_dir():
        raise DataError(f"photo folder {photos} does not exist")
    files = sorted(p for p in photos.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"photo folder {photos} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    if count < 1:
        raise DataError("count must be >= 1")
    if source == "synth":
        return _make_pairs_synth(files, out, count, size, seed)
    rng = np.random.default_rng(seed)
    (out / "inputs").mkdir(parents=True, exist_ok=True)
    (out / "targets").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        src = files[i % len(files)]
        try:
            rgb = to_float(load_photo(src).pixels)
        except PhotoError as exc:
            raise DataError(str(exc)) from exc
        im = Image.fromarray(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8))
        scale = size / min(im.size)
        im = im.resize((max(size, round(im.width * scale)), max(size, round(im.height * scale))),
                       Image.Resampling.BICUBIC)
        left = int(rng.integers(0, im.width - size + 1))
        top = int(rng.integers(0, im.height - size + 1))
        target = np.asarray(im.crop((left, top, left + size, top + size)), np.float32) / 255.0
        degraded, instruction = degrade(target, rng)
        name = f"{i:06d}.png"
        Image.fromarray(np.clip(target * 255 + 0.5, 0, 255).astype(np.uint8)).save(out / "targets" / name)
        Image.fromarray(np.clip(degraded * 255 + 0.5, 0, 255).astype(np.uint8)).save(out / "inputs" / name)
        lines.append(json.dumps({"input": f"inputs/{name}", "target": f"targets/{name}", "instruction": instruction}))
    write_atomic(out / PAIRS_FILE, "\n".join(lines) + "\n", overwrite=True)
    return out


def _save_rgb(array: np.ndarray, path: Path) -> None:
    Image.fromarray(np.clip(array * 255 + 0.5, 0, 255).astype(np.uint8)).save(path)


def _make_pairs_synth(files: list[Path], out: Path, count: int, size: int, seed: int) -> Path:
    try:
        from retouch_studio.model.training.synth import ClauseBank, Synthesizer, load_training_images  # noqa: PLC0415
    except ImportError as exc:
        raise DataError(f"--source synth needs model.synth ({exc})") from exc
    try:
        images = load_training_images(files, long_edge=max(size, 64) * 2)
    except PhotoError as exc:
        raise DataError(str(exc)) from exc
    synth = Synthesizer(images, ClauseBank(seed=seed), size=size, seed=seed)
    (out / "inputs").mkdir(parents=True, exist_ok=True)
    (out / "targets").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        batch = synth.sample(1)
        name = f"{i:06d}.png"
        _save_rgb(batch.inputs[0].permute(1, 2, 0).numpy(), out / "inputs" / name)
        _save_rgb(batch.targets[0].permute(1, 2, 0).numpy(), out / "targets" / name)
        instruction = ", ".join(batch.clauses[0]) or "enhance the photo"
        lines.append(json.dumps({"input": f"inputs/{name}", "target": f"targets/{name}", "instruction": instruction}))
    write_atomic(out / PAIRS_FILE, "\n".join(lines) + "\n", overwrite=True)
    return out
