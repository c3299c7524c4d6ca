"""Start-up of the command line and the app, against a bare Pillow decode + encode (same run).

    python benchmarks/startup.py [--repeat 3] [--photo PATH]

Every measurement is a fresh Python process (median wall time of ``--repeat`` runs). The baseline
is Pillow alone opening a 12 MP JPEG and saving it as a JPEG at quality 95; ``retouch apply`` is
timed on the same file. The numba kernels are compiled (and cached) by one untimed warm-up run
first, so the table shows every later start on this machine. Targets, on a quiet 2-core machine:

    usage error, missing input     <= 0.5 s, before any model loads
    retouch plan -i "warmer"       <= 1 s
    app window up                  <= 2 s
    retouch apply (12 MP JPEG)     <= 2.5x the Pillow baseline

The load average is printed because absolute times on a shared machine mean little alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A real photo scaled to 12 MP (the shared set sits next to the checkout or next to its worktree folder).
PHOTOS = [
    ROOT.parent / "shared" / "photos" / "Dragonfly_by_Bolly.jpg",
    ROOT.parent.parent / "shared" / "photos" / "Dragonfly_by_Bolly.jpg",
    ROOT / "tests" / "data" / "aitzgorri_by_Aitzol_Berasategi.jpg",
]
SIZE_12MP = (4000, 3000)

PILLOW = "from PIL import Image; import sys; Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2], 'JPEG', quality=95)"
CLI = "import sys; from retouch_studio.app.cli.main import main; sys.exit(main(sys.argv[1:]))"
# The window is up when the event loop first runs after show(): print the wall clock then, and quit.
WINDOW = (
    "import sys, time\n"
    "from PySide6.QtCore import QTimer\n"
    "from PySide6.QtWidgets import QApplication\n"
    "app = QApplication(sys.argv[:1])\n"
    "QTimer.singleShot(0, lambda: (print(time.time(), flush=True), app.quit()))\n"
    "from retouch_studio.app.gui import main\n"
    "main([])\n"
)
# Modules whose import means the hot path pulled in something heavy.
HEAVY = ("torch", "transformers", "scipy.ndimage", "scipy.sparse", "numba", "onnxruntime", "PySide6")


def make_photo(src: Path, dst: Path) -> Path:
    from PIL import Image

    with Image.open(src) as im:
        im.convert("RGB").resize(SIZE_12MP, Image.Resampling.LANCZOS).save(dst, "JPEG", quality=92)
    return dst


def run(code: str, *args: str, env: dict | None = None, expect: int | None = 0) -> tuple[float, str]:
    """Wall seconds of a fresh ``python -c code args``, and its stdout (the window run reports its
    own 'up' time on stdout)."""
    t = time.time()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    wall = time.time() - t
    if expect is not None and proc.returncode != expect:
        raise SystemExit(f"unexpected exit {proc.returncode} from {args}:\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def heavy_modules(*args: str) -> list[str]:
    """Heavy top-level modules imported by ``retouch args`` (run in-process in a child)."""
    code = (
        "import sys\nfrom retouch_studio.app.cli.main import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:', *(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("HEAVY:")), "HEAVY:")
    return line.split()[1:]


def median(fn, repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--photo", type=Path)
    args = ap.parse_args()
    env = dict(os.environ, HF_HUB_OFFLINE="1", QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = args.photo or next(p for p in PHOTOS if p.exists())
        photo = make_photo(source, tmp / "12mp.jpg")
        out = tmp / "out.jpg"

        def apply_once() -> float:
            out.unlink(missing_ok=True)
            return run(CLI, "apply", str(photo), "-i", "warmer", "-o", str(out), env=env)[0]

        def window_once() -> float:
            t = time.time()
            _, stdout = run(WINDOW, env=env)
            return float(stdout.split()[0]) - t

        first_apply = apply_once()  # compiles and caches the numba kernels if this machine has none
        rows = [
            ("python -c pass", median(lambda: run("pass")[0], args.repeat), None),
            ("Pillow decode + encode 12 MP (baseline)", median(lambda: run(PILLOW, str(photo), str(tmp / "pil.jpg"))[0], args.repeat), None),
            ("retouch (usage error)", median(lambda: run(CLI, "apply", env=env, expect=2)[0], args.repeat), 0.5),
            ("retouch apply missing.jpg", median(lambda: run(CLI, "apply", str(tmp / "missing.jpg"), "-o", str(tmp / "m.jpg"), env=env, expect=None)[0], args.repeat), 0.5),
            ("retouch --help", median(lambda: run(CLI, "--help", env=env)[0], args.repeat), 0.5),
            ('retouch plan -i "warmer"', median(lambda: run(CLI, "plan", "-i", "warmer", env=env)[0], args.repeat), 1.0),
            ("app window up", median(window_once, args.repeat), 2.0),
            ('retouch apply 12 MP -i "warmer"', median(apply_once, args.repeat), None),
        ]
    base = rows[1][1]
    load = os.getloadavg()
    print(f"photo: {source.name} as a {SIZE_12MP[0]}x{SIZE_12MP[1]} JPEG; median of {args.repeat} fresh processes; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(f"first apply on this run (numba cache filled if empty): {first_apply:.2f} s")
    print(f"{'what':<42} {'seconds':>8} {'x Pillow':>9} {'target':>12}")
    for name, secs, target in rows:
        goal = f"<= {target:g} s" if target else ""
        if name.startswith("retouch apply 12 MP"):
            goal = "<= 2.5x"
        print(f"{name:<42} {secs:8.2f} {secs / base:9.2f} {goal:>12}")
    for argv in (["apply"], ["plan", "-i", "warmer"]):
        mods = heavy_modules(*argv)
        print(f"heavy modules imported by `retouch {' '.join(argv)}`: {', '.join(mods) or 'none'}")


if __name__ == "__main__":
    main()
