"""`retouch batch` and the batch engine, on real photo files in temporary folders."""

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from retouch_studio.app import batch as B
from retouch_studio.app.cli import batch as batch_cli
from retouch_studio.app.cli.main import main
from tests.test_batch_engine import WarmPredictor, write_model_dir

DATA = Path(__file__).resolve().parent / "data"
SOURCES = ["aitzgorri_by_Aitzol_Berasategi.jpg", "Bridge_by_Sander_Klootwijk.jpg", "mate_LadyBird.jpg"]


@pytest.fixture(autouse=True)
def _reset_engine(monkeypatch, tmp_path):
    WarmPredictor.calls = 0
    WarmPredictor.raise_on_call = None
    WarmPredictor.raise_type = KeyboardInterrupt
    monkeypatch.setenv("RETOUCH_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def model_dir(tmp_path):
    return write_model_dir(tmp_path / "model")


@pytest.fixture
def shoot(tmp_path):
    d = tmp_path / "shoot"
    d.mkdir()
    for name in SOURCES:
        shutil.copy(DATA / name, d / name)
    return d


def _batch(*args, model=None):
    argv = ["batch", *map(str, args), "--progress", "lines"]
    if model is not None:
        argv += ["--model", str(model)]
    return main(argv)


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def _rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.float32)


def test_folder_batch_writes_warm_outputs(shoot, tmp_path, model_dir, capsys):
    before = _snapshot(shoot)
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warmer", "-o", out, model=model_dir) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(Path(n).stem + ".jpg" for n in SOURCES)
    for name in SOURCES:
        src, dst = _rgb(shoot / name), _rgb(out / (Path(name).stem + ".jpg"))
        assert src.shape == dst.shape
        # warm: red up, blue down relative to the source
        assert dst[..., 0].mean() > src[..., 0].mean() + 3
        assert dst[..., 2].mean() < src[..., 2].mean() - 3
    assert WarmPredictor.calls == len(SOURCES)  # one prediction per photo
    assert _snapshot(shoot) == before  # inputs untouched
    captured = capsys.readouterr()
    assert "3 photos: 3 written, 0 skipped, 0 failed" in captured.out
    assert captured.out.count("[") >= 3  # one plain progress line per photo (not a TTY)


def test_matches_single_photo_apply_path(shoot, tmp_path, model_dir):
    """The batch output equals predict_for + apply_prediction on the decoded photo."""
    from retouch_studio.model.imaging import load_photo
    from retouch_studio.model.pipeline import apply_prediction, predict_for
    from retouch_studio.model.engines.loader import load_predictor

    out = tmp_path / "out"
    assert _batch(shoot / SOURCES[0], "-i", "warm", "--strength", "0.6", "--format", "png", "-o", out, model=model_dir) == 0
    px = load_photo(shoot / SOURCES[0]).pixels
    expected = apply_prediction(px, predict_for(load_predictor(model_dir), px, "warm"), 0.6)
    got = np.asarray(Image.open(out / (Path(SOURCES[0]).stem + ".png")).convert("RGB"))
    np.testing.assert_array_equal(got, expected)


def test_strength_zero_reproduces_input(shoot, tmp_path, model_dir):
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "--strength", "0", "--format", "png", "-o", out, model=model_dir) == 0
    for name in SOURCES:
        np.testing.assert_array_equal(_rgb(out / (Path(name).stem + ".png")), _rgb(shoot / name))


def test_refuses_to_overwrite_by_default(shoot, tmp_path, model_dir, capsys):
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "-o", out, model=model_dir) == 0
    first = _snapshot(out)
    capsys.readouterr()
    assert _batch(shoot, "-i", "warm", "-o", out, model=model_dir) == 4
    err = capsys.readouterr().err
    # One line for the rerun, naming both ways out, not one error per photo.
    assert len(err.strip().splitlines()) == 1
    assert f"{len(SOURCES)} of {len(SOURCES)} outputs already exist" in err
    assert "--skip-existing" in err and "--overwrite" in err
    assert _snapshot(out) == first


def test_skip_existing_rerun_does_nothing(shoot, tmp_path, model_dir, capsys):
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "-o", out, model=model_dir) == 0
    first = _snapshot(out)
    calls = WarmPredictor.calls
    capsys.readouterr()
    # no model needed at all when everything is skipped: a missing model folder is not even read
    assert _batch(shoot, "-i", "warm", "-o", out, "--skip-existing", model=tmp_path / "no-model") == 0
    assert "0 written, 3 skipped, 0 failed" in capsys.readouterr().out
    assert _snapshot(out) == first
    assert WarmPredictor.calls == calls


