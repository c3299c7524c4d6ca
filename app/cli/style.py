"""``retouch style learn|list|remove|export-cube``: a photographer's style from their own pairs.

``learn`` reads a folder of originals and a folder of the finished versions (matched by file
name stem), learns a photo-adaptive style (``model.style``) and stores it in the user's config
folder. ``retouch apply|batch --style NAME [-i WORDS]`` applies it; in any instruction, preset or
recipe the text ``style: NAME[, words]`` does the same.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


class StyleCommandError(Exception):
    pass


def instruction_with_style(name: str, words: str = "") -> str:
    """The instruction for ``--style NAME`` plus ``-i`` words; ValueError (naming the known
    styles) when there is no such style, before any photo is read."""
    from retouch_studio.model.style.reference import style_instruction
    from retouch_studio.model.style.store import load_style

    load_style(name)  # StyleError (a ValueError) when missing or damaged
    return style_instruction(name, words)


def register(subparsers) -> None:
    # No model.style import here: it loads torch, and building the parser must stay cheap
    # ('retouch style list' prints the folder).
    parser = subparsers.add_parser(
        "style",
        help="learn a style from before/after folders; list, remove, export styles",
        description="Learned styles (stored in the styles/ folder of Retouch Studio's config folder; "
        "override the config folder with RETOUCH_CONFIG_DIR). "
        "Apply one with 'retouch apply|batch --style NAME [-i \"also a bit warmer\"]'.",
    )
    sub = parser.add_subparsers(dest="style_command", metavar="ACTION")
    p = sub.add_parser(
        "learn",
        help="learn a style from a folder of originals and a folder of your finished versions",
        description="Learn a style from pairs of photos: originals in --before, your finished "
        "versions in --after, matched by file name without extension. The finished versions may "
        "be resized, re-encoded, rotated or in another colour profile; cropped or locally "
        "retouched pairs are left out (and listed). At least 5 usable pairs; 20 or more is better.",
    )
    p.add_argument("--before", type=Path, required=True, metavar="DIR", help="folder of originals (JPEG, PNG, TIFF, WebP, RAW)")
    p.add_argument("--after", type=Path, required=True, metavar="DIR", help="folder of the finished versions")
    p.add_argument("--name", required=True, help="name of the style")
    p.add_argument("--minutes", type=float, default=2.0, help="most time the fit may take (default 2)")
    p.add_argument("--overwrite", action="store_true", help="replace a style of the same name")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p = sub.add_parser("list", help="list learned styles")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = sub.add_parser("remove", help="delete a learned style")
    p.add_argument("name")
    p = sub.add_parser(
        "export-cube",
        help="write the style as a .cube LUT for other tools (exact only for a global style)",
        description="Write the single 3D LUT closest to the style. A LUT is the same for every "
        "photo, the style is not: the command says how far the LUT is from the style on the "
        "pairs it was learned from (mean ΔE2000).",
    )
    p.add_argument("name")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the .cube file to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.set_defaults(func=run, _style_parser=parser)


def run(args: argparse.Namespace) -> int:
    from retouch_studio.model.style.pairs import PairError
    from retouch_studio.model.style.store import StyleError

    try:
        return _run(args)
    except (StyleCommandError, StyleError, PairError) as exc:
        print(f"retouch style: {exc}", file=sys.stderr)
        return 2
    except InterruptedError:
        print("retouch style: cancelled; nothing was saved", file=sys.stderr)
        return 130


def _run(args) -> int:
    cmd = getattr(args, "style_command", None)
    if cmd == "learn":
        return _learn(args)
    if cmd == "list":
        return _list(args)
    if cmd == "remove":
        from retouch_studio.model.style.store import remove_style

        remove_style(args.name)
        print(f"removed style {args.name!r}")
        return 0
    if cmd == "export-cube":
        return _export_cube(args)
    args._style_parser.print_help()
    return 2


def _learn(args) -> int:
    from retouch_studio.model.style.learn import MIN_PAIRS, learn_style
    from retouch_studio.model.style.pairs import collect_pairs
    from retouch_studio.model.style.reference import check_style_name
    from retouch_studio.model.style.store import save_style, style_path

    try:
        check_style_name(args.name)
    except ValueError as exc:
        raise StyleCommandError(str(exc)) from None
    if not (args.minutes > 0 and math.isfinite(args.minutes)):
        raise StyleCommandError(f"--minutes must be a positive number, got {args.minutes}")
    if (style_path(args.name) / "style.json").exists() and not args.overwrite:
        raise StyleCommandError(f"a style named {args.name!r} already exists (use --overwrite to replace it)")
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print

    def read_progress(done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            say(f"  read {done}/{total} pairs")

    say(f"reading pairs from {args.before} and {args.after} ...")
    found = collect_pairs(args.before, args.after, progress=read_progress)
    for file, why in found.skipped:
        say(f"  left out {file}: {why}")
    if len(found.pairs) < MIN_PAIRS:
        reasons = "; ".join(f"{Path(f).name}: {w}" for f, w in found.skipped[:6])
        more = f" (and {len(found.skipped) - 6} more)" if len(found.skipped) > 6 else ""
        raise StyleCommandError(
            f"only {len(found.pairs)} usable pair{'s' if len(found.pairs) != 1 else ''} in {args.before} and "
            f"{args.after}; a style needs at least {MIN_PAIRS} (20 or more is better)"
            + (f". Left out: {reasons}{more}" if reasons else "")
        )
    say(f"learning {args.name!r} from {len(found.pairs)} pairs (at most {args.minutes:g} min) ...")
    last = [-1]

    def fit_progress(fraction: float, message: str) -> None:
        step = int(fraction * 10)
        if step != last[0]:
            last[0] = step
            say(f"  {fraction * 100:3.0f} %  {message}")

    style, report = learn_style(args.name, found.pairs, minutes=args.minutes, progress=fit_progress)
    path = save_style(style, overwrite=args.overwrite)
    if args.json:
        print(json.dumps({"name": style.name, "path": str(path), "skipped": found.skipped, **style.info}, indent=2))
        return 0
    print(f"learned style {style.name!r} from {report.pairs} pairs in {report.seconds:.0f} s -> {path}")
    print("what it does per photo (renderer parameters; 'follows' = the photo statistic that moves it most):")
    for name, p in report.params.items():
        if abs(p["mean"]) < (0.03 if name == "exposure" else 1.5) and p["spread"] < (0.05 if name == "exposure" else 2):
            continue
        unit = " EV" if name == "exposure" else ""
        adaptive = f", varies ±{p['spread']:.2g}{unit} with the photo" + (f" (follows {p['follows']})" if p["follows"] else "")
        print(f"  {name:<12} {p['mean']:+.2g}{unit} on average{adaptive if p['spread'] > 1e-3 else ''}")
    print("  plus one shared colour grade (a smooth 3D LUT) on top")
    if report.held_back_de is not None:
        ratio = report.held_back_de / max(report.held_back_input_de, 1e-9)
        print(
            f"fit on {len(report.held_back)} held-back pairs ({', '.join(report.held_back)}): mean ΔE2000 "
            f"{report.held_back_de:.2f} to your versions (the originals: {report.held_back_input_de:.2f}, "
            f"{ratio:.0%} of it left)"
        )
    else:
        print(f"no pairs held back to measure the fit (fewer than 8 pairs); use 20 or more for a reliable style")
    print(f"as a single LUT (export-cube): mean ΔE2000 {report.cube_de:.2f} from the full style on the pairs"
          + (" (close to global)" if report.cube_de < 1.0 else " (the style adapts to each photo; a LUT cannot)"))
    print(f"apply it: retouch apply PHOTO -o OUT --style {_quote(style.name)}   or   retouch batch DIR -o OUT --style {_quote(style.name)}")
    return 0


def _quote(name: str) -> str:
    return f'"{name}"' if " " in name else name


def _list(args) -> int:
    from retouch_studio.model.style.store import StyleError, describe, list_styles, load_style, styles_dir

    names = list_styles()
    rows = []
    for name in names:
        try:
            style = load_style(name)
            rows.append((name, describe(style), style.info))
        except StyleError as exc:
            rows.append((name, f"unreadable: {exc}", {}))
    if args.json:
        print(json.dumps([{"name": n, **info} for n, _, info in rows], indent=2))
    elif not rows:
        print(f"no styles learned yet (folder: {styles_dir()}); learn one with 'retouch style learn'")
    else:
        width = max(len(n) for n, _, _ in rows)
        for name, text, _ in rows:
            print(f"{name:<{width}}  {text}")
    return 0


def _export_cube(args) -> int:
    from retouch_studio.model.lut import CubeError, write_cube
    from retouch_studio.model.style.store import load_style

    style = load_style(args.name)
    out = args.output
    if out.exists() and not args.overwrite:
        raise StyleCommandError(f"{out}: already exists (use --overwrite to replace it)")
    if not out.parent.is_dir():
        raise StyleCommandError(f"{out}: folder {out.parent} does not exist")
    de = style.info.get("cube_delta_e")
    ascii_name = style.name.encode("ascii", "replace").decode("ascii")  # .cube files are ASCII
    comments = [f"Retouch Studio learned style '{ascii_name}', closest single LUT"]
    if isinstance(de, (int, float)):
        comments.append(f"mean dE2000 to the full (photo-adaptive) style on its {style.info.get('pairs', '?')} pairs: {de:.2f}")
    try:
        write_cube(out, style.cube, title=ascii_name, comments=comments, overwrite=args.overwrite)
    except (CubeError, OSError) as exc:
        raise StyleCommandError(str(exc)) from exc
    size = style.cube.shape[0]
    print(f"{out}: {size}x{size}x{size} LUT of style {style.name!r}")
    if isinstance(de, (int, float)):
        verdict = "close to the style" if de < 1.0 else "an average: the style adapts to each photo, a LUT cannot"
        print(f"mean ΔE2000 of the LUT vs the full style on its {style.info.get('pairs', '?')} pairs: {de:.2f} ({verdict})")
    return 0
