"""The training corpus (``../shared/corpus``): its held-out split, and degradations made from it.

The split was decided before anything was trained or measured (``benchmarks/CORPUS_SPLIT.md``):
every item has a key, ``bucket = int(sha256(key)[:8], 16) % 5``; bucket 0 is **test** (measured by
``benchmarks/eval_requests.py``, never trained or tuned on), bucket 1 **dev** (model selection),
buckets 2-4 **train**. Keys keep together what must not straddle the split: a photo and every
degradation of it (``photos/<folder>/<file>``), a SICE scene group (``sice/<first frame>``), a GIER
edit with its request and summaries (``gier/<pair>``), a FiveK photo (``ma5k/<fivek_image>``).

Degradations are made in linear light (gamma 2.2) with a seed derived from the photo's key, so
the test degradations are the same in every run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

_REPO = Path(__file__).resolve().parents[1]
# The corpus sits beside the checkout (``../shared/corpus``) or beside its parent (a worktree);
# RETOUCH_CORPUS names it anywhere else.
CORPUS = Path(os.environ.get("RETOUCH_CORPUS") or next(
    (p for p in (_REPO.parent / "shared" / "corpus", _REPO.parent.parent / "shared" / "corpus") if p.is_dir()),
    _REPO.parent / "shared" / "corpus"))
SPLITS = ("train", "dev", "test")
DEGRADATIONS = ("exposure", "cast", "fade", "flat", "dull")
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def bucket(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 5


def split_of(key: str) -> str:
    b = bucket(key)
    return "test" if b == 0 else "dev" if b == 1 else "train"


def seed_of(key: str) -> int:
    return int(hashlib.sha256(("seed/" + key).encode()).hexdigest()[:8], 16)


def corpus_dir(corpus: str | Path | None = None) -> Path:
    root = Path(corpus) if corpus is not None else CORPUS
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: corpus folder not found (set RETOUCH_CORPUS or pass --corpus)")
    return root


def photo_keys(corpus: str | Path | None = None) -> list[tuple[str, Path]]:
    """``[(key, path)]`` of the corpus photos, sorted."""
    root = corpus_dir(corpus) / "photos"
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [(f"photos/{p.parent.name}/{p.name}", p) for p in paths]


def sice_groups(corpus: str | Path | None = None) -> list[tuple[str, list[Path]]]:
    """``[(key, frame paths)]`` of the SICE scene groups with at least two frames."""
    root = corpus_dir(corpus) / "sice"
    groups = json.loads((root / "scene_groups.json").read_text())
    return [(f"sice/{g[0]}", [root / "images" / n for n in g]) for g in groups if len(g) >= 2]


def gier_rows(corpus: str | Path | None = None) -> list[dict]:
    """GIER texts with ``split`` added (by the edit they describe)."""
    rows = []
    with open(corpus_dir(corpus) / "requests" / "gier_train.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            r["split"] = split_of(f"gier/{r['pair']}")
            rows.append(r)
    return rows


def well_exposed(frames: list[np.ndarray]) -> int:
    """Index of the best exposed frame of a scene: median luma near 0.45, little clipping."""

    def score(f: np.ndarray) -> float:
        Y = f @ _LUMA
        return abs(float(np.median(Y)) - 0.45) + 2 * float((Y > 0.98).mean()) + 2 * float((Y < 0.02).mean())

    return int(np.argmin([score(f) for f in frames]))


def same_scene(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation of two frames' luma (the groups are approximate; < 0.8 is another scene)."""
    ra = np.argsort(np.argsort((a @ _LUMA).ravel()))
    rb = np.argsort(np.argsort((b @ _LUMA).ravel()))
    return float(np.corrcoef(ra, rb)[0, 1])


def degrade(x: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One degradation of an sRGB image ``(h, w, 3)`` in ``[0, 1]``, made in linear light."""
    lin = np.clip(x, 0, 1) ** 2.2
    if kind == "exposure":
        ev = float(rng.choice([-1, 1]) * rng.uniform(0.4, 1.6))
        ev = max(ev, -1.8) if ev < 0 else min(ev, 1.2)
        lin = lin * 2.0**ev
        d = {"ev": ev}
    elif kind == "cast":
        a, b = float(rng.uniform(-0.35, 0.35)), float(rng.uniform(-0.18, 0.18))
        if abs(a) < 0.1 and abs(b) < 0.06:
            a = 0.2 * float(np.sign(a + 1e-9))
        y0 = lin @ _LUMA
        lin = lin * np.exp(np.array([a, b, -a], np.float32))
        lin = lin * (y0 / np.maximum(lin @ _LUMA, 1e-6))[..., None]  # a cast keeps the luminance
        d = {"rb": a, "g": b}
    elif kind == "fade":
        lo, hi = float(rng.uniform(0.06, 0.22)), float(rng.uniform(0.0, 0.08))
        lin = (lo + (1 - lo - hi) * np.clip(lin, 0, 1) ** (1 / 2.2)) ** 2.2
        d = {"lo": lo, "hi": hi}
    elif kind == "flat":
        k = float(rng.uniform(0.5, 0.8))
        enc = np.clip(lin, 0, 1) ** (1 / 2.2)
        m = float((enc @ _LUMA).mean())
        lin = np.clip(m + k * (enc - m), 0, 1) ** 2.2
        d = {"k": k}
    elif kind == "dull":
        s = float(rng.uniform(0.45, 0.8))
        y = (lin @ _LUMA)[..., None]
        lin = y + s * (lin - y)
        d = {"s": s}
    else:
        raise ValueError(f"unknown degradation {kind!r} (one of {', '.join(DEGRADATIONS)})")
    return (np.clip(lin, 0, 1) ** (1 / 2.2)).astype(np.float32), d


def test_degradations(key: str, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The fixed held-out degradations of one test photo: one of each kind."""
    rng = np.random.default_rng(seed_of(key))
    return [(kind, degrade(x, kind, rng)[0]) for kind in DEGRADATIONS]


__all__ = ["CORPUS", "DEGRADATIONS", "SPLITS", "bucket", "corpus_dir", "degrade", "gier_rows", "photo_keys",
           "same_scene", "seed_of", "sice_groups", "split_of", "test_degradations", "well_exposed"]