def test_overwrite_replaces(shoot, tmp_path, model_dir):
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "--strength", "0", "-o", out, model=model_dir) == 0
    plain = _rgb(out / "mate_LadyBird.jpg")
    assert _batch(shoot, "-i", "warm", "-o", out, "--overwrite", model=model_dir) == 0
    assert _rgb(out / "mate_LadyBird.jpg")[..., 0].mean() > plain[..., 0].mean() + 3


def test_broken_files_are_named_and_others_finish(shoot, tmp_path, model_dir, capsys):
    good = (shoot / SOURCES[0]).read_bytes()
    (shoot / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (shoot / "empty.jpg").write_bytes(b"")
    (shoot / "notes.png").write_text("this is not an image")
    (shoot / "ignored.txt").write_text("not picked by a folder scan")
    before = _snapshot(shoot)
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "-o", out, model=model_dir) == 1
    captured = capsys.readouterr()
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(Path(n).stem + ".jpg" for n in SOURCES)  # only good outputs, no partials
    failed_block = captured.err.split("failed (")[1]
    for bad in ("truncated.jpg", "empty.jpg", "notes.png"):
        line = next(line for line in failed_block.splitlines() if bad in line)
        assert len(line.split(": ", 1)[1]) > 5  # a reason is given
    assert "ignored.txt" not in captured.out + captured.err
    assert "3 written, 0 skipped, 3 failed" in captured.out
    assert _snapshot(shoot) == before


def test_missing_inputs_and_globs(shoot, tmp_path, model_dir, capsys):
    out = tmp_path / "out"
    code = _batch(str(shoot / "mate_*.jpg"), shoot / "nope.jpg", str(shoot / "*.xyz"), "-i", "warm", "-o", out, model=model_dir)
    assert code == 1
    err = capsys.readouterr().err
    assert "nope.jpg: no such file or folder" in err and "*.xyz: pattern matches no files" in err
    assert [p.name for p in out.iterdir()] == ["mate_LadyBird.jpg"]


def test_recursive_and_name_template(shoot, tmp_path, model_dir):
    sub = shoot / "day2"
    sub.mkdir()
    shutil.copy(DATA / "plasma_Grey.jpg", sub / "plasma_Grey.jpg")
    hidden = shoot / ".cache"
    hidden.mkdir()
    shutil.copy(DATA / "plasma_Grey.jpg", hidden / "x.jpg")
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "-o", out, "--dry-run", model=model_dir) == 0
    assert not out.exists()  # dry run writes nothing
    assert _batch(shoot, "-i", "warm", "-o", out, model=model_dir) == 0
    assert not (out / "plasma_Grey.jpg").exists()  # not recursive: sub-folder ignored
    out2 = tmp_path / "out2"
    tmpl = "{dir}/{index:02d}_{stem}_warm.{ext}"
    assert _batch(shoot, "-r", "-i", "warm", "-o", out2, "--name", tmpl, "--format", "webp", model=model_dir) == 0
    got = sorted(str(p.relative_to(out2)) for p in out2.rglob("*") if p.is_file())
    # inputs are taken in case-insensitive path order; {index} follows it
    assert got == ["01_aitzgorri_by_Aitzol_Berasategi_warm.webp", "02_Bridge_by_Sander_Klootwijk_warm.webp",
                   "04_mate_LadyBird_warm.webp", "day2/03_plasma_Grey_warm.webp"]  # fmt: skip


def test_bad_template_and_options(shoot, tmp_path, model_dir, capsys):
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "-o", out, "--name", "{colour}.{ext}", model=model_dir) == 2
    assert "bad --name template" in capsys.readouterr().err
    assert _batch(shoot, "-i", "warm", "-o", out, "--name", "../{stem}.{ext}", model=model_dir) == 2
    assert _batch(shoot, "-i", "warm", "-o", out, "--format", "jpeg", "--bit-depth", "16", model=model_dir) == 2
    assert "cannot store 16 bits" in capsys.readouterr().err
    assert _batch(shoot, "-o", out, model=model_dir) == 2
    assert "-i TEXT, --preset NAME or --recipe FILE" in capsys.readouterr().err
    assert not out.exists()


