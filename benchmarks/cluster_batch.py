"""`retouch batch --ray` against the local batch on this machine, and what it implies for a cluster.

    python benchmarks/cluster_batch.py [--photos 8] [--workers 1 2] [--model DIR]

Makes ``--photos`` 24 MP JPEGs (as benchmarks/batch_speed.py does), then for each worker count,
in one process and alternating:

* **local**: ``run_batch`` with N threads (the plain ``retouch batch --workers N``);
* **ray**: ``run_batch_on_ray`` with N actors on a local Ray instance started once beforehand
  (``retouch batch --workers N --ray``). Its time includes starting the actors and loading the
  model in each, which a long batch amortises; the second figure leaves that out by timing from
  the first finished photo.

Prints photos per minute and the Ray/local ratio (goal: within 15 % at equal workers), the
per-photo cost split (decode, predict, apply, encode, and the bytes a photo moves), and the
throughput that split implies for 10 and 100 nodes reading from shared storage.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.batch_speed import make_photos  # noqa: E402


def _jobs(folder: Path, out: Path):
    from retouch_studio.app import batch as B

    settings = B.OutputSettings(out_dir=out, existing="overwrite")
    inputs, _ = B.collect_inputs([str(folder)], False, exclude=out)
    return B.make_jobs(inputs, settings), settings


def run_local(folder: Path, out: Path, workers: int, model) -> tuple[float, float, list]:
    from retouch_studio.app import batch as B
    from retouch_studio.model.engines.loader import load_predictor

    jobs, settings = _jobs(folder, out)
    predictor = load_predictor(model)
    first: list[float] = []
    t0 = time.perf_counter()
    B.run_batch(jobs, B.Edit(instruction="warmer, lift the shadows"), settings, predictor, workers=workers,
                progress_callback=lambda j, d, t: first.append(time.perf_counter()) if d == 1 else None)  # fmt: skip
    t1 = time.perf_counter()
    return t1 - t0, t1 - first[0], jobs


def run_ray(folder: Path, out: Path, workers: int, model) -> tuple[float, float, list]:
    from retouch_studio.app import cluster as C
    from retouch_studio.app import batch as B

    jobs, settings = _jobs(folder, out)
    first: list[float] = []
    t0 = time.perf_counter()
    C.run_batch_on_ray(jobs, B.Edit(instruction="warmer, lift the shadows"), settings, model_dir=model,
                       workers=workers,
                       progress_callback=lambda j, d, t: first.append(time.perf_counter()) if d == 1 else None)  # fmt: skip
    t1 = time.perf_counter()
    return t1 - t0, t1 - first[0], jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()

    from retouch_studio.app import cluster as C

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "in"
        folder.mkdir()
        photos = make_photos(folder, args.photos)
        C.connect(None, max(args.workers))
        n = len(photos)
        print(f"{n} photos of 24 MP; load average {os.getloadavg()[0]:.2f} at start")
        print(f"{'workers':>7} {'local/min':>10} {'ray/min':>9} {'ray/local':>9} {'steady ray/local':>16}")
        split = []
        for w in args.workers:
            lt, lsteady, ljobs = run_local(folder, tmp / f"local{w}", w, args.model)
            rt, rsteady, _ = run_ray(folder, tmp / f"ray{w}", w, args.model)
            split += [j.timings for j in ljobs]
            ratio = lt / rt
            steady = (lsteady / (n - 1)) / (rsteady / (n - 1)) if n > 1 else float("nan")
            print(f"{w:>7} {n / lt * 60:>10.1f} {n / rt * 60:>9.1f} {ratio:>9.2f} {steady:>16.2f}")
        print(f"load average {os.getloadavg()[0]:.2f} at end")

        stages = ("decode_ms", "predict_ms", "apply_ms", "encode_ms")
        cost = {s: statistics.median(t.get(s, 0.0) for t in split) for s in stages}
        size_in = statistics.median(p.stat().st_size for p in photos)
        size_out = statistics.median(p.stat().st_size for p in (tmp / f"local{args.workers[0]}").iterdir())
        per_photo_s = sum(cost.values()) / 1000
        print("\nper-photo cost (median, one worker thread): " + ", ".join(f"{s[:-3]} {cost[s]:.0f} ms" for s in stages))
        print(f"bytes moved per photo: {size_in / 1e6:.1f} MB in + {size_out / 1e6:.1f} MB out")
        print("\nimplied throughput with shared storage (nodes of 16 cores, one worker per core):")
        print(f"{'nodes':>6} {'photos/s (compute)':>19} {'storage needed':>15} {'limit':>40}")
        for nodes in (1, 10, 100):
            compute = nodes * 16 / per_photo_s
            gbps = compute * (size_in + size_out) / 1e9
            limit = "compute" if gbps < 1.0 else "10 GbE NFS (~1 GB/s) caps at %.0f photos/s" % (1e9 / (size_in + size_out))
            print(f"{nodes:>6} {compute:>19.0f} {gbps:>12.2f} GB/s {limit:>40}")
        import ray

        ray.shutdown()


if __name__ == "__main__":
    main()
