"""Tiny paper-model training run: loss trends per stage, and whether the stage-2 grid moves the
inputs towards their targets (mean L1 before/after on the training pairs).

Usage: ``PYTHONPATH=. python benchmarks/paper_tiny_train.py [TEACHER_STEPS S1_STEPS S2_STEPS]``
(default 300 150 150). Random tiny networks on CPU: the numbers show that the machinery trains,
not retouching quality (the tiny VAE is random, so the low-res data loss cannot fall much).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    torch.set_num_threads(1)
    from retouch_studio.model.paper.data import TripletDataset, make_pairs
    from retouch_studio.model.paper.distill import train_distill
    from retouch_studio.model.paper.teacher import train_teacher
    from retouch_studio.model.pipeline import apply_prediction
    from retouch_studio.model.engines.loader import load_predictor

    steps = [int(a) for a in sys.argv[1:4]] or [300, 150, 150]
    root = Path(tempfile.mkdtemp(prefix="paper_tiny_train_"))
    data = make_pairs(ROOT / "tests" / "data", root / "D", count=16, size=48, seed=1)
    t0 = time.perf_counter()
    teacher = train_teacher(data, root / "T", steps[0], tiny=True, echo=None)
    t1 = time.perf_counter()
    s1 = train_distill(1, data, root / "S1", steps[1], teacher=teacher, tiny=True, echo=None)
    t2 = time.perf_counter()
    s2 = train_distill(2, data, root / "S2", steps[2], teacher=teacher, init=s1, tiny=True, echo=None)
    t3 = time.perf_counter()
    print(f"wall time: teacher {t1 - t0:.1f} s, stage 1 {t2 - t1:.1f} s, stage 2 {t3 - t2:.1f} s")
    for name in ("T", "S1", "S2"):
        log = json.loads((root / name / "train_log.json").read_text())
        n = max(1, len(log) // 5)
        for key in log[0]:
            if key in ("step", "seconds"):
                continue
            first = np.mean([r[key] for r in log[:n]])
            last = np.mean([r[key] for r in log[-n:]])
            print(f"{name:2s} {key:12s} first fifth {first:10.4f}   last fifth {last:10.4f}")
    predictor = load_predictor(s2)
    before = after = 0.0
    dataset = TripletDataset(data, 48)
    for x, x_star, text in dataset:
        xi, xs = x.permute(1, 2, 0).numpy(), x_star.permute(1, 2, 0).numpy()
        out = apply_prediction(xi.copy(), predictor.predict(xi, text))
        before += float(np.abs(xi - xs).mean())
        after += float(np.abs(out - xs).mean())
    n = len(dataset)
    print(f"L1(x, x*) {before / n:.4f}   L1(x_B, x*) {after / n:.4f}   ratio {after / before:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