def test_name_collisions_fail_both_named(tmp_path, model_dir, capsys):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(DATA / "plasma_Grey.jpg", d / "a.jpg")
    Image.open(DATA / "plasma_Grey.jpg").save(d / "a.png")
    out = tmp_path / "out"
    assert _batch(d, "-i", "warm", "--format", "jpeg", "-o", out, model=model_dir) == 1
    err = capsys.readouterr().err
    assert "output name a.jpg is already used by" in err
    assert [p.name for p in out.iterdir()] == ["a.jpg"]


def test_formats_bit_depth_and_resize(shoot, tmp_path, model_dir):
    out = tmp_path / "out"
    assert _batch(shoot / SOURCES[0], "-i", "warm", "--format", "tiff16", "--resize", "600", "-o", out, model=model_dir) == 0
    import tifffile

    arr = tifffile.imread(out / (Path(SOURCES[0]).stem + ".tif"))
    assert arr.dtype == np.uint16 and max(arr.shape[:2]) == 600 and arr.shape[2] == 3
    # 16-bit output of an 8-bit photo keeps more than 256 levels after the edit
    assert len(np.unique(arr[..., 0])) > 256
    # resize never enlarges
    out2 = tmp_path / "out2"
    assert _batch(shoot / SOURCES[0], "-i", "warm", "--resize", "5000", "-o", out2, model=model_dir) == 0
    assert Image.open(out2 / SOURCES[0]).size == Image.open(shoot / SOURCES[0]).size


def test_sixteen_bit_tiff_input_stays_sixteen_bit(tmp_path, model_dir):
    import tifffile

    ramp = np.linspace(0, 65535, 400 * 300, dtype=np.float64).reshape(300, 400)
    img = np.stack([ramp, ramp[::-1], np.full_like(ramp, 30000)], -1).astype(np.uint16)
    d = tmp_path / "in"
    d.mkdir()
    tifffile.imwrite(d / "ramp.tif", img, photometric="rgb")
    out = tmp_path / "out"
    assert _batch(d, "-i", "warm", "-o", out, "--strength", "0", model=model_dir) == 0
    back = tifffile.imread(out / "ramp.tif")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, img)


def test_small_sixteen_bit_photo_is_edited_like_its_eight_bit_copy(tmp_path, model_dir):
    import tifffile

    px = np.asarray(Image.open(DATA / "plasma_Grey.jpg").convert("RGB").resize((320, 200)))
    d = tmp_path / "in"
    d.mkdir()
    tifffile.imwrite(d / "small16.tif", px.astype(np.uint16) * 257, photometric="rgb")
    Image.fromarray(px).save(d / "small8.png")
    out = tmp_path / "out"
    assert _batch(d, "-i", "warm", "--format", "png", "--bit-depth", "8", "-o", out, model=model_dir) == 0
    a = np.asarray(Image.open(out / "small16.png").convert("RGB")).astype(int)
    b = np.asarray(Image.open(out / "small8.png").convert("RGB")).astype(int)
    assert np.abs(a - b).max() <= 1


def test_metadata_kept_or_stripped(tmp_path, model_dir):
    from PIL import ImageCms

    d = tmp_path / "in"
    d.mkdir()
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.open(DATA / "plasma_Grey.jpg").save(d / "meta.jpg", exif=exif.tobytes(), icc_profile=icc, quality=92)
    out = tmp_path / "out"
    assert _batch(d, "-i", "warm", "-o", out, model=model_dir) == 0
    with Image.open(out / "meta.jpg") as im:
        assert im.getexif().get(0x010F) == "TestCam"
        assert im.info.get("icc_profile")
    out2 = tmp_path / "out2"
    assert _batch(d, "-i", "warm", "-o", out2, "--strip-metadata", model=model_dir) == 0
    with Image.open(out2 / "meta.jpg") as im:
        assert 0x010F not in im.getexif()


def test_preset_in_batch_equals_instruction(shoot, tmp_path, model_dir):
    from retouch_studio.app.presets import Preset, save_preset

    save_preset(Preset("half warm", instruction="warm", strength=0.5))
    a, b = tmp_path / "a", tmp_path / "b"
    assert _batch(shoot, "--preset", "half warm", "--format", "png", "-o", a, model=model_dir) == 0
    assert _batch(shoot, "-i", "warm", "--strength", "0.5", "--format", "png", "-o", b, model=model_dir) == 0
    for name in SOURCES:
        png = Path(name).stem + ".png"
        np.testing.assert_array_equal(_rgb(a / png), _rgb(b / png))
    assert _batch(shoot, "--preset", "nope", "-o", tmp_path / "c", model=model_dir) == 1


