"""Presets store and `retouch presets` (a fresh config dir per test via RETOUCH_CONFIG_DIR)."""

import json

import pytest

from retouch_studio.app import presets
from retouch_studio.app.cli.main import main
from retouch_studio.app.presets import Preset, PresetError


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    d = tmp_path / "config"
    monkeypatch.setenv("RETOUCH_CONFIG_DIR", str(d))
    return d


def test_config_dir_default_uses_platformdirs(monkeypatch):
    monkeypatch.delenv("RETOUCH_CONFIG_DIR")
    import platformdirs

    assert presets.config_dir() == presets.Path(platformdirs.user_config_dir("retouch-studio", appauthor=False))


def test_save_load_round_trip(config_dir):
    p = Preset("warm film", instruction="warm, soft film look", strength=0.7)
    path = presets.save_preset(p)
    assert path == config_dir / "presets" / "warm film.json"
    assert presets.load_preset("warm film") == p
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["strength"] == 0.7
    assert not list(path.parent.glob("*.part"))


def test_params_preset_text():
    p = Preset("exact", params={"exposure": 0.7, "temperature": -10}, strength=1.0)
    assert p.instruction_text() == "exposure +0.7, temperature -10"
    assert presets.parse_params(p.instruction_text()) == p.params


def test_parse_params_rejects_garbage():
    with pytest.raises(PresetError, match="cannot read parameter"):
        presets.parse_params("exposure up a lot")
    with pytest.raises(PresetError, match="sharpness|unknown"):
        presets.parse_params("sharpness +3")


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "a\\b", " padded", "x" * 101, "nul\x00"])
def test_bad_names_rejected(name):
    with pytest.raises(PresetError, match="invalid preset name"):
        Preset(name, instruction="warm")


def test_exactly_one_source():
    with pytest.raises(PresetError, match="exactly one"):
        Preset("both", instruction="warm", params={"exposure": 1})
    with pytest.raises(PresetError, match="exactly one"):
        Preset("none")
    with pytest.raises(PresetError, match="must be a number"):
        Preset("bad", params={"exposure": "lots"})
    with pytest.raises(PresetError, match="strength"):
        Preset("bad", instruction="warm", strength=float("nan"))


def test_refuse_overwrite_then_allow():
    presets.save_preset(Preset("a", instruction="warm"))
    with pytest.raises(PresetError, match="already exists"):
        presets.save_preset(Preset("a", instruction="cool"))
    presets.save_preset(Preset("a", instruction="cool"), overwrite=True)
    assert presets.load_preset("a").instruction == "cool"


def test_missing_preset_names_known():
    presets.save_preset(Preset("one", instruction="warm"))
    with pytest.raises(PresetError, match=r"no preset named 'two' \(known: one\)"):
        presets.load_preset("two")


def test_list_skips_corrupt_file(config_dir, capsys):
    presets.save_preset(Preset("b", instruction="warm"))
    presets.save_preset(Preset("A", instruction="cool"))
    (config_dir / "presets" / "broken.json").write_text("{not json")
    assert [p.name for p in presets.list_presets()] == ["A", "b"]
    assert "broken.json" in capsys.readouterr().err


def test_newer_version_rejected(config_dir):
    (config_dir / "presets").mkdir(parents=True)
    (config_dir / "presets" / "future.json").write_text(json.dumps({"version": 99, "name": "future", "instruction": "x"}))
    with pytest.raises(PresetError, match="unsupported preset version"):
        presets.load_preset("future")


def test_cli_save_list_show_delete(capsys, tmp_path):
    assert main(["presets", "save", "film", "-i", "warm, soft film look", "--strength", "0.7"]) == 0
    assert main(["presets", "save", "exact", "--params", "exposure +0.5, shadows 30"]) == 0
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"layers": [{"instruction": "warm"}, {"instruction": "brighter"}]}))
    assert main(["presets", "save", "layered", "--recipe", str(recipe)]) == 0
    capsys.readouterr()
    assert main(["presets", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["exact", "film", "layered"]
    assert "'warm, soft film look' at strength 0.7" in out[1]
    assert "recipe (2 layers)" in out[2]
    assert main(["presets", "show", "exact"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == {"exposure": 0.5, "shadows": 30.0}
    assert main(["presets", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert main(["presets", "delete", "film"]) == 0
    assert main(["presets", "show", "film"]) == 1
    assert "no preset named 'film'" in capsys.readouterr().err
    assert main(["presets", "delete", "film"]) == 1


def test_cli_save_refuses_existing(capsys):
    assert main(["presets", "save", "x", "-i", "warm"]) == 0
    assert main(["presets", "save", "x", "-i", "cool"]) == 4
    assert "already exists" in capsys.readouterr().err
    assert main(["presets", "save", "x", "-i", "cool", "--overwrite"]) == 0


def test_read_only_store(config_dir, capsys):
    import os

    config_dir.mkdir()
    config_dir.chmod(0o500)
    try:
        if os.access(config_dir, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert main(["presets", "save", "x", "-i", "warm"]) == 1
        assert "cannot save preset" in capsys.readouterr().err
    finally:
        config_dir.chmod(0o700)


def test_unwritable_store_as_any_user(config_dir, capsys):
    # root ignores permission bits, so also block the store with a plain file where the folder goes
    config_dir.mkdir()
    (config_dir / "presets").write_text("not a folder")
    assert main(["presets", "save", "x", "-i", "warm"]) == 1
    assert "cannot save preset" in capsys.readouterr().err
