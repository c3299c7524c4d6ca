"""Tiny random-initialised paper model: shapes, per-stage parameter updates, save/load, ONNX
parity, the command-line chain teacher -> stage 1 -> stage 2 -> `retouch apply`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from retouch_studio.model.grid.ops import GuidanceParams, identity_grid
from retouch_studio.model.paper.config import PaperConfig, PaperError
from retouch_studio.model.paper.data import DataError, TripletDataset, read_pairs
from retouch_studio.model.paper.nets import load_parts, tiny_parts
from retouch_studio.model.paper.student import Student

DATA = Path(__file__).resolve().parent.parent / "data"


def _snapshot(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict, module: torch.nn.Module) -> bool:
    after = module.state_dict()
    return any(not torch.equal(before[k], after[k]) for k in before)


@pytest.fixture(scope="module")
def tiny():
    cfg = PaperConfig.tiny()
    parts = tiny_parts(cfg.net)
    return cfg, parts, Student(parts.vae, parts.unet, parts.scheduler, cfg.net)


def test_student_shapes_and_identity_init(tiny):
    cfg, parts, student = tiny
    n = cfg.net
    x = torch.rand(2, 3, n.proxy_size, n.proxy_size)
    emb = torch.randn(2, n.max_text_tokens, 32)
    with torch.no_grad():
        out = student(x, emb, student.noise(2))
    lat = n.proxy_size // 4
    assert out.z0.shape == (2, 4, lat, lat) and out.image_latent.shape == (2, 4, lat, lat)
    assert out.grid.shape == (2, 12, n.grid_depth, n.grid_height, n.grid_width)
    assert out.curves.shape == (2, 3, n.guidance_knots + 1) and out.mix.shape == (2, 3) and out.bias.shape == (2,)
    # Zero-initialised adapter heads: identity grid, luminance guidance -> the photo is unchanged.
    torch.testing.assert_close(out.grid, identity_grid(2, n.grid_depth, n.grid_height, n.grid_width))
    lum = GuidanceParams.luminance(n.guidance_knots)
    torch.testing.assert_close(out.curves[0], torch.from_numpy(lum.curves))
    full = torch.rand(2, 3, 50, 70)
    torch.testing.assert_close(Student.render(out, full), full, atol=1e-5, rtol=0)
    # eq. 2: ẑ0 = (z_tmax - β ε_θ) / α
    t = torch.full((2,), n.t_max)
    noise = torch.randn(2, 4, lat, lat)
    with torch.no_grad():
        out = student(x, emb, noise)
        eps = parts.unet(torch.cat([noise, out.image_latent], 1), t, encoder_hidden_states=emb).sample
    acp = parts.scheduler.alphas_cumprod[n.t_max]
    torch.testing.assert_close(out.z0, (noise - (1 - acp).sqrt() * eps) / acp.sqrt(), rtol=1e-4, atol=1e-4)


def test_student_rejects_bad_input(tiny):
    cfg, _, student = tiny
    p = cfg.net.proxy_size
    with pytest.raises(ValueError, match="proxy must be"):
        student(torch.rand(1, 3, p + 4, p), torch.randn(1, 16, 32), student.noise(1))
    with pytest.raises(ValueError, match="noise must be"):
        student(torch.rand(1, 3, p, p), torch.randn(1, 16, 32), torch.randn(1, 4, 3, 3))
    with pytest.raises(ValueError, match="proxy"):
        student(torch.rand(1, 4, p, p), torch.randn(1, 16, 32), student.noise(1))


def test_student_save_load_round_trip(tiny, tmp_path):
    cfg, parts, student = tiny
    with torch.no_grad():  # make the adapter non-trivial so the round trip means something
        for prm in student.adapter.parameters():
            prm.add_(0.01 * torch.randn_like(prm))
    student.save(tmp_path, cfg)
    loaded, cfg2 = Student.load(tmp_path, parts.scheduler)
    assert cfg2.to_dict() == cfg.to_dict()
    x = torch.rand(1, 3, cfg.net.proxy_size, cfg.net.proxy_size)
    emb, noise = torch.randn(1, cfg.net.max_text_tokens, 32), student.noise(1)
    with torch.no_grad():
        a, b = student.eval()(x, emb, noise), loaded.eval()(x, emb, noise)
    torch.testing.assert_close(a.grid, b.grid)
    torch.testing.assert_close(a.curves, b.curves)
    torch.testing.assert_close(a.z0, b.z0)
    with pytest.raises(PaperError, match="lacks adapter"):
        (tmp_path / "adapter.safetensors").unlink()
        Student.load(tmp_path, parts.scheduler)


def test_config_round_trip_and_errors(tmp_path):
    cfg = PaperConfig.tiny()
    cfg.save(tmp_path)
    assert PaperConfig.load(tmp_path) == cfg
    with pytest.raises(PaperError, match="unknown NetConfig keys"):
        PaperConfig.from_dict({"net": {"bogus": 1}})
    with pytest.raises(PaperError, match="no paper_config.json"):
        PaperConfig.load(tmp_path / "nowhere")


def test_pairs_folder(paper_pairs, tmp_path):
    items = read_pairs(paper_pairs)
    assert len(items) == 4 and all(i.instruction for i in items)
    x, xs, text = TripletDataset(paper_pairs, 24)[0]
    assert x.shape == xs.shape == (3, 24, 24) and not torch.equal(x, xs) and isinstance(text, str)
    with pytest.raises(DataError, match="has no pairs.jsonl"):
        read_pairs(tmp_path)
    (tmp_path / "pairs.jsonl").write_text('{"input": "a.png", "target": "b.png", "instruction": "x"}\n')
    with pytest.raises(DataError, match="a.png does not exist"):
        read_pairs(tmp_path)
    (tmp_path / "pairs.jsonl").write_text("not json\n")
    with pytest.raises(DataError, match=r"pairs.jsonl:1"):
        read_pairs(tmp_path)


def test_missing_paths_are_clear_errors(tmp_path, capsys):
    from retouch_studio.app.cli.main import main

    with pytest.raises(PaperError, match="does not exist"):
        load_parts(tmp_path / "nope")
    (tmp_path / "unet").mkdir()
    with pytest.raises(PaperError, match="lacks vae/"):
        load_parts(tmp_path)
    rc = main(["train", "teacher", "--data", str(tmp_path), "--out", str(tmp_path / "o"), "--base",
               str(tmp_path / "missing")])
    assert rc == 2 and "--base" in capsys.readouterr().err
    rc = main(["train", "teacher", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert rc == 2 and "needs --base" in capsys.readouterr().err
    rc = main(["train", "distill", "--stage", "2", "--tiny", "--teacher", str(tmp_path), "--data",
               str(tmp_path), "--out", str(tmp_path / "o")])
    assert rc == 2 and "--init" in capsys.readouterr().err


def test_teacher_step_trains_only_the_unet(paper_chain):
    cfg = PaperConfig.tiny()
    initial = tiny_parts(cfg.net, cfg.train.seed)  # what train_teacher started from
    trained = load_parts(paper_chain["teacher"])
    assert _changed(_snapshot(initial.unet), trained.unet)
    assert not _changed(_snapshot(initial.vae), trained.vae)
    assert not _changed(_snapshot(initial.text_encoder), trained.text_encoder)
    log = json.loads((paper_chain["teacher"] / "train_log.json").read_text())
    assert len(log) == 2 and all(np.isfinite(r["loss"]) for r in log)


@pytest.mark.parametrize("stage", [1, 2])
def test_one_distill_step_changes_exactly_the_right_parameters(paper_chain, stage):
    from retouch_studio.model.paper.data import TripletDataset
    from retouch_studio.model.paper.distill import build_distill, distill_step

    init = paper_chain["stage1"] if stage == 2 else None
    state = build_distill(stage, paper_chain["teacher"], init=init, tiny=True, device=torch.device("cpu"))
    watched = {
        "student.unet": state.student.unet,
        "student.adapter": state.student.adapter,
        "student.vae": state.student.vae,
        "teacher.unet": state.parts.unet,
        "teacher.vae": state.parts.vae,
        "text_encoder": state.parts.text_encoder,
        "regulariser": state.regulariser,
        "clip": state.alignment.model,
    }
    before = {k: _snapshot(m) for k, m in watched.items()}
    ds = TripletDataset(paper_chain["data"], state.config.train.full_size)
    x, xs = torch.stack([ds[0][0], ds[1][0]]), torch.stack([ds[0][1], ds[1][1]])
    logs = distill_step(state, x, xs, [ds[0][2], "make it warmer"], progress=0.5)
    changed = {k for k, m in watched.items() if _changed(before[k], m)}
    expected = {"student.unet", "regulariser"} | ({"student.adapter"} if stage == 2 else set())
    assert changed == expected
    assert all(np.isfinite(v) for v in logs.values())
    assert {"data", "vsd", "align", "regulariser"} <= set(logs) and ("bila" in logs) == (stage == 2)
    assert logs["t_hi"] == 400


def test_onnx_parity(paper_chain, tmp_path):
    from retouch_studio.model.paper.distill import build_distill
    from retouch_studio.model.paper.export import export_model_folder
    from retouch_studio.model.paper.nets import encode_text
    from retouch_studio.model.engines.loader import load_predictor

    state = build_distill(2, paper_chain["teacher"], init=paper_chain["stage1"], tiny=True, device=torch.device("cpu"))
    student = state.student.eval()
    with torch.no_grad():  # a non-trivial adapter, so parity is about more than the identity grid
        for prm in student.adapter.parameters():
            prm.add_(0.02 * torch.randn_like(prm))
    export_model_folder(student, state.parts, state.config, tmp_path, model_id="parity")
    predictor = load_predictor(tmp_path)
    assert predictor.model_id == "parity"
    rng = np.random.default_rng(0)
    p = state.config.net.proxy_size
    proxy = rng.random((p, p, 3), dtype=np.float32)
    pred = predictor.predict(proxy, "make it warmer")
    with torch.no_grad():
        emb = encode_text(state.parts, ["make it warmer"])
        out = student(torch.from_numpy(proxy).permute(2, 0, 1)[None], emb, torch.from_numpy(predictor.learned.noise))
    assert np.abs(out.grid[0].numpy() - np.eye(3, 4).reshape(12, 1, 1, 1)).max() > 1e-3
    np.testing.assert_allclose(pred.grid, out.grid[0].numpy(), atol=2e-4)
    np.testing.assert_allclose(pred.guidance.curves, out.curves[0].numpy(), atol=2e-4)
    np.testing.assert_allclose(pred.guidance.mix, out.mix[0].numpy(), atol=2e-4)
    assert pred.plan and pred.plan[0]["attribute"].startswith("temperature")
    # deterministic: same inputs, same prediction
    np.testing.assert_array_equal(predictor.predict(proxy, "make it warmer").grid, pred.grid)


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two grey images in [0, 1] (Gaussian window, sigma 1.5)."""
    from scipy.ndimage import gaussian_filter

    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = gaussian_filter(a, 1.5), gaussian_filter(b, 1.5)
    va = gaussian_filter(a * a, 1.5) - mu_a**2
    vb = gaussian_filter(b * b, 1.5) - mu_b**2
    cov = gaussian_filter(a * b, 1.5) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
    return float(s.mean())


