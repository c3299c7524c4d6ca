"""Learned styles: pairs from two folders, learning, storing, applying through the CLI.

One style is learned per module (from real photos of tests/data and a stand-in photographer's
exports, see tests/style_exports.py) and shared by the tests that apply it.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from retouch_studio.app.cli.main import main
from retouch_studio.model.imaging import load_photo, make_proxy, to_float
from retouch_studio.model.lut import delta_e_rgb, read_cube
from retouch_studio.model.style import pairs as P
from retouch_studio.model.style.features import box_reduce
from retouch_studio.model.style.reference import check_style_name, split_style_reference, style_instruction
from retouch_studio.model.style.store import StyleError, list_styles, load_style, remove_style, styles_dir
from tests.style_exports import house_style, write_export_pairs


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    d = tmp_path_factory.mktemp("config")
    mp = pytest.MonkeyPatch()
    mp.setenv("RETOUCH_CONFIG_DIR", str(d))
    yield d
    mp.undo()


@pytest.fixture(scope="module")
def folders(tmp_path_factory, photo_paths):
    root = tmp_path_factory.mktemp("pairs")
    write_export_pairs(photo_paths[:8], root / "originals", root / "exports")
    return root / "originals", root / "exports"


@pytest.fixture(scope="module")
def learned(config, folders):
    before, after = folders
    code = main(["style", "learn", "--before", str(before), "--after", str(after), "--name", "house", "--minutes", "0.25"])
    assert code == 0
    return load_style("house")


# ------------------------------------------------------------------ names and references


def test_style_reference_round_trip():
    assert split_style_reference(style_instruction("wedding", "a bit warmer")) == ("wedding", "a bit warmer")
    assert split_style_reference("Style: my look") == ("my look", "")
    assert split_style_reference("warmer, style of the 70s") == (None, "warmer, style of the 70s")
    for bad in ("a,b", "x;y", "../x", ".hidden", " padded", "a:b", ""):
        with pytest.raises(ValueError):
            check_style_name(bad)


def test_content_check_reads_only_the_words():
    from retouch_studio.model.instructions import ContentEditError, check_instruction

    check_instruction("style: remove-the-grey, a bit warmer")  # the name is not an instruction
    with pytest.raises(ContentEditError):
        check_instruction("style: wedding, remove the person")


# ------------------------------------------------------------------ pairs


def test_pairs_align_other_editor_exports(folders):
    """Half size, Adobe RGB, EXIF-rotated, PNG: all usable, aligned to the befores."""
    report = P.collect_pairs(*folders)
    assert not report.skipped, report.skipped
    assert len(report.pairs) == 8
    for name, before, after in report.pairs:
        assert before.shape == after.shape
        # The export is the stand-in style of the before: aligned (compared at 64 px, where the
        # export's lost resolution does not count), so the style explains it.
        expected = house_style(before)
        assert delta_e_rgb(box_reduce(after, 64), box_reduce(expected, 64)).mean() < 3.0, name


def test_pairs_refuse_cropped_local_unreadable_and_unmatched(tmp_path, folders, photo_paths):
    before, after = tmp_path / "b", tmp_path / "a"
    shutil.copytree(folders[0], before)
    shutil.copytree(folders[1], after)
    # Cropped: another aspect ratio.
    with Image.open(after / "IMG_0003.jpg") as im:
        w, h = im.size
        im.crop((0, 0, w * 3 // 4, h)).save(after / "IMG_0003.jpg")
    # Cropped to the same aspect ratio and scaled back: the edges do not line up.
    with Image.open(after / "IMG_0004.jpg") as im:
        w, h = im.size
        im.crop((w // 5, h // 5, w, h)).resize((w, h)).save(after / "IMG_0004.jpg")
    # Locally retouched: a brushed, brightened patch.
    with Image.open(after / "IMG_0005.jpg") as im:
        a = np.asarray(im.convert("RGB")).astype(np.float32)
        h, w, _ = a.shape
        a[h // 8 : h // 2, w // 8 : w // 2] = np.clip(a[h // 8 : h // 2, w // 8 : w // 2] * 1.8 + 30, 0, 255)
        Image.fromarray(a.astype(np.uint8)).save(after / "IMG_0005.jpg", icc_profile=im.info.get("icc_profile"))
    (after / "IMG_0006.jpg").write_bytes(b"not a photo at all")
    (before / "IMG_0099.jpg").write_bytes((before / "IMG_0000.jpg").read_bytes())
    report = P.collect_pairs(before, after)
    why = {Path(name.split(" / ")[0]).stem: reason for name, reason in report.skipped}
    assert "aspect ratio" in why["IMG_0003"]
    assert "does not match" in why["IMG_0004"]
    assert "retouched locally: the region at the" in why["IMG_0005"]
    assert "unreadable" in why["IMG_0006"]
    assert "no after photo" in why["IMG_0099"]
    assert len(report.pairs) == 4


def test_learn_refuses_too_few_pairs(tmp_path, config, folders, capsys):
    before, after = tmp_path / "b", tmp_path / "a"
    before.mkdir()
    after.mkdir()
    for f in sorted(folders[0].iterdir())[:4]:
        shutil.copy(f, before)
    for f in sorted(folders[1].iterdir())[:4]:
        shutil.copy(f, after)
    (after / "IMG_0000.jpg").write_bytes(b"\xff\xd8 truncated")
    code = main(["style", "learn", "--before", str(before), "--after", str(after), "--name", "few"])
    err = capsys.readouterr().err
    assert code == 2
    assert "only 3 usable pairs" in err and "at least 5" in err and "IMG_0000" in err and "unreadable" in err
    assert "few" not in list_styles()


def test_learn_missing_folder_is_one_line(config, tmp_path, capsys):
    code = main(["style", "learn", "--before", str(tmp_path / "nope"), "--after", str(tmp_path), "--name", "x"])
    assert code == 2 and "not a folder" in capsys.readouterr().err


# ------------------------------------------------------------------ learning


def test_learned_style_is_photo_adaptive_and_fits(learned, folders):
    report = P.collect_pairs(*folders)
    from retouch_studio.model.grid.cpu_slice import slice_apply
    from retouch_studio.model.style.predictor import predict_style_grid

    des, ins = [], []
    for _, before, after in report.pairs:
        out = slice_apply(before, predict_style_grid(learned, before))
        des.append(delta_e_rgb(out, after).mean())
        ins.append(delta_e_rgb(before, after).mean())
    assert np.mean(des) < 0.4 * np.mean(ins), (np.mean(des), np.mean(ins))
    # A darker copy of a photo is lifted more than the photo itself, as the photographer did.
    x = report.pairs[0][1]
    assert learned.params_for(x * 0.4)["exposure"] > learned.params_for(x)["exposure"] + 0.3
    info = learned.info
    assert info["pairs"] == 8 and len(info["held_back"]) == 2 and info["held_back_delta_e"] < info["held_back_input_delta_e"]


def test_style_folder_is_plain_files_and_round_trips(learned, config):
    folder = styles_dir() / "house"
    assert sorted(p.name for p in folder.iterdir()) == ["cube.npy", "grade.npy", "style.json"]
    meta = json.loads((folder / "style.json").read_text())
    assert meta["version"] == 1 and meta["name"] == "house"
    for f in ("grade.npy", "cube.npy"):
        np.load(folder / f, allow_pickle=False)  # no pickle inside
    again = load_style("house")
    assert np.array_equal(again.grade, learned.grade) and np.allclose(again.weights, learned.weights)


def test_damaged_style_is_a_clear_error(learned, config):
    folder = styles_dir() / "broken"
    shutil.copytree(styles_dir() / "house", folder)
    np.save(folder / "grade.npy", np.zeros((3, 3)), allow_pickle=False)
    with pytest.raises(StyleError, match="damaged style"):
        load_style("broken")
    remove_style("broken")
    with pytest.raises(StyleError, match="no style named 'broken'.*house"):
        load_style("broken")


# ------------------------------------------------------------------ command line


def test_list_and_export_cube(learned, config, tmp_path, capsys):
    assert main(["style", "list"]) == 0
    assert "house" in capsys.readouterr().out
    out = tmp_path / "house.cube"
    assert main(["style", "export-cube", "house", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ΔE2000" in text and "vs the full style" in text
    cube = read_cube(out)
    assert cube.lut.shape == (33, 33, 33, 3)
    assert main(["style", "export-cube", "house", "-o", str(out)]) == 2  # never over an existing file
    assert "already exists" in capsys.readouterr().err


def test_apply_style_with_words_strength_and_mask(learned, config, tmp_path, photo_path, capsys):
    plain, warm, half, masked = (tmp_path / f"{n}.png" for n in ("plain", "warm", "half", "masked"))
    assert main(["apply", str(photo_path), "-o", str(plain), "--style", "house"]) == 0
    assert "style" in capsys.readouterr().out
    assert main(["apply", str(photo_path), "-o", str(warm), "--style", "house", "-i", "a bit warmer"]) == 0
    assert main(["apply", str(photo_path), "-o", str(half), "--style", "house", "--strength", "0.5"]) == 0
    src = load_photo(photo_path).pixels
    h, w = src.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    mask[:, : w // 2] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    assert main(["apply", str(photo_path), "-o", str(masked), "--style", "house", "--mask", str(tmp_path / "mask.png")]) == 0
    x = to_float(src)
    p, wm, hf, mk = (to_float(load_photo(f).pixels) for f in (plain, warm, half, masked))
    # The style is what the photographer would do to this photo (as in the pairs).
    expected = house_style(x)
    assert delta_e_rgb(p, expected).mean() < 0.5 * delta_e_rgb(x, expected).mean()
    rb = lambda img: float((img[..., 0] - img[..., 2]).mean())  # noqa: E731
    assert rb(wm) > rb(p) + 0.005  # the words go on top
    assert np.abs(hf - (x + p) / 2).mean() < 0.01  # strength blends
    assert np.abs(mk[:, w // 2 + 8 :] - x[:, w // 2 + 8 :]).max() < 2 / 255  # outside the mask: untouched
    assert np.abs(mk[:, : w // 2 - 8] - p[:, : w // 2 - 8]).max() < 2 / 255


def test_batch_style_and_unknown_style(learned, config, tmp_path, folders, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(folders[0]), "--style", "house", "-o", str(out), "--progress", "none"]) == 0
    assert len(list(out.glob("*.jpg"))) == 8
    capsys.readouterr()
    assert main(["batch", str(folders[0]), "--style", "nope", "-o", str(tmp_path / "o2")]) != 0
    err = capsys.readouterr().err
    assert "no style named 'nope'" in err and "house" in err
    assert not (tmp_path / "o2").exists() or not any((tmp_path / "o2").iterdir())


def test_remove(learned, config, capsys):
    shutil.copytree(styles_dir() / "house", styles_dir() / "spare")
    assert main(["style", "remove", "spare"]) == 0
    assert "spare" not in list_styles()
    assert main(["style", "remove", "spare"]) == 2
