"""Compact default model: renderer, network, persistence, engine, training, shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from retouch_studio.model.compact import (
    NUM_PARAMS,
    PARAM_NAMES,
    CompactConfig,
    CompactRetouchNet,
    net_input,
    render_params_grid,
    rgb_to_lab,
    slice_apply,
    split_clauses,
)
from retouch_studio.model.engines.compact_engine import CompactPredictor
from retouch_studio.model.grid.ops import bilateral_apply, identity_grid
from retouch_studio.model.imaging import load_photo, make_proxy
from retouch_studio.model.engines.base import ModelError
from retouch_studio.model.engines.loader import DEFAULT_MODEL_DIR, load_predictor

DATA = Path(__file__).parent / "data"
TINY = dict(channels=(4, 8, 8), global_channels=8, text_hidden=16, hidden=16, net_size=32, grid_depth=4)


def photo(name: str = "Bridge_by_Sander_Klootwijk.jpg", size: int = 96) -> np.ndarray:
    return make_proxy(load_photo(DATA / name).pixels, size)


def as_tensor(proxy: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(proxy.transpose(2, 0, 1).copy())[None]


def lab_means(rgb: torch.Tensor) -> np.ndarray:
    return rgb_to_lab(rgb.clamp(0, 1)).mean((2, 3))[0].numpy()


def random_net(seed: int = 0, **overrides) -> CompactRetouchNet:
    torch.manual_seed(seed)
    net = CompactRetouchNet(CompactConfig(**{**TINY, **overrides}))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net.eval()


# -- renderer ---------------------------------------------------------------------------------


def test_zero_params_render_identity():
    grid = render_params_grid(torch.zeros(3, NUM_PARAMS), 8, 5, 7)
    assert grid.shape == (3, 12, 8, 5, 7)
    assert torch.allclose(grid, identity_grid(3, 8, 5, 7), atol=1e-6)


def test_render_rejects_bad_shape():
    with pytest.raises(ValueError, match="params must be"):
        render_params_grid(torch.zeros(2, NUM_PARAMS + 1))


@pytest.mark.parametrize(
    "name, value, stat, sign",
    [("exposure", 1, 0, 1), ("exposure", -1, 0, -1), ("temperature", 1, 2, 1), ("temperature", -1, 2, -1),
     ("tint", 1, 1, 1), ("tint", -1, 1, -1)],
)
def test_renderer_moves_statistics_the_right_way(name, value, stat, sign):
    x = as_tensor(photo())
    p = torch.zeros(1, NUM_PARAMS)
    p[0, PARAM_NAMES.index(name)] = value
    delta = lab_means(bilateral_apply(render_params_grid(p), x))[stat] - lab_means(x)[stat]
    assert sign * delta > 2.0


def test_saturation_minus_one_is_grey():
    x = as_tensor(photo())
    p = torch.zeros(1, NUM_PARAMS)
    p[0, PARAM_NAMES.index("saturation")] = -1
    lab = rgb_to_lab(bilateral_apply(render_params_grid(p), x).clamp(0, 1))
    assert lab[:, 1:].abs().mean() < 1.0


def test_slice_apply_matches_bilateral_apply():
    torch.manual_seed(1)
    grid = identity_grid(2, 6, 5, 7) + 0.1 * torch.randn(2, 12, 6, 5, 7)
    x = torch.rand(2, 3, 23, 31)
    assert torch.allclose(slice_apply(grid, x), bilateral_apply(grid, x), atol=1e-5)


def test_split_clauses():
    assert split_clauses("Make it brighter, and a bit warmer") == ["make it brighter", "a bit warmer"]
    assert split_clauses("black and white with more contrast") == ["black and white", "more contrast"]
    assert split_clauses("warmer; cooler then darker and brighter plus x", max_clauses=3) == [
        "warmer", "cooler", "darker and brighter and x"]
    assert split_clauses("   ") == []


# -- network ----------------------------------------------------------------------------------


def test_untrained_network_is_identity_and_shapes():
    net = CompactRetouchNet(CompactConfig(**TINY)).eval()
    grid, params, residual = net(torch.rand(2, 3, 32, 32), torch.randn(2, 3, 384), torch.ones(2, 3))
    assert grid.shape == (2, 12, 4, 4, 4) and params.shape == (2, NUM_PARAMS) and residual.shape == grid.shape
    assert torch.equal(grid, identity_grid(2, 4, 4, 4))


def test_clause_mask_ignores_padding():
    net = random_net()
    image, text = torch.rand(1, 3, 32, 32), torch.randn(1, 2, 384)
    with torch.no_grad():
        one = net(image, text[:, :1], torch.ones(1, 1))[0]
        padded = net(image, text, torch.tensor([[1.0, 0.0]]))[0]
    assert torch.allclose(one, padded, atol=1e-6)


def test_save_load_round_trip(tmp_path):
    net = random_net()
    net.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["engine"] == "compact" and cfg["grid_shape"] == [4, 4, 4] and cfg["channels"] == [4, 8, 8]
    back = CompactRetouchNet.from_pretrained(tmp_path)
    args = (torch.rand(1, 3, 32, 32), torch.randn(1, 2, 384), torch.ones(1, 2))
    with torch.no_grad():
        assert torch.equal(net(*args)[0], back(*args)[0])


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        CompactRetouchNet.from_pretrained(tmp_path)
    random_net().save_pretrained(tmp_path)
    (tmp_path / "weights.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot load weights"):
        CompactRetouchNet.from_pretrained(tmp_path)


def test_net_input_shape_and_range():
    x = net_input(photo(size=80), 32)
    assert x.shape == (1, 3, 32, 32) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    with pytest.raises(ValueError):
        net_input(np.zeros((8, 8)), 32)


def test_engine_dispatch_torch_and_onnx_agree(tmp_path):
    net = random_net()
    net.save_pretrained(tmp_path)
    from retouch_studio.model.engines.onnx_engine import export_onnx

    export_onnx(net, tmp_path / "model.onnx")
    pred_onnx = load_predictor(tmp_path).learned
    assert isinstance(pred_onnx, CompactPredictor) and pred_onnx.session is not None
    pred_torch = CompactPredictor(tmp_path, use_onnx=False)
    proxy = photo(size=64)
    a = pred_onnx.predict(proxy, "brighter and warmer")
    b = pred_torch.predict(proxy, "brighter and warmer")
    assert a.grid.shape == (12, 4, 4, 4) and a.grid.dtype == np.float32
    np.testing.assert_allclose(a.grid, b.grid, atol=1e-4)
    empty = pred_torch.predict(proxy, "")
    assert np.array_equal(empty.grid, identity_grid(1, 4, 4, 4)[0].numpy())


# -- training ---------------------------------------------------------------------------------


def test_a_few_training_steps_reduce_the_loss():
    from retouch_studio.model.training.compact_train import TrainConfig, compute_losses
    from retouch_studio.model.training.synth import Batch

    torch.manual_seed(0)
    net = CompactRetouchNet(CompactConfig(**TINY))
    x = as_tensor(photo(size=32))[:, :, :32, :32]
    x = torch.nn.functional.interpolate(x, size=(32, 32), mode="area")
    target_params = torch.zeros(1, NUM_PARAMS)
    target_params[0, 0] = 0.8
    target = bilateral_apply(render_params_grid(target_params), x)
    batch = Batch(x, target.clamp(0, 1), [["brighter"]], target_params, torch.ones(1))
    text, mask = torch.randn(1, 1, 384), torch.ones(1, 1)
    cfg = TrainConfig(photos="", out="")
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    first = None
    for _ in range(40):
        loss = compute_losses(net, batch, text, mask, cfg)["total"]
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


def test_train_resume_and_export(tmp_path):
    from retouch_studio.model.training.compact_train import TrainConfig, TrainError, train

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("Wine_by_Jakkub_Mede.jpg", "plasma_Grey.jpg"):
        (photos / name).write_bytes((DATA / name).read_bytes())
    out = tmp_path / "model"
    cfg = TrainConfig(photos=str(photos), out=str(out), minutes=5, max_steps=2, batch_size=2, clauses_per_key=1,
                      model=TINY)
    s1 = train(cfg, progress=False, log=lambda m: None)
    assert s1["steps"] == 2 and (out / "checkpoint.pt").is_file() and (out / "model.onnx").is_file()
    cfg.max_steps = 3
    s2 = train(cfg, resume=True, progress=False, log=lambda m: None)
    assert s2["steps"] == 3
    assert json.loads((out / "config.json").read_text())["training"]["steps"] == 3
    assert isinstance(load_predictor(out).learned, CompactPredictor)
    with pytest.raises(TrainError, match="no usable photos"):
        train(TrainConfig(photos=str(tmp_path / "model"), out=str(tmp_path / "x")), progress=False)


# -- the shipped model ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Bridge_by_Sander_Klootwijk.jpg", "mate_LadyBird.jpg"])
def test_shipped_model_makes_visibly_right_edits(name):
    predictor = load_predictor()
    proxy = photo(name, 256)
    x = as_tensor(proxy)

    def edit(instruction):
        pred = predictor.predict(proxy, instruction)
        return lab_means(bilateral_apply(torch.from_numpy(pred.grid)[None], x)) - lab_means(x)

    brighter = edit("make it brighter")
    assert brighter[0] > 2.0
    warmer = edit("make it warmer")
    assert warmer[2] > 1.0 and abs(warmer[0]) < 10
    assert edit("make it darker")[0] < -2.0


def test_hybrid_routing_sends_per_hue_edits_to_the_params_engine(tmp_path):
    random_net().save_pretrained(tmp_path, extra={"route_to_params": ["*_sat", "*_hue", "vignette"]})
    predictor = load_predictor(tmp_path)
    proxy = photo(size=64)
    routed = predictor.predict(proxy, "make the sky bluer")
    assert routed.model_id.endswith("+params") and routed.grid.shape == (12, 4, 4, 4)
    assert not predictor.predict(proxy, "make it brighter").model_id.endswith("+params")


def test_shipped_learned_path_without_routing():
    predictor = CompactPredictor(DEFAULT_MODEL_DIR)  # the network alone: no routing, no plan check
    proxy = photo("Picture_1A_by_freespace.jpg", 256)
    x = as_tensor(proxy)

    def edit(instruction):
        pred = predictor.predict(proxy, instruction)
        assert pred.model_id.startswith("compact:")
        return lab_means(bilateral_apply(torch.from_numpy(pred.grid)[None], x)) - lab_means(x)

    assert edit("make it brighter")[0] > 2.0
    assert edit("make it warmer")[2] > 1.0
    assert edit("make it cooler")[2] < -1.0
    bw = predictor.predict(proxy, "black and white")
    out = bilateral_apply(torch.from_numpy(bw.grid)[None], x).clamp(0, 1)
    assert rgb_to_lab(out)[:, 1:].abs().mean() < 0.5 * rgb_to_lab(x)[:, 1:].abs().mean()


def test_plan_check_replaces_a_learned_edit_that_does_not_show(tmp_path):
    # An untrained network is the identity: with the plan check on, a worded edit it cannot do
    # comes from the params engine instead; with the check off, the identity stands.
    net = CompactRetouchNet(CompactConfig(**TINY)).eval()  # zero-initialised heads: the identity
    net.save_pretrained(tmp_path, extra={"verify_with_plan": True})
    predictor = load_predictor(tmp_path)
    proxy = photo(size=96)
    x = as_tensor(proxy)
    pred = predictor.predict(proxy, "make it warmer")
    assert pred.model_id.endswith("+params")
    assert (lab_means(bilateral_apply(torch.from_numpy(pred.grid)[None], x)) - lab_means(x))[2] > 1.5
    net.save_pretrained(tmp_path, extra={"verify_with_plan": False})
    plain = load_predictor(tmp_path).predict(proxy, "make it warmer")
    assert not plain.model_id.endswith("+params")
    assert np.allclose(plain.grid[[0, 5, 10]], 1.0, atol=1e-6)


def test_shipped_model_keeps_learned_edits_that_do_what_was_asked():
    predictor = load_predictor()
    proxy = photo("Picture_1A_by_freespace.jpg", 256)
    pred = predictor.predict(proxy, "make it brighter")
    # The learned brightening is visible, so the plan check lets it through.
    assert not pred.model_id.endswith("+params")


def test_shipped_model_reports_the_matcher_plan_whichever_path_serves_it():
    # What the app and CLI show as "understood" is the plan, also when the learned edit is kept.
    from retouch_studio.model.instructions import plan

    predictor = load_predictor()
    proxy = photo("Picture_1A_by_freespace.jpg", 256)
    for text in ("make it brighter", "it looks a bit green, make it warmer", "make the blues deeper"):
        shown = {(i["attribute"], i["direction"]) for i in predictor.predict(proxy, text).plan}
        wanted = {(i["attribute"], i["direction"]) for i in plan(text)}
        assert wanted and wanted <= shown, (text, shown, wanted)