def test_chain_stage2_applies_and_keeps_content(paper_chain, tmp_path):
    from retouch_studio.app.cli.main import main
    from retouch_studio.model.imaging import load_photo

    s2 = paper_chain["stage2"]
    cfg = json.loads((s2 / "config.json").read_text())
    assert cfg["engine"] == "paper" and (s2 / cfg["generator"]).is_file()
    src = DATA / "aitzgorri_by_Aitzol_Berasategi.jpg"
    out = tmp_path / "edited.png"
    assert main(["apply", str(src), "-i", "make it warmer", "--model", str(s2), "-o", str(out)]) == 0
    a = load_photo(src).pixels.astype(np.float64) / 255
    b = load_photo(out).pixels.astype(np.float64) / 255
    assert a.shape == b.shape
    grey = np.array([0.2126, 0.7152, 0.0722])
    assert _ssim(a @ grey, b @ grey) >= 0.98


def test_real_path_loads_sd_layout_widens_unet_and_needs_clip(paper_pairs, tmp_path, capsys):
    """The non-tiny code path on tiny weights: a Stable-Diffusion-layout folder (4-channel UNet)
    as --base, a local CLIP folder as --clip, hyperparameters from --config."""
    from diffusers import UNet2DConditionModel

    from retouch_studio.app.cli.main import main
    from retouch_studio.model.paper.nets import save_parts, tiny_clip

    cfg = PaperConfig.tiny()
    cfg_path = cfg.save(tmp_path)
    parts = tiny_parts(cfg.net)
    sd_unet = UNet2DConditionModel.from_config({**parts.unet.config, "in_channels": 4})
    base = tmp_path / "sd"
    save_parts(parts, base, unet=sd_unet)
    loaded = load_parts(base)
    w = loaded.unet.conv_in.weight
    assert loaded.unet.config.in_channels == 8 and w.shape[1] == 8
    torch.testing.assert_close(w[:, :4], sd_unet.conv_in.weight)
    assert w[:, 4:].abs().max() == 0  # InstructPix2Pix init: the image latent starts switched off

    clip_dir = tmp_path / "clip"
    clip = tiny_clip(parts.tokenizer)
    clip.model.save_pretrained(clip_dir)
    clip.tokenizer.save_pretrained(clip_dir)

    d, t, s1 = str(paper_pairs), tmp_path / "T", tmp_path / "S1"
    common = ["--data", d, "--max-steps", "1", "--config", str(cfg_path)]
    assert main(["train", "teacher", "--base", str(base), "--out", str(t), *common]) == 0
    assert load_parts(t).unet.config.in_channels == 8
    rc = main(["train", "distill", "--stage", "1", "--teacher", str(t), "--out", str(s1), *common])
    assert rc == 2 and "--clip" in capsys.readouterr().err
    assert main(["train", "distill", "--stage", "1", "--teacher", str(t), "--clip", str(clip_dir),
                 "--out", str(s1), "--data", d, "--max-steps", "2", "--save-every", "1",
                 "--config", str(cfg_path)]) == 0
    assert (s1 / "adapter.safetensors").is_file() and (s1 / "regulariser").is_dir()
    assert (s1 / "checkpoint-1" / "adapter.safetensors").is_file() and not (s1 / "checkpoint-2").exists()


