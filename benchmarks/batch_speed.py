"""Batch throughput on 24 MP JPEGs, against decode + encode alone, and peak memory.

    python benchmarks/batch_speed.py [--photos 6] [--workers 2] [--model DIR] [--repeats 2]

Makes ``--photos`` 24 MP (6000x4000) JPEGs by upscaling real photos from ../shared/photos (or
tests/data) into a temporary folder, then, in the same run and alternating to share the machine's
load fairly:

* **decode+encode**: ``load_photo`` + ``save_photo`` (same format, quality and metadata) on the
  same number of threads: the floor any batch pays;
* **batch**: ``app.batch.run_batch`` (decode -> proxy -> predict -> apply -> encode) with
  ``--workers`` threads and the given model (default: the shipped one).

Prints photos per minute for both and their ratio (target >= 0.8 on a 2-core CPU), plus the
peak resident memory of ``retouch batch --workers N`` run as a child process next to that of a
decode+encode child process. Best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import os
import resource
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
    from model.photo import load_photo, save_photo

    out.mkdir(parents=True, exist_ok=True)

    def one(p: Path) -> None:
        photo = load_photo(p)
        save_photo(out / p.name, photo.pixels, "jpeg", quality, exif=photo.exif, icc=photo.icc, overwrite=True)

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, paths))
    return time.perf_counter() - t


def batch(paths: list[Path], out: Path, workers: int, quality: int, predictor) -> float:
    from app.batch import Edit, InputFile, JobState, OutputSettings, make_jobs, run_batch

    settings = OutputSettings(out_dir=out, fmt="jpeg", quality=quality, existing="overwrite")
    out.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs([InputFile(p) for p in paths], settings)
    t = time.perf_counter()
    report = run_batch(jobs, Edit("warm, soft film look", 0.8), settings, predictor, workers=workers)
    dt = time.perf_counter() - t
    bad = [j for j in report.jobs if j.state != JobState.DONE]
    if bad:
        raise SystemExit(f"batch failed: {[(j.source.name, j.error) for j in bad]}")
    return dt


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; return (seconds, its peak resident set size in MiB)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.read().decode()[-2000:]}")
    return dt, usage.ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quality", type=int, default=92)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep the 24 MP inputs in this folder")
    args = ap.parse_args()

    from model.runtime import load_predictor

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

        base, full = [], []
        for _ in range(args.repeats):
            base.append(decode_encode(paths, tmp / "base", args.workers, args.quality))
            full.append(batch(paths, tmp / "batch", args.workers, args.quality, predictor))
        n = len(paths)
        b, f = min(base), min(full)
        print(f"\n{n} photos x 24 MP JPEG, {args.workers} workers, best of {args.repeats}")
        print(f"{'':24}{'seconds':>10}{'photos/min':>12}")
        print(f"{'decode+encode alone':24}{b:>10.2f}{n / b * 60:>12.1f}")
        print(f"{'retouch batch':24}{f:>10.2f}{n / f * 60:>12.1f}")
        print(f"ratio batch / decode+encode throughput: {b / f:.2f}  (target >= 0.8)")

        code = (
            "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"
        )
        model_args = ["--model", str(args.model)] if args.model else []
        dt, rss = peak_rss_mb([sys.executable, "-c", code, "batch", str(src), "-i", "warm, soft film look",
                               "-o", str(tmp / "mem"), "--workers", str(args.workers), "--format", "jpeg",
                               "--quality", str(args.quality), "--progress", "none", *model_args])  # fmt: skip
        base_code = (
            "import sys; from pathlib import Path; sys.path.insert(0, 'benchmarks');"
            "import batch_speed as b; ps = sorted(Path(sys.argv[1]).glob('p*.jpg'));"
            f"b.decode_encode(ps, Path(sys.argv[2]), {args.workers}, {args.quality})"
        )
        dt0, rss0 = peak_rss_mb([sys.executable, "-c", base_code, str(src), str(tmp / "mem0")])
        print(f"\npeak RSS, child process, {args.workers} workers ({n} photos):")
        print(f"  retouch batch        {rss:8.0f} MiB  ({dt:.1f} s incl. start-up and model load)")
        print(f"  decode+encode alone  {rss0:8.0f} MiB  ({dt0:.1f} s)")
        print(f"  one 24 MP uint8 frame is {SIZE[0] * SIZE[1] * 3 / 2**20:.0f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