def test_workers_give_identical_results(shoot, tmp_path, model_dir):
    a, b = tmp_path / "a", tmp_path / "b"
    assert _batch(shoot, "-i", "warm", "--format", "png", "-o", a, "--workers", "1", model=model_dir) == 0
    assert _batch(shoot, "-i", "warm", "--format", "png", "-o", b, "--workers", "3", model=model_dir) == 0
    for name in SOURCES:
        png = Path(name).stem + ".png"
        assert (a / png).read_bytes() == (b / png).read_bytes()


def test_keyboard_interrupt_in_worker_stops_cleanly(shoot, tmp_path, model_dir, capsys):
    for i in range(5):
        shutil.copy(DATA / "plasma_Grey.jpg", shoot / f"extra{i}.jpg")
    WarmPredictor.raise_on_call = 3
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "-o", out, "--workers", "1", model=model_dir) == 130
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 2  # the two finished photos stay
    for f in files:
        Image.open(out / f).verify()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # nothing partial
    outp = capsys.readouterr().out
    assert "interrupted:" in outp and "2 written" in outp and "cancelled" in outp


def test_cancel_event_from_progress_callback(shoot, tmp_path, model_dir):
    from retouch_studio.model.engines.loader import load_predictor

    settings = B.OutputSettings(out_dir=tmp_path / "out")
    (tmp_path / "out").mkdir()
    inputs, problems = B.collect_inputs([shoot])
    jobs = B.make_jobs(inputs, settings)
    assert not problems and [j.state for j in jobs] == [B.JobState.PENDING] * 3
    cancel = threading.Event()
    seen = []

    def progress(job, done, total):
        seen.append((threading.current_thread(), job.state, done, total))
        cancel.set()

    report = B.run_batch(jobs, B.Edit("warm"), settings, load_predictor(model_dir), workers=1,
                         progress_callback=progress, cancel_event=cancel)  # fmt: skip
    assert report.interrupted and not report.ok
    assert [j.state for j in jobs] == [B.JobState.DONE, B.JobState.CANCELLED, B.JobState.CANCELLED]
    assert [s[2] for s in seen] == [1, 2, 3] and all(s[3] == 3 for s in seen)
    assert all(s[0] is threading.current_thread() for s in seen)  # callbacks in the caller's thread
    assert [p.name for p in (tmp_path / "out").iterdir()] == [jobs[0].output.name]


def test_job_prepare_is_pure_and_cancel(tmp_path):
    src = tmp_path / "a.jpg"
    shutil.copy(DATA / "plasma_Grey.jpg", src)
    out_dir = tmp_path / "missing" / "out"
    job = B.BatchJob(1, src, out_dir / "a.jpg")
    assert job.prepare() == B.JobState.PENDING
    assert not out_dir.parent.exists()
    same = B.BatchJob(2, src, src, existing="overwrite")
    assert same.prepare() == B.JobState.FAILED and "overwrite the source" in same.error
    job.cancel()
    assert job.state == B.JobState.CANCELLED and job.cancelled


def test_never_writes_over_source(shoot, model_dir, capsys):
    before = _snapshot(shoot)
    assert _batch(shoot / SOURCES[0], "-i", "warm", "-o", shoot, "--overwrite", model=model_dir) == 1
    assert "overwrite the source" in capsys.readouterr().err
    assert _snapshot(shoot) == before


def test_output_is_a_file(shoot, tmp_path, model_dir, capsys):
    blocker = tmp_path / "out"
    blocker.write_text("x")
    assert _batch(shoot, "-i", "warm", "-o", blocker, model=model_dir) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_read_only_destination_chmod(shoot, tmp_path, model_dir, capsys):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        assert _batch(shoot, "-i", "warm", "-o", out, model=model_dir) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        out.chmod(0o700)


def test_write_failures_mid_batch_leave_nothing_partial(shoot, tmp_path, model_dir, monkeypatch, capsys):
    """A destination that refuses the final rename (read-only / full disk) fails each photo with
    the reason and leaves no temp files behind (works as root, unlike chmod)."""
    real_replace, real_link = os.replace, os.link

    def deny(real):
        def f(src, dst, *a, **kw):
            if str(dst).startswith(str(tmp_path / "out")):
                raise PermissionError(13, "Permission denied", str(dst))
            return real(src, dst, *a, **kw)

        return f

    monkeypatch.setattr(os, "replace", deny(real_replace))
    monkeypatch.setattr(os, "link", deny(real_link))
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "warm", "-o", out, model=model_dir) == 1
    err = capsys.readouterr().err
    assert err.count("Permission denied") == len(SOURCES)
    assert list(out.iterdir()) == []


