"""The command-line contract: one exit-code table, honest help, checked options, clear output."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from retouch_studio.app.cli.exit_codes import MEANING, Exit
from retouch_studio.app.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "onnxruntime", "numba", "scipy.ndimage", "PySide6")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command's parser by its full name ("apply", "train teacher", ...)."""
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{parser.prog.split(' ', 1)[1]} {name}" if " " in parser.prog else name
                out[full] = sub
                out.update(_subparsers(sub))
    return out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("retouch ")


def test_help_and_readme_list_every_exit_code(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    for code in Exit:
        assert f"{int(code):>3}  {MEANING[code]}" in text
        assert f"| {int(code)} | {MEANING[code]} |" in readme


def test_shared_options_read_the_same_everywhere():
    """An option several subcommands take has one metavar everywhere."""
    metavars: dict[str, set] = {}
    for name, sub in _subparsers(build_parser()).items():
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and action.nargs != 0:
                    metavars.setdefault(flag, set()).add(action.metavar)
    for flag in ("--instruction", "--strength", "--model", "--preset", "--recipe", "--quality", "--timings"):
        assert len(metavars[flag]) == 1, (flag, metavars[flag])
    assert metavars["--strength"] == {"S"} and metavars["--model"] == {"DIR"}
    assert metavars["--output"] == {"FILE", "DIR"}  # one file (apply, export-lut) or a folder (batch)


def test_train_help_only_advertises_options_that_exist():
    for name, sub in _subparsers(build_parser()).items():
        flags = {f for a in sub._actions for f in a.option_strings}
        for action in sub._actions:
            for word in (action.help or "").replace(",", " ").replace(")", " ").split():
                if word.startswith("--") and len(word) > 2:
                    assert word.rstrip(".;") in flags, f"`retouch {name}` help mentions {word} it does not have"


@pytest.mark.parametrize("value", ["-0.5", "2.5", "nan", "inf", "x"])
def test_strength_outside_the_apps_range_is_a_usage_error(value, photo_path, tmp_path, capsys):
    out = tmp_path / "out.jpg"
    for argv in (["apply", str(photo_path), "-o", str(out)], ["batch", str(photo_path), "-o", str(tmp_path / "b")]):
        assert main([*argv, "-i", "warmer", "--strength", value]) == Exit.USAGE
        assert "--strength" in capsys.readouterr().err
    assert not out.exists()


def test_format_must_agree_with_the_extension(photo_path, tmp_path, capsys):
    out = tmp_path / "x.jpg"
    assert main(["apply", str(photo_path), "-i", "warmer", "--format", "png", "-o", str(out)]) == Exit.USAGE
    err = capsys.readouterr().err
    assert "x.jpg" in err and "--format png" in err and "x.png" in err
    assert not out.exists()


def test_missing_input_and_existing_output(photo_path, tmp_path, capsys):
    assert main(["apply", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "o.jpg")]) == Exit.FAILED
    assert "nope.jpg: file not found" in capsys.readouterr().err
    out = tmp_path / "o.jpg"
    out.write_bytes(b"keep")
    assert main(["apply", str(photo_path), "-i", "warmer", "-o", str(out)]) == Exit.EXISTS
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == b"keep"


@pytest.mark.parametrize("text", ["add a hat to the person", "replace the sky with a sunset"])
def test_refusal_is_the_same_code_in_every_command(text, photo_path, tmp_path, capsys):
    # the second names a region: splitting it into region layers must not hide the content edit
    assert main(["plan", "-i", text]) == Exit.REFUSED
    assert main(["apply", str(photo_path), "-i", text, "-o", str(tmp_path / "a.jpg")]) == Exit.REFUSED
    assert main(["batch", str(photo_path), "-i", text, "-o", str(tmp_path / "b")]) == Exit.REFUSED
    assert main(["export-lut", str(photo_path), "-i", text, "-o", str(tmp_path / "c.cube")]) == Exit.REFUSED
    assert not any(tmp_path.iterdir())


def test_apply_prints_the_values_the_renderer_used(photo_path, tmp_path, capsys):
    out = tmp_path / "p.jpg"
    assert main(["apply", str(photo_path), "-i", "temperature +12, shadows +20", "-o", str(out)]) == 0
    line = capsys.readouterr().out
    assert "temperature +12" in line and "shadows +20" in line


def test_auto_mode_says_what_it_did(photo_path, tmp_path, capsys):
    from PIL import Image

    dark = tmp_path / "dark.jpg"
    with Image.open(photo_path) as im:
        im.point(lambda v: v // 4).save(dark, quality=95)
    assert main(["apply", str(dark), "-o", str(tmp_path / "fixed.jpg")]) == 0
    said = capsys.readouterr().out
    assert "auto: exposure +" in said  # a dark photo is brightened, and the amount is shown


def test_batch_timings(photo_path, tmp_path):
    timings = tmp_path / "t.json"
    code = main(["batch", str(photo_path), "-i", "exposure +0.3", "-o", str(tmp_path / "out"),
                 "--timings", str(timings), "--progress", "none"])  # fmt: skip
    assert code == 0
    data = json.loads(timings.read_text())
    assert data["summary"]["written"] == 1 and data["summary"]["wall_ms"] > 0
    photo = data["photos"][0]
    assert photo["state"] == "done" and {"decode_ms", "edit_ms", "encode_ms"} <= set(photo)


def _run_and_list_heavy(*argv: str) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "from retouch_studio.app.cli.main import main\n"
        "try:\n    rc = main(sys.argv[1:])\nexcept SystemExit as exc:\n    rc = exc.code\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
        "sys.exit(rc)\n"
    )
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)


def test_usage_errors_and_missing_files_load_nothing_heavy(tmp_path):
    usage = _run_and_list_heavy("apply")
    assert usage.returncode == Exit.USAGE and "HEAVY []" in usage.stdout
    missing = _run_and_list_heavy("apply", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "o.jpg"))
    assert missing.returncode == Exit.FAILED and "HEAVY []" in missing.stdout
    assert "nope.jpg: file not found" in missing.stderr


def test_apply_with_the_shipped_model_needs_no_torch(photo_path, tmp_path):
    done = _run_and_list_heavy("apply", str(photo_path), "-i", "warmer", "-o", str(tmp_path / "w.jpg"))
    assert done.returncode == 0, done.stderr
    heavy = done.stdout.split("HEAVY ")[1]
    assert "torch" not in heavy and "transformers" not in heavy and "PySide6" not in heavy
