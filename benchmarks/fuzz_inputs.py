"""Fuzz the photo loader and the command line with hostile inputs (issue 20).

Loader: mutated real photos (JPEG, PNG 8/16-bit, RGBA, TIFF 8/16-bit and float, WebP, DNG): bit
flips, truncation, inserted and duplicated bytes, overwritten header fields, splices, wrong
extensions. Every case must give a ``Photo`` or a ``PhotoError`` (never another exception, never
a hang).

Command line: ``retouch apply / batch / export-lut / plan / presets`` with hostile arguments:
odd strengths, instructions (foreign, huge, broken UTF-8, punctuation, content edits, parameter
text with non-finite numbers), mutated recipes and presets (wrong types, NaN, huge numbers, deep
nesting), masks, model configs, output names (existing, too long, links to the input). Every run
must end with an exit code, no traceback and no untyped error in its messages, and the inputs
must be byte-identical afterwards.

    PYTHONPATH=. python benchmarks/fuzz_inputs.py --loader 10000 --cli 1000 [--seed 0]

Prints the counts of each outcome and the failures (with the seed that reproduces each).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UNTYPED = re.compile(
    r"Traceback|\b(TypeError|AttributeError|KeyError|IndexError|ZeroDivisionError|RecursionError|UnicodeError|"
    r"UnicodeEncodeError|UnicodeDecodeError|OverflowError|AssertionError|NameError|NotImplementedError|"
    r"LinAlgError|TypingError|UnboundLocalError|StopIteration)\b"
)


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int):
    def on_alarm(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------------------------
# Seeds: small real photos in every format the loader reads


def make_seeds(folder: Path) -> list[Path]:
    import tifffile
    from PIL import Image

    from tests.dng import mosaic, test_scene, write_dng

    photos = sorted((ROOT / "tests" / "data").glob("*.jpg"))[:4]
    seeds = []
    for i, src in enumerate(photos):
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((64, 64))
            arr = np.asarray(im)
        base = folder / f"seed{i}"
        Image.fromarray(arr).save(f"{base}.jpg", quality=90, exif=Image.Exif().tobytes())
        Image.fromarray(arr).save(f"{base}.png")
        Image.fromarray(arr).convert("RGBA").save(f"{base}_rgba.png")
        Image.fromarray(arr).save(f"{base}.webp", quality=80)
        tifffile.imwrite(f"{base}.tif", arr, photometric="rgb")
        arr16 = arr.astype(np.uint16) * 257
        tifffile.imwrite(f"{base}_16.tif", arr16, photometric="rgb", compression="zlib")
        tifffile.imwrite(f"{base}_f32.tif", arr.astype(np.float32) / 255, photometric="rgb")
        from retouch_studio.model.imaging import save_photo

        save_photo(f"{base}_16.png", arr16, "png")
        seeds += [Path(f"{base}{s}") for s in (".jpg", ".png", "_rgba.png", ".webp", ".tif", "_16.tif", "_f32.tif",
                                                 "_16.png")]
    dng = folder / "seed.dng"
    write_dng(dng, mosaic(test_scene(48, 64)))
    seeds.append(dng)
    return seeds


def mutate(data: bytes, rng: random.Random, seeds_data: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(["flip", "flip", "truncate", "insert", "dup", "header", "splice", "zero", "huge"])
        if not b:
            b = bytearray(rng.choice(seeds_data)[:64])
        if op == "flip":
            for _ in range(rng.randint(1, 20)):
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
        elif op == "truncate":
            b = b[: rng.randrange(len(b))]
        elif op == "insert":
            i = rng.randrange(len(b) + 1)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif op == "dup":
            i = rng.randrange(len(b))
            j = min(len(b), i + rng.randint(1, 4096))
            b[j:j] = b[i:j]
        elif op == "header":  # overwrite bytes near the start (sizes, offsets, types)
            i = rng.randrange(min(len(b), 64))
            b[i : i + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x00\x80\x00"])
        elif op == "splice":
            other = rng.choice(seeds_data)
            i = rng.randrange(len(b))
            b = b[:i] + other[rng.randrange(len(other)) :]
        elif op == "zero":
            i = rng.randrange(len(b))
            b[i : i + rng.randint(1, 256)] = bytes(min(256, len(b) - i))
        elif op == "huge":  # a PNG/TIFF-like header claiming a gigantic picture
            for pat in (b"IHDR",):
                k = b.find(pat)
                if k >= 0:
                    b[k + 4 : k + 12] = (rng.choice([40000, 100000, 1, 0]).to_bytes(4, "big")
                                         + rng.choice([40000, 100000, 1, 0]).to_bytes(4, "big"))
    return bytes(b)


def fuzz_loader(n: int, seed: int, folder: Path, seeds: list[Path]) -> tuple[Counter, list[str]]:
    from retouch_studio.model.imaging import Photo, PhotoError, load_photo, load_preview

    rng = random.Random(seed)
    seeds_data = [p.read_bytes() for p in seeds]
    exts = [".jpg", ".png", ".tif", ".tiff", ".webp", ".dng", ".nef", ".jpeg", ".bin"]
    outcomes: Counter = Counter()
    failures: list[str] = []
    for i in range(n):
        k = rng.randrange(len(seeds))
        data = mutate(seeds_data[k], rng, seeds_data)
        ext = seeds[k].suffix if rng.random() < 0.8 else rng.choice(exts)
        path = folder / f"case{ext}"
        path.write_bytes(data)
        fn = load_preview if rng.random() < 0.15 else load_photo
        try:
            with time_limit(20):
                photo = fn(path) if fn is load_photo else fn(path, 256)
            ok = (isinstance(photo, Photo) and photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3
                  and photo.pixels.dtype in (np.uint8, np.uint16) and photo.pixels.size > 0)
            outcomes["decoded" if ok else "BAD PHOTO"] += 1
            if not ok:
                failures.append(f"loader case {i} (seed {seed}): bad Photo {photo.pixels.shape} {photo.pixels.dtype}")
        except PhotoError as exc:
            outcomes[f"PhotoError:{exc.kind}"] += 1
        except Exception as exc:  # noqa: BLE001 - what the fuzz run is looking for
            outcomes["UNTYPED"] += 1
            failures.append(f"loader case {i} (seed {seed}, {seeds[k].name}->{ext}): {type(exc).__name__}: {exc}")
            (folder / "failures").mkdir(exist_ok=True)
            shutil.copy(path, folder / "failures" / f"loader{i}{ext}")
    return outcomes, failures


# ---------------------------------------------------------------------------------------------
# Command line


INSTRUCTIONS = [
    "warmer", "a bit warmer but not too bright", "lift the shadows, more contrast", "", "   ",
    "exposure +0.7, temperature -10", "exposure nan", "exposure inf, contrast 1e308", "exposure 99",
    "让照片更温暖", "rendre la photo plus chaude", "сделай теплее", "add a hat", "remove the person",
    "?!...,;", "warmer " * 400, "a" * 5000, "warmer \udcff\udcfe", "\x00\x01warmer", "cooler\nwarmer\tbrighter",
    "🙂🙂🙂", "make it pop!!!", "B&W", "sepia", "asdf qwerty",
]
STRENGTHS = ["0", "0.5", "1", "2", "nan", "inf", "-inf", "-1", "1e308", "2.0001", "1e-320", "abc", "", "0x10"]


def random_json_value(rng: random.Random, depth: int = 0):
    choices = [None, True, 0, -1, 1.5, float("nan"), float("inf"), 1e308, -1e308, 2**70, "", "x" * 3000,
               "warmer", [], {}, [1, 2], {"a": 1}]
    if depth < 3 and rng.random() < 0.3:
        return [random_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(choices)


def random_recipe(rng: random.Random) -> str:
    layer = {"instruction": rng.choice(INSTRUCTIONS[:4]), "kind": "instruction", "strength": 0.8,
             "strokes": [{"points": [[10, 10], [30, 20]], "radius": 8, "feather": 0.5, "flow": 1.0}],
             "edge_aware": rng.random() < 0.3, "invert": rng.random() < 0.2}
    recipe = {"version": 1, "model": "default", "image_size": [64, 48], "layers": [layer]}
    stroke = layer["strokes"][0]
    for _ in range(rng.randint(0, 3)):
        target = rng.choice([recipe, layer, stroke])
        key = rng.choice(list(target) + ["extra"])
        target[key] = random_json_value(rng)
    if rng.random() < 0.05:
        return "[" * 50_000 + "]" * 50_000
    if rng.random() < 0.05:
        return json.dumps(recipe)[: rng.randrange(1, 200)]
    return json.dumps(recipe)


def random_preset(rng: random.Random, name: str) -> str:
    kind = rng.choice(["instruction", "params", "recipe"])
    data = {"version": 1, "name": name, "strength": rng.choice([0.7, 1, float("nan"), 1e308, -1, "x", None])}
    if kind == "instruction":
        data["instruction"] = rng.choice(INSTRUCTIONS)
    elif kind == "params":
        data["params"] = {rng.choice(["exposure", "temperature", "nope"]): random_json_value(rng)}
    else:
        try:
            data["recipe"] = json.loads(random_recipe(rng)) if rng.random() < 0.9 else random_json_value(rng)
        except (ValueError, RecursionError):  # a truncated or deeply nested one: store it as text
            data["recipe"] = "broken"
    if rng.random() < 0.2:
        data[rng.choice(list(data))] = random_json_value(rng)
    text = json.dumps(data)
    if rng.random() < 0.05:
        text = text[: rng.randrange(len(text))]
    return text


def random_model_dir(rng: random.Random, folder: Path) -> Path:
    model = folder / f"model{rng.randrange(10**6)}"
    model.mkdir()
    cfg = rng.choice(['[1, 2]', '{"engine": 5}', '{"engine": "compact", "net_size": "big"}', '{"engine": ',
                      '{"engine": "compact", "route_to_params": 3}', '{"engine": "nope"}', '{"engine": "params"}',
                      '{"engine": "compact", "channels": [1e9, 2, 3]}', '{"engine": "compact", "grid_depth": -4}'])
    (model / "config.json").write_text(cfg)
    (model / "weights.pt").write_bytes(rng.choice([b"", b"\x80\x04garbage", b"PK\x03\x04"]))
    return model


def fuzz_cli(n: int, seed: int, folder: Path, seeds: list[Path]) -> tuple[Counter, list[str]]:
    from retouch_studio.app.cli.main import main
    from retouch_studio.model.engines import loader

    # one shipped model for the whole run (loading it is not what is fuzzed; --model dirs still load)
    real_load = loader.load_predictor
    cached = functools.lru_cache(maxsize=1)(lambda: real_load(None))
    loader.load_predictor = lambda model_dir=None: cached() if model_dir is None else real_load(model_dir)

    rng = random.Random(seed)
    config = folder / "config"
    (config / "presets").mkdir(parents=True)
    os.environ["RETOUCH_CONFIG_DIR"] = str(config)
    photos = [p for p in seeds if p.suffix in (".jpg", ".png", ".tif", ".webp", ".dng")]
    seeds_data = [p.read_bytes() for p in seeds]
    outcomes: Counter = Counter()
    failures: list[str] = []
    for i in range(n):
        case = folder / f"cli{i}"
        case.mkdir()
        src = case / rng.choice(["in.jpg", "in.png", "in.tif", "in.webp", "in.dng", "in photo é.jpg"])
        k = rng.randrange(len(photos))
        data = photos[k].read_bytes()
        if rng.random() < 0.2:
            data = mutate(data, rng, seeds_data)
        src.write_bytes(data)
        before = hashlib.sha256(data).hexdigest()
        out = case / rng.choice(["out.jpg", "out.png", "out.tif", "out.webp", "o" * 251 + ".jpg", "o" * 300 + ".jpg",
                                 "out.xyz", "sub/out.jpg", "out"])
        if rng.random() < 0.1:
            with contextlib.suppress(OSError):  # a missing folder or a name too long stays so
                out.write_bytes(b"existing")
        if rng.random() < 0.05:
            out = case / "link.jpg"
            out.symlink_to(src)
        preset_name = f"p{i}"
        (config / "presets" / f"{preset_name}.json").write_text(random_preset(rng, preset_name))
        recipe = case / "recipe.json"
        recipe.write_text(random_recipe(rng))
        cmd = rng.choice(["apply", "apply", "apply", "batch", "batch", "export-lut", "plan", "presets"])
        args: list[str]
        if cmd == "apply":
            args = ["apply", str(src), "-o", str(out)]
            if rng.random() < 0.7:
                args += ["-i", rng.choice(INSTRUCTIONS)]
            if rng.random() < 0.2:
                args += ["--preset", preset_name]
        elif cmd == "batch":
            args = ["batch", str(case), "-o", str(rng.choice([case / "out", case, Path(".")])), "--progress", "none"]
            args += rng.choice([["-i", rng.choice(INSTRUCTIONS)], ["--recipe", str(recipe)], ["--preset", preset_name]])
        elif cmd == "export-lut":
            args = ["export-lut", str(src), "-o", str(case / "look.cube"), "--size", rng.choice(["5", "9", "0", "1000"]),
                    "--work-size", "64"]
            args += rng.choice([["-i", rng.choice(INSTRUCTIONS)], ["--recipe", str(recipe)], ["--preset", preset_name]])
            if rng.random() < 0.3:
                args += ["--title", rng.choice(["温暖", "a\nb", "x" * 500, '"q"'])]
            if rng.random() < 0.2:
                args += ["--smoothness", rng.choice(["nan", "inf", "-1", "0", "1e-3"])]
        elif cmd == "plan":
            args = ["plan", "-i", rng.choice(INSTRUCTIONS)] + (["--json"] if rng.random() < 0.5 else [])
        else:
            args = rng.choice([["presets", "list"], ["presets", "show", preset_name],
                               ["presets", "save", f"s{i}", "-i", rng.choice(INSTRUCTIONS)],
                               ["presets", "save", f"r{i}", "--recipe", str(recipe)]])
        if cmd in ("apply", "batch", "export-lut") and rng.random() < 0.5:
            args.append(f"--strength={rng.choice(STRENGTHS)}")
        if cmd == "apply" and rng.random() < 0.15:
            mask = case / "mask.png"
            mask.write_bytes(mutate(rng.choice(seeds_data), rng, seeds_data) if rng.random() < 0.5 else seeds_data[1])
            args += ["--mask", str(mask)]
        if cmd in ("apply", "batch", "export-lut") and rng.random() < 0.05:
            args += ["--model", str(random_model_dir(rng, case))]
        if cmd in ("apply", "export-lut") and rng.random() < 0.2:
            args.append("--overwrite")
        stderr, stdout = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(case)
        try:
            with time_limit(120), contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
                try:
                    code = main(args)
                except SystemExit as exc:  # argparse usage errors
                    code = exc.code if isinstance(exc.code, int) else 2
            outcomes[f"{cmd}: exit {code}"] += 1
            text = stderr.getvalue() + stdout.getvalue()
            if UNTYPED.search(text):
                outcomes["UNTYPED MESSAGE"] += 1
                failures.append(f"cli case {i} (seed {seed}) {args!r}: {UNTYPED.search(text).group(0)} in {text[-500:]!r}")
        except Exception as exc:  # noqa: BLE001 - what the fuzz run is looking for
            outcomes["UNTYPED EXCEPTION"] += 1
            failures.append(f"cli case {i} (seed {seed}) {args!r}: {type(exc).__name__}: {exc}")
        finally:
            os.chdir(cwd)
        if hashlib.sha256(src.read_bytes()).hexdigest() != before:
            outcomes["INPUT CHANGED"] += 1
            failures.append(f"cli case {i} (seed {seed}) {args!r}: the input photo changed")
        shutil.rmtree(case, ignore_errors=True)
    loader.load_predictor = real_load
    return outcomes, failures


def run(loader_cases: int, cli_cases: int, seed: int = 0, verbose: bool = True) -> list[str]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # it logs every damaged tag it meets
    folder = Path(tempfile.mkdtemp(prefix="retouch-fuzz-"))
    failures: list[str] = []
    try:
        (folder / "seeds").mkdir()
        seeds = make_seeds(folder / "seeds")
        for name, n, fn in (("loader", loader_cases, fuzz_loader), ("command line", cli_cases, fuzz_cli)):
            if not n:
                continue
            work = folder / name.replace(" ", "_")
            work.mkdir()
            t = time.perf_counter()
            outcomes, fails = fn(n, seed, work, seeds)
            failures += fails
            if verbose:
                print(f"{name}: {n} cases in {time.perf_counter() - t:.0f} s, {len(fails)} failures")
                for key, count in sorted(outcomes.items()):
                    print(f"  {key}: {count}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if verbose:
        for f in failures[:50]:
            print("FAIL", f)
    return failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loader", type=int, default=10_000, help="loader cases (default 10000)")
    ap.add_argument("--cli", type=int, default=1_000, help="command-line cases (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    failures = run(args.loader, args.cli, args.seed)
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