def test_content_edit_refused_before_writing(shoot, tmp_path, model_dir, capsys):
    out = tmp_path / "out"
    assert _batch(shoot, "-i", "add a hat to the person", "-o", out, model=model_dir) == 3
    assert not out.exists()
    assert WarmPredictor.calls == 0


def _exif_jpeg(path: Path, make: str = "TestCam") -> None:
    exif = Image.Exif()
    exif[0x010F] = make
    Image.open(DATA / "plasma_Grey.jpg").save(path, exif=exif.tobytes(), quality=92)


def test_acceptance_mixed_folder_with_preset(tmp_path, model_dir, capsys):
    """Issue 8's 'done when': RAW + JPEGs + broken files through a preset, then a no-op rerun."""
    from retouch_studio.app.presets import Preset, save_preset
    from tests.dng import mosaic, test_scene, write_dng

    d = tmp_path / "shoot"
    d.mkdir()
    write_dng(d / "raw_0001.dng", mosaic(test_scene(96, 128)), make="RawCam")
    _exif_jpeg(d / "jpeg_0002.jpg")
    shutil.copy(DATA / "Wine_by_Jakkub_Mede.jpg", d / "portrait_0003.JPG")
    good = (DATA / "plasma_Grey.jpg").read_bytes()
    (d / "cut_0004.jpg").write_bytes(good[: len(good) // 2])
    (d / "zero_0005.jpg").write_bytes(b"")
    (d / "fake_0006.nef").write_bytes(os.urandom(4096))
    before = _snapshot(d)
    save_preset(Preset("shoot look", instruction="warm, soft film look", strength=0.7))
    out = tmp_path / "out"
    assert _batch(d, "--preset", "shoot look", "-o", out, "--name", "{stem}_edit.{ext}", model=model_dir) == 1
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["jpeg_0002_edit.jpg", "portrait_0003_edit.jpg", "raw_0001_edit.jpg"]
    with Image.open(out / "jpeg_0002_edit.jpg") as im:
        assert im.getexif().get(0x010F) == "TestCam" and im.info.get("icc_profile")
    with Image.open(out / "raw_0001_edit.jpg") as im:
        assert im.size == (128, 96)
        assert im.getexif().get(0x010F) == "RawCam"
    failed = captured.err.split("failed (3):")[1]
    for name in ("cut_0004.jpg", "zero_0005.jpg", "fake_0006.nef"):
        assert name in failed
    assert "3 written, 0 skipped, 3 failed" in captured.out
    assert "'warm, soft film look' at strength 0.7" in captured.err
    assert _snapshot(d) == before
    written = _snapshot(out)
    calls = WarmPredictor.calls
    # rerun with --skip-existing: nothing new is written or predicted; the broken files still fail
    assert _batch(d, "--preset", "shoot look", "-o", out, "--name", "{stem}_edit.{ext}", "--skip-existing", model=model_dir) == 1
    assert "0 written, 3 skipped, 3 failed" in capsys.readouterr().out
    assert _snapshot(out) == written and WarmPredictor.calls == calls


def _recipe_file(path: Path, size) -> Path:
    import json

    recipe = {
        "version": 1,
        "image_size": list(size),
        "layers": [
            {"instruction": "warm", "strength": 0.8},
            {"instruction": "warmer on the left", "strength": 1.0,
             "strokes": [{"points": [[0, 0], [size[0] * 0.3, size[1]]], "radius": size[0] * 0.2}]},
        ],
    }  # fmt: skip
    path.write_text(json.dumps(recipe))
    return path


def test_recipe_matches_render_recipe(shoot, tmp_path, model_dir):
    from retouch_studio.model.imaging import load_photo
    from retouch_studio.model.recipe import load_recipe, render_recipe
    from retouch_studio.model.engines.loader import load_predictor

    src = shoot / SOURCES[0]
    px = load_photo(src).pixels
    rfile = _recipe_file(tmp_path / "look.json", (px.shape[1], px.shape[0]))
    out = tmp_path / "out"
    assert _batch(src, "--recipe", rfile, "--format", "png", "-o", out, model=model_dir) == 0
    expected = render_recipe(px, load_recipe(rfile), lambda layer: load_predictor(model_dir))
    got = np.asarray(Image.open(out / (src.stem + ".png")).convert("RGB"))
    np.testing.assert_array_equal(got, expected)
    assert WarmPredictor.calls == 4  # one prediction per layer, twice (batch + reference)
    # --strength scales every layer: 0 gives the photo back
    out0 = tmp_path / "out0"
    assert _batch(src, "--recipe", rfile, "--strength", "0", "--format", "png", "-o", out0, model=model_dir) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out0 / (src.stem + ".png")).convert("RGB")), px)


