"""`retouch apply` end to end: real photos, real files, the shipped model."""

import hashlib
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from retouch_studio.app.cli.main import main
from retouch_studio.model.imaging import load_photo


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rgb(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def test_strength_zero_reproduces_input(photo_path, tmp_path):
    before = sha(photo_path)
    out = tmp_path / "out.png"
    assert main(["apply", str(photo_path), "-i", "much warmer and brighter", "--strength", "0", "-o", str(out)]) == 0
    assert np.abs(rgb(out) - rgb(photo_path)).max() <= 1
    assert sha(photo_path) == before


def test_edit_changes_photo_and_writes_timings(photo_path, tmp_path):
    out, timings = tmp_path / "out.jpg", tmp_path / "t.json"
    code = main(["apply", str(photo_path), "-i", "brighter", "-o", str(out), "--timings", str(timings)])
    assert code == 0 and out.is_file()
    t = json.loads(timings.read_text())
    for key in ("load_ms", "decode_ms", "proxy_ms", "text_ms", "predict_ms", "apply_ms", "encode_ms", "total_ms"):
        assert key in t and t[key] >= 0
    stages = sum(t[k] for k in ("decode_ms", "proxy_ms", "text_ms", "predict_ms", "apply_ms", "encode_ms"))
    assert t["total_ms"] >= stages - 1
    assert Image.open(out).size == Image.open(photo_path).size
    assert rgb(out).mean() > rgb(photo_path).mean() + 3  # the shipped model brightens


def test_sixteen_bit_tiff_keeps_depth_and_gradations(tmp_path):
    # A smooth 16-bit ramp with 4096 distinct levels per channel.
    h, w = 64, 4096
    ramp = np.linspace(2000, 60000, w).astype(np.uint16)
    px = np.stack([np.tile(ramp, (h, 1)), np.tile(ramp[::-1], (h, 1)), np.full((h, w), 30000, np.uint16)], -1)
    src = tmp_path / "ramp.tif"
    tifffile.imwrite(src, px, photometric="rgb")
    out = tmp_path / "out.tif"
    assert main(["apply", str(src), "-i", "a bit warmer", "--strength", "0.5", "-o", str(out), "--format", "tiff16"]) == 0
    res = tifffile.imread(out)
    assert res.dtype == np.uint16 and res.shape == px.shape
    # gradations survive: far more than 256 distinct levels along the ramp
    assert len(np.unique(res[h // 2, :, 0])) > 1000
    # identity at strength 0 stays within one 16-bit level
    out0 = tmp_path / "out0.tif"
    assert main(["apply", str(src), "-i", "warmer", "--strength", "0", "-o", str(out0), "--format", "tiff16"]) == 0
    assert np.abs(tifffile.imread(out0).astype(int) - px.astype(int)).max() <= 1


def test_mask_black_keeps_pixels(photo_path, tmp_path):
    with Image.open(photo_path) as im:
        w, h = im.size
    mask = np.zeros((h // 2, w // 2), np.uint8)  # resized to the photo by the command
    mask[:, mask.shape[1] // 2 :] = 255
    mpath = tmp_path / "mask.png"
    Image.fromarray(mask).save(mpath)
    out_full, out_masked = tmp_path / "full.png", tmp_path / "masked.png"
    assert main(["apply", str(photo_path), "-i", "much brighter", "-o", str(out_full)]) == 0
    assert main(["apply", str(photo_path), "-i", "much brighter", "--mask", str(mpath), "-o", str(out_masked)]) == 0
    src, full, masked = rgb(photo_path), rgb(out_full), rgb(out_masked)
    assert np.abs(full - src).mean() > 3  # the edit is visible
    left = slice(0, w // 2 - 4)
    right = slice(w // 2 + 4, w)
    assert np.abs(masked[:, left] - src[:, left]).max() <= 1
    assert np.abs(masked[:, right] - full[:, right]).max() <= 1


def test_refuses_to_overwrite_and_names_bad_files(photo_path, tmp_path, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    assert main(["apply", str(photo_path), "-i", "warmer", "-o", str(out)]) != 0
    assert out.read_bytes() == b"keep me"
    assert "already exists" in capsys.readouterr().err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photo_path.read_bytes()[:300])
    out2 = tmp_path / "out2.png"
    assert main(["apply", str(broken), "-i", "warmer", "-o", str(out2)]) != 0
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "Traceback" not in err
    assert not out2.exists()
    assert not list(tmp_path.glob(".*.part"))  # no temp files left behind
    assert main(["apply", str(photo_path), "-i", "warmer", "-o", str(photo_path)]) != 0


def test_unknown_model_folder_is_a_clear_error(photo_path, tmp_path, capsys):
    assert main(["apply", str(photo_path), "-i", "warmer", "-o", str(tmp_path / "o.png"), "--model", str(tmp_path / "nope")]) != 0
    assert "nope" in capsys.readouterr().err


def test_loaded_photo_matches_pillow(photo_path):
    assert np.array_equal(load_photo(photo_path).pixels.astype(int), rgb(photo_path))


def test_params_preset_is_applied(photo_path, tmp_path, monkeypatch):
    monkeypatch.setenv("RETOUCH_CONFIG_DIR", str(tmp_path / "config"))
    assert main(["presets", "save", "bright", "--params", "exposure +1.0", "--strength", "0.5"]) == 0
    out_preset, out_direct = tmp_path / "p.png", tmp_path / "d.png"
    assert main(["apply", str(photo_path), "--preset", "bright", "-o", str(out_preset)]) == 0
    assert main(["apply", str(photo_path), "-i", "exposure +1.0", "--strength", "0.5", "-o", str(out_direct)]) == 0
    src, a, b = rgb(photo_path), rgb(out_preset), rgb(out_direct)
    assert np.array_equal(a, b)
    assert a.mean() > src.mean() + 5  # half a stop brighter is visible


def test_empty_instruction_is_auto_mode_with_the_shipped_model(photo_path, tmp_path):
    from retouch_studio.model.params import render_pixels

    src = rgb(photo_path).astype(np.float32) / 255
    dark = (np.clip(render_pixels(src, {"exposure": -1.5}), 0, 1) * 255 + 0.5).astype(np.uint8)
    dark_path = tmp_path / "dark.png"
    Image.fromarray(dark).save(dark_path)
    fixed, same = tmp_path / "fixed.png", tmp_path / "same.png"
    assert main(["apply", str(dark_path), "-i", "", "-o", str(fixed)]) == 0
    assert main(["apply", str(photo_path), "-o", str(same)]) == 0  # no -i at all: auto too
    # auto brightens the underexposed copy towards the original, and leaves the good photo alone
    assert np.abs(rgb(fixed) - src * 255).mean() < 0.85 * np.abs(dark.astype(int) - src * 255).mean()
    assert np.abs(rgb(same) - rgb(photo_path)).mean() < 1.0
