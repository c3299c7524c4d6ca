"""Paper model speed: training steps per stage and inference (ONNX predictor + full-res apply).

Usage: ``PYTHONPATH=. python benchmarks/paper_speed.py [--model S2] [--repeat 5]``

Without ``--model`` it builds the tiny chain (teacher -> stage 1 -> stage 2, random tiny nets) in a
temporary folder. Prints absolute times and ratios against baselines measured in the same run:
training steps against the teacher step, the ONNX generator against the same graph in torch, and
full-resolution apply against the (resolution-independent) prediction.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="a stage-2 model folder (default: build the tiny chain)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from retouch_studio.model.paper.data import TripletDataset, make_pairs
    from retouch_studio.model.paper.distill import build_distill, distill_step
    from retouch_studio.model.paper.nets import encode_text
    from retouch_studio.model.paper.teacher import teacher_loss, train_teacher
    from retouch_studio.model.pipeline import apply_prediction
    from retouch_studio.model.engines.loader import load_predictor

    tmp = Path(tempfile.mkdtemp(prefix="paper_speed_"))
    model_dir = args.model
    if model_dir is None:
        data = make_pairs(ROOT / "tests" / "data", tmp / "D", count=4, size=48)
        t = train_teacher(data, tmp / "T", 1, tiny=True, echo=None)
        s1 = tmp / "S1"
        from retouch_studio.model.paper.distill import save_distill

        st1 = build_distill(1, t, tiny=True, device=torch.device("cpu"))
        save_distill(st1, s1)
        st2 = build_distill(2, t, init=s1, tiny=True, device=torch.device("cpu"))
        model_dir = save_distill(st2, tmp / "S2")

        ds = TripletDataset(data, st1.config.train.full_size)
        x = torch.stack([ds[0][0], ds[1][0]])
        xs = torch.stack([ds[0][1], ds[1][1]])
        texts = [ds[0][2], ds[1][2]]
        p = st1.config.net.proxy_size
        xp = torch.nn.functional.interpolate(x, size=(p, p), mode="area")
        xsp = torch.nn.functional.interpolate(xs, size=(p, p), mode="area")
        st1.parts.unet.train().requires_grad_(True)
        opt = torch.optim.AdamW(st1.parts.unet.parameters(), lr=1e-5)

        def teacher_step():
            loss = teacher_loss(st1.parts, xp, xsp, texts)
            opt.zero_grad()
            loss.backward()
            opt.step()

        base = timed(teacher_step, args.repeat)
        s1_t = timed(lambda: distill_step(st1, x, xs, texts, 0.5), args.repeat)
        s2_t = timed(lambda: distill_step(st2, x, xs, texts, 0.5), args.repeat)
        print(f"tiny training step (batch 2, CPU, {args.threads} thread):")
        print(f"  teacher (eq. 1)      {base * 1e3:8.1f} ms   1.00x")
        print(f"  distill stage 1      {s1_t * 1e3:8.1f} ms   {s1_t / base:5.2f}x teacher")
        print(f"  distill stage 2      {s2_t * 1e3:8.1f} ms   {s2_t / base:5.2f}x teacher")

        student = st2.student.eval()
        with torch.no_grad():
            emb = encode_text(st2.parts, ["make it warmer"])
            img = torch.rand(1, 3, p, p)
            noise = student.noise(1)
            torch_t = timed(lambda: student(img, emb, noise), args.repeat)
    else:
        torch_t = None

    pred = load_predictor(model_dir)
    rng = np.random.default_rng(0)
    proxy = rng.random((384, 512, 3), dtype=np.float32)
    pred.predict(proxy, "make it warmer")
    predict_t = timed(lambda: pred.predict(proxy, "make it warmer"), args.repeat)
    print(f"inference ({model_dir}):")
    print(f"  predict (ONNX, cached text)   {predict_t * 1e3:8.1f} ms   1.00x")
    if torch_t is not None:
        print(f"  same graph in torch           {torch_t * 1e3:8.1f} ms   {torch_t / predict_t:5.2f}x ONNX")
    prediction = pred.predict(proxy, "make it warmer")
    for name, (h, w) in {"720p": (720, 1280), "1080p": (1080, 1920), "4K": (2160, 3840)}.items():
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        apply_t = timed(lambda: apply_prediction(pixels, prediction), max(1, args.repeat // 2))
        total = predict_t + apply_t
        print(f"  {name:5s} apply {apply_t * 1e3:8.1f} ms   predict+apply {total * 1e3:8.1f} ms "
              f"  ({apply_t / predict_t:5.2f}x predict)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