def test_recipe_preset_and_bad_recipe(shoot, tmp_path, model_dir, capsys):
    import json

    from retouch_studio.app.presets import Preset, save_preset

    rfile = _recipe_file(tmp_path / "look.json", (640, 426))
    save_preset(Preset("layered", recipe=json.loads(rfile.read_text())))
    a, b = tmp_path / "a", tmp_path / "b"
    assert _batch(shoot / SOURCES[0], "--preset", "layered", "--format", "png", "-o", a, model=model_dir) == 0
    assert _batch(shoot / SOURCES[0], "--recipe", rfile, "--format", "png", "-o", b, model=model_dir) == 0
    name = Path(SOURCES[0]).stem + ".png"
    assert (a / name).read_bytes() == (b / name).read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert _batch(shoot, "--recipe", bad, "-o", tmp_path / "c", model=model_dir) == 1  # could not read it
    assert "bad.json" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_ctrl_c_in_a_real_process_stops_cleanly(tmp_path):
    """SIGINT (Ctrl-C) to a running `retouch batch`: exit 130, finished files complete, nothing
    partial, the rest not written."""
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    d = tmp_path / "in"
    d.mkdir()
    for i in range(8):
        shutil.copy(DATA / SOURCES[i % len(SOURCES)], d / f"p{i}.jpg")
    model = write_model_dir(tmp_path / "slow", delay=0.4)
    out = tmp_path / "out"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tests.test_batch_engine;"
        "from retouch_studio.app.cli.main import main; sys.exit(main(sys.argv[2:]))"
    )
    # -i "" (auto) keeps the child from loading the text encoder for the content check
    cmd = [sys.executable, "-c", code, str(root), "batch", str(d), "-i", "", "-o", str(out), "--workers", "1",
           "--model", str(model), "--progress", "lines"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # the first finished photo
        assert "[1/8]" in first, first + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted:" in rest
    written = sorted(p.name for p in out.iterdir())
    assert 1 <= len(written) < 8
    assert not [n for n in written if n.startswith(".")]  # no temp files left
    for name in written:
        with Image.open(out / name) as im:
            im.load()  # complete, decodable files


def test_progress_bar_on_a_terminal():
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    progress = batch_cli._Progress(2, "auto", stream)
    assert progress.mode == "bar"
    job = B.BatchJob(1, Path("a.jpg"), Path("out/a.jpg"), state=B.JobState.DONE)
    bad = B.BatchJob(2, Path("b.jpg"), Path("out/b.jpg"), state=B.JobState.FAILED, error="cannot decode")
    progress(job, 1, 2)
    progress(bad, 2, 2)
    progress.close()
    text = stream.getvalue()
    assert "2/2" in text and "photo" in text and "b.jpg: FAILED: cannot decode" in text
    assert batch_cli._Progress(2, "auto", io.StringIO()).mode == "lines"


def test_dry_run_lists_plan_and_writes_nothing(shoot, tmp_path, model_dir, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mate_LadyBird.jpg").write_bytes(b"old")
    (shoot / "empty.jpg").write_bytes(b"")
    assert _batch(shoot, "-i", "warm", "-o", out, "--skip-existing", "--dry-run", model=tmp_path / "no-model") == 0
    text = capsys.readouterr().out
    assert "skip   " in text and "mate_LadyBird.jpg (output exists)" in text
    assert text.count("  write  ") == 3  # includes empty.jpg: decoding is not tried in a dry run
    assert "nothing written" in text
    assert sorted(p.name for p in out.iterdir()) == ["mate_LadyBird.jpg"]
    assert (out / "mate_LadyBird.jpg").read_bytes() == b"old"
    assert WarmPredictor.calls == 0


def test_output_folder_inside_the_input_folder_is_not_reprocessed(shoot, model_dir, capsys):
    out = shoot / "edited"
    assert _batch(shoot, "-r", "-i", "warm", "-o", out, model=model_dir) == 0
    capsys.readouterr()
    assert _batch(shoot, "-r", "-i", "warm", "-o", out, "--skip-existing", model=model_dir) == 0
    assert "3 photos: 0 written, 3 skipped" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(n).stem + ".jpg" for n in SOURCES)