def test_teacher_loss_is_eq1(tiny):
    """ε-prediction MSE on the noised target latent, conditioned on the input latent and text."""
    import torch.nn.functional as F

    from retouch_studio.model.paper.losses import FeatureLPIPS, data_loss
    from retouch_studio.model.paper.nets import encode_text
    from retouch_studio.model.paper.teacher import teacher_loss

    cfg, parts, _ = tiny
    p = cfg.net.proxy_size
    x, xs = torch.rand(2, 3, p, p), torch.rand(2, 3, p, p)
    texts = ["make it warmer", "add contrast"]
    with torch.no_grad():
        loss = teacher_loss(parts, x, xs, texts, cond_dropout=0.0, generator=torch.Generator().manual_seed(3))
        g = torch.Generator().manual_seed(3)  # replay the same draws in the same order
        z0 = parts.vae.encode(xs * 2 - 1).latent_dist.sample(g) * parts.scaling_factor
        t = torch.randint(0, 1000, (2,), generator=g)
        eps = torch.randn(z0.shape, generator=g)
        acp = parts.scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
        z_t = acp.sqrt() * z0 + (1 - acp).sqrt() * eps
        c_img = parts.vae.encode(x * 2 - 1).latent_dist.mode()
        pred = parts.unet(torch.cat([z_t, c_img], 1), t, encoder_hidden_states=encode_text(parts, texts)).sample
    assert loss.item() == pytest.approx(F.mse_loss(pred, eps).item(), rel=1e-4)
    # eq. 7 is MSE + λ·LPIPS
    lp = FeatureLPIPS(parts.vae.encoder)
    with torch.no_grad():
        expected = F.mse_loss(x, xs) + 0.5 * lp(x, xs)
        assert data_loss(x, xs, lp, 0.5).item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("source", ["simple", "synth"])
