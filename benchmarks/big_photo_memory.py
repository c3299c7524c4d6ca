"""Peak memory of ``retouch apply`` on a 250 MP 16-bit PNG (issue 20: at most 3 GB).

Writes a 15,800 x 15,800 16-bit RGB PNG (a smooth picture that compresses to a few MB, like the
trial's file), then runs ``retouch apply`` on it in a fresh process under ``/usr/bin/time -v`` and
prints the peak resident memory, next to a baseline measured in the same run: a fresh process
that only decodes the same file (imagecodecs, the decoder the loader uses). The decoded picture
alone is 1.5 GB; everything after decoding (proxy, apply, encode) works in that one buffer or in
bands of rows, so the peak stays near one copy of the picture.

    PYTHONPATH=. python benchmarks/big_photo_memory.py [--side 15800] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAKE = r"""
import sys, numpy as np
from retouch_studio.model.imaging import save_photo
side = int(sys.argv[2])
px = np.empty((side, side, 3), np.uint16)
x = np.linspace(0, 1, side, dtype=np.float32)
for y0 in range(0, side, 512):
    y1 = min(side, y0 + 512)
    t = np.linspace(y0 / side, y1 / side, y1 - y0, dtype=np.float32)[:, None]
    px[y0:y1, :, 0] = (65535 * (0.2 + 0.6 * x[None, :] * (1 - t))).astype(np.uint16)
    px[y0:y1, :, 1] = (65535 * (0.15 + 0.5 * t * np.ones_like(x)[None, :])).astype(np.uint16)
    px[y0:y1, :, 2] = (65535 * (0.3 + 0.4 * (1 - x[None, :]) * t)).astype(np.uint16)
save_photo(sys.argv[1], px, "png")
"""

DECODE = r"""
import sys, imagecodecs
with open(sys.argv[1], "rb") as f:
    arr = imagecodecs.png_decode(f.read())
print(arr.shape, arr.dtype)
"""


def peak_rss(cmd: list[str]) -> tuple[float, float, str]:
    """(peak resident GB, wall seconds, output) of ``cmd`` under /usr/bin/time -v."""
    t = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    if res.returncode != 0 or not m:
        raise SystemExit(f"failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout}\n{res.stderr[-3000:]}")
    return int(m.group(1)) / 2**20, wall, res.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=15_800, help="pixels per side (default 15800: 250 MP)")
    ap.add_argument("--keep", type=Path, default=None, help="folder for the files (default: a temp folder)")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="retouch-bigmem-"))
    folder.mkdir(parents=True, exist_ok=True)
    src, out = folder / "big16.png", folder / "big16_out.png"
    out.unlink(missing_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if not src.exists():
        subprocess.run([sys.executable, "-c", MAKE, str(src), str(args.side)], check=True, env=env)
    mp = args.side * args.side / 1e6
    print(f"load average {os.getloadavg()[0]:.1f}; {src.name}: {args.side}x{args.side} = {mp:.0f} MP 16-bit, "
          f"{src.stat().st_size / 1e6:.2f} MB on disk; one decoded copy = {args.side ** 2 * 6 / 2 ** 30:.2f} GB")
    base, base_s, _ = peak_rss([sys.executable, "-c", DECODE, str(src)])
    print(f"baseline (decode only, fresh process): peak {base:.2f} GB, {base_s:.1f} s")
    cmd = [sys.executable, "-m", "retouch_studio.app.cli.main", "apply", str(src), "-i", "warmer, more contrast",
           "-o", str(out)]
    peak, wall, said = peak_rss(cmd)
    print(said)
    print(f"retouch apply: peak {peak:.2f} GB ({peak / base:.2f}x the decode-only baseline), {wall:.1f} s; "
          f"target <= 3 GB: {'met' if peak <= 3.0 else 'NOT met'}")
    if args.keep is None:
        for p in (src, out):
            p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
