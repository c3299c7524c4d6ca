"""`retouch batch --ray`: a local Ray instance (2 CPUs), real photos, the shipped model."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from retouch_studio.app import batch as B
from retouch_studio.app.cli.main import main

ray = pytest.importorskip("ray", reason="the cluster extra is not installed (pip install '.[cluster]')")
from retouch_studio.app import cluster as C  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
PHOTOS = sorted(p for p in DATA.glob("*.jpg"))[:6]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    C.connect(None, workers=2)
    yield
    ray.shutdown()


@pytest.fixture
def shoot(tmp_path):
    d = tmp_path / "shoot"
    d.mkdir()
    for p in PHOTOS:
        shutil.copy(p, d / p.name)
    return d


def _jobs(shoot: Path, out: Path, existing: str = "refuse"):
    settings = B.OutputSettings(out_dir=out, existing=existing)
    inputs, problems = B.collect_inputs([str(shoot)], False, exclude=out)
    assert not problems
    return B.make_jobs(inputs, settings), settings


def test_outputs_are_byte_identical_to_the_local_batch(shoot, tmp_path):
    # Both run as a user runs them, each in a fresh process.
    args = [str(shoot), "-i", "warmer, lift the shadows", "--workers", "2", "--progress", "none"]
    code = "import sys; from retouch_studio.app.cli.main import main; sys.exit(main(sys.argv[1:]))"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    for out, extra in (("local", []), ("ray", ["--ray"])):
        run = subprocess.run([sys.executable, "-c", code, "batch", *args, "-o", str(tmp_path / out), *extra],
                             capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
        assert run.returncode == 0, run.stderr
    assert "on a local Ray instance" in run.stderr
    local = sorted((tmp_path / "local").iterdir())
    assert [p.name for p in local] == sorted(p.name for p in PHOTOS)
    for p in local:
        assert p.read_bytes() == (tmp_path / "ray" / p.name).read_bytes(), p.name


def test_a_killed_worker_loses_no_photo(shoot, tmp_path):
    out = tmp_path / "out"
    jobs, settings = _jobs(shoot, out)
    edit = B.Edit(instruction="more contrast, cooler")
    actors: list = []
    killed: list[int] = []

    def progress(job, done, total):
        if done == 1 and not killed:
            pids = ray.get([a.pid.remote() for a in actors])
            victim = next(p for p in pids if p != os.getpid())
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    report = C.run_batch_on_ray(
        jobs, edit, settings, model_dir=None, workers=2, progress_callback=progress, on_workers=actors.extend
    )
    assert killed, "no worker was killed"
    assert report.ok, [(j.source.name, j.state, j.error) for j in report.jobs]
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in PHOTOS), names  # nothing partial under a final name
    from PIL import Image

    for p in out.iterdir():
        with Image.open(p) as im:
            im.load()


def test_rerun_with_skip_existing_finishes_only_what_is_missing(shoot, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(shoot), "-i", "a bit warmer", "-o", str(out), "--progress", "lines", "--ray"]
    assert main(["batch", *args]) == 0
    first = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    gone = sorted(first)[0]
    (out / gone).unlink()
    capsys.readouterr()
    assert main(["batch", *args, "--skip-existing"]) == 0
    text = capsys.readouterr().out
    assert f"{len(PHOTOS)} photos: 1 written, {len(PHOTOS) - 1} skipped, 0 failed" in text
    for name, mtime in first.items():
        if name != gone:
            assert (out / name).stat().st_mtime_ns == mtime


def test_a_bad_photo_fails_alone_and_is_named(shoot, tmp_path, capsys):
    (shoot / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    out = tmp_path / "out"
    code = main(["batch", str(shoot), "-i", "brighter", "-o", str(out), "--progress", "none", "--ray"])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{len(PHOTOS) + 1} photos: {len(PHOTOS)} written, 0 skipped, 1 failed" in captured.out
    assert "broken.jpg" in captured.err
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in PHOTOS)


def test_without_ray_installed_the_option_says_how_to_install_it(shoot, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if not installed
    code = main(["batch", str(shoot), "-i", "brighter", "-o", str(tmp_path / "out"), "--ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "pip install 'retouch-studio[cluster]'" in err[0]
    assert not (tmp_path / "out").exists()


def test_the_app_and_the_plain_command_line_never_import_ray():
    code = (
        "import sys; from retouch_studio.app.cli.main import build_parser; build_parser();"
        "import retouch_studio.app.cli.batch, retouch_studio.app.ui.main_window;"
        "print('ray' in sys.modules)"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cancelling_stops_the_rest_and_leaves_no_partial_file(shoot, tmp_path):
    import threading

    out = tmp_path / "out"
    jobs, settings = _jobs(shoot, out)
    stop = threading.Event()

    def progress(job, done, total):
        if done == 1:
            stop.set()  # what Ctrl-C does in the driver

    report = C.run_batch_on_ray(
        jobs, B.Edit(instruction="brighter"), settings, model_dir=None, workers=1,
        progress_callback=progress, cancel_event=stop,
    )  # fmt: skip
    assert report.interrupted
    states = [j.state for j in report.jobs]
    assert B.JobState.DONE in states and B.JobState.CANCELLED in states
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(j.output.name for j in report.jobs if j.state == B.JobState.DONE)
