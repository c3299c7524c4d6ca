"""Batch throughput on 24 MP JPEGs, against decode + encode alone, and peak memory.

    python benchmarks/batch_speed.py [--photos 6] [--workers 2] [--model DIR] [--repeats 2]

Makes ``--photos`` 24 MP (6000x4000) JPEGs by upscaling real photos from ../shared/photos (or
tests/data) into a temporary folder, then, in the same run and alternating to share the machine's
load fairly:

* **decode+encode**: ``load_photo`` + ``save_photo`` (same format, quality and metadata) on the
  same number of threads: the floor any batch pays;
* **batch**: ``app.batch.run_batch`` (decode -> proxy -> predict -> apply -> encode) with
  ``--workers`` threads and the given model (default: the shipped one).

Prints photos per minute for both and their ratio (target >= 0.6 with the same number of workers), plus the
peak resident memory of ``retouch batch --workers N`` run as a child process next to that of a
decode+encode child process. Best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (6000, 4000)  # 24 MP


def make_photos(folder: Path, n: int) -> list[Path]:
    from PIL import Image

    shared = ROOT.parent / "shared" / "photos"
    sources = sorted(shared.glob("*.jpg")) or sorted((ROOT / "tests" / "data").glob("*.jpg"))
    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        with Image.open(src) as im:
            exif = im.info.get("exif")
            im = im.convert("RGB")
            w, h = im.size
            size = SIZE if w >= h else SIZE[::-1]
            big = im.resize(size, Image.Resampling.BICUBIC)
        path = folder / f"p{i:02d}_{src.stem}.jpg"
        kw = {"exif": exif} if exif else {}
        big.save(path, "JPEG", quality=92, **kw)
        out.append(path)
    return out


def decode_encode(paths: list[Path], out: Path, workers: int, quality: int) -> float:
    from retouch_studio.model.imaging import load_photo, save_photo

    out.mkdir(parents=True, exist_ok=True)

    def one(p: Path) -> None:
        photo = load_photo(p)
        save_photo(out / p.name, photo.pixels, "jpeg", quality, exif=photo.exif, icc=photo.icc, overwrite=True)

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, paths))
    return time.perf_counter() - t


STAGES = ("decode_ms", "predict_ms", "apply_ms", "encode_ms")


def batch(paths: list[Path], out: Path, workers: int, quality: int, predictor, stages: dict | None = None) -> float:
    from retouch_studio.app.batch import Edit, InputFile, JobState, OutputSettings, make_jobs, run_batch

    settings = OutputSettings(out_dir=out, fmt="jpeg", quality=quality, existing="overwrite")
    out.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs([InputFile(p) for p in paths], settings)
    t = time.perf_counter()
    report = run_batch(jobs, Edit("warm, soft film look", 0.8), settings, predictor, workers=workers)
    dt = time.perf_counter() - t
    bad = [j for j in report.jobs if j.state != JobState.DONE]
    if bad:
        raise SystemExit(f"batch failed: {[(j.source.name, j.error) for j in bad]}")
    if stages is not None:
        for key in STAGES:
            stages.setdefault(key, []).extend(j.timings.get(key, float("nan")) for j in report.jobs)
    return dt


_HWM = (
    "import atexit, sys\n"
    "def _hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('PEAK_RSS_KB ' + line.split()[1] + '\\n')\n"
    "atexit.register(_hwm)\n"
)


def peak_rss_mb(code: str, argv: list[str]) -> tuple[float, float]:
    """Run ``python -c code argv...``; return (seconds, the child's peak resident set in MiB).

    The child reports its own VmHWM at exit: ``ru_maxrss`` from ``wait4`` would include the
    parent's high-water mark, which Linux carries across fork + exec."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _HWM + code, *argv], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    kb = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB")]
    return dt, kb[-1] / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quality", type=int, default=92)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep the 24 MP inputs in this folder")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    args = ap.parse_args()

    from retouch_studio.model.engines.loader import load_predictor

    tmp = Path(tempfile.mkdtemp(prefix="retouch-batch-bench-"))
    try:
        src = args.keep or tmp / "in"
        src.mkdir(parents=True, exist_ok=True)
        paths = sorted(src.glob("p*.jpg"))[: args.photos]
        if len(paths) < args.photos:
            t = time.perf_counter()
            paths = make_photos(src, args.photos)
            print(f"made {len(paths)} photos of {SIZE[0]}x{SIZE[1]} in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        predictor = load_predictor(args.model)
        print(f"model: {predictor.model_id} (loaded in {time.perf_counter() - t:.1f} s); cpus: {os.cpu_count()}; "
              f"load average: {os.getloadavg()[0]:.1f}")  # fmt: skip
        # Warm-up (numba kernels, text encoder caches) on one photo, not timed.
        batch(paths[:1], tmp / "warm", 1, args.quality, predictor)

        base, full, stages = [], [], {}
        for _ in range(args.repeats):
            base.append(decode_encode(paths, tmp / "base", args.workers, args.quality))
            full.append(batch(paths, tmp / "batch", args.workers, args.quality, predictor, stages))
        n = len(paths)
        b, f = min(base), min(full)
        print(f"\n{n} photos x 24 MP JPEG, {args.workers} workers, best of {args.repeats}")
        print(f"{'':24}{'seconds':>10}{'photos/min':>12}")
        print(f"{'decode+encode alone':24}{b:>10.2f}{n / b * 60:>12.1f}")
        print(f"{'retouch batch':24}{f:>10.2f}{n / f * 60:>12.1f}")
        print(f"ratio batch / decode+encode throughput: {b / f:.2f}  (target >= 0.6)")
        import numpy as np

        print("median per-photo stage time inside the batch (wall, threads overlap): "
              + ", ".join(f"{k[:-3]} {np.median(v):.0f} ms" for k, v in stages.items()))  # fmt: skip

        if args.no_memory:
            return
        code = "from retouch_studio.app.cli.main import main; sys.exit(main(sys.argv[1:]))"
        model_args = ["--model", str(args.model)] if args.model else []
        def batch_child(workers: int, out: str) -> tuple[float, float]:
            return peak_rss_mb(code, ["batch", str(src), "-i", "warm, soft film look", "-o", str(tmp / out),
                                      "--workers", str(workers), "--format", "jpeg", "--quality",
                                      str(args.quality), "--progress", "none", *model_args])  # fmt: skip

        dt, rss = batch_child(args.workers, "mem")
        dt1, rss1 = batch_child(1, "mem1")
        base_code = (
            "from pathlib import Path; sys.path.insert(0, 'benchmarks');"
            "import batch_speed as b; ps = sorted(Path(sys.argv[1]).glob('p*.jpg'));"
            f"b.decode_encode(ps, Path(sys.argv[2]), {args.workers}, {args.quality})"
        )
        dt0, rss0 = peak_rss_mb(base_code, [str(src), str(tmp / "mem0")])
        print(f"\npeak RSS, child process, {args.workers} workers ({n} photos):")
        print(f"  retouch batch        {rss:8.0f} MiB  ({dt:.1f} s incl. start-up and model load)")
        print(f"  ... with 1 worker    {rss1:8.0f} MiB  ({dt1:.1f} s)")
        print(f"  decode+encode alone  {rss0:8.0f} MiB  ({dt0:.1f} s)")
        print(f"  one 24 MP uint8 frame is {SIZE[0] * SIZE[1] * 3 / 2**20:.0f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