def test_pairs_command(tmp_path, capsys, source):
    from retouch_studio.app.cli.main import main
    out = tmp_path / "D"
    assert main(["train", "pairs", "--photos", str(DATA), "--out", str(out), "--count", "3", "--size", "32",
                 "--source", source]) == 0
    items = read_pairs(out)
    assert len(items) == 3 and all(i.instruction.strip() for i in items)
    x, xs, _ = TripletDataset(out, 32)[0]
    assert x.shape == (3, 32, 32) and (x - xs).abs().mean() > 1e-3  # input differs from target
    assert main(["train", "pairs", "--photos", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ema_averages_and_restores():
    from retouch_studio.model.paper.training import EMA

    w = torch.nn.Parameter(torch.zeros(3))
    ema = EMA({"w": w}, decay=0.5)
    with torch.no_grad():
        w.fill_(1.0)
    ema.update()  # warm-up decay min(0.5, 2/11)
    d = 2 / 11
    torch.testing.assert_close(ema.shadow["w"], torch.full((3,), 1 - d))
    with ema.applied():
        torch.testing.assert_close(w.detach(), torch.full((3,), 1 - d))
    torch.testing.assert_close(w.detach(), torch.ones(3))


def test_teacher_multistep_edit_runs(tiny):
    from retouch_studio.model.paper.teacher import teacher_edit

    cfg, parts, _ = tiny
    p = cfg.net.proxy_size
    out = teacher_edit(parts, torch.rand(1, 3, p, p), "make it warmer", steps=2)
    assert out.shape == (1, 3, p, p) and float(out.min()) >= 0 and float(out.max()) <= 1
