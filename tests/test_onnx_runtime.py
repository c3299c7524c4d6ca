"""ONNX export and onnxruntime sessions: parity with torch, dynamic sizes, metadata, quiet CPU fallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from retouch_studio.model.compact import CompactConfig, CompactRetouchNet
from retouch_studio.model.engines.onnx_engine import OnnxRuntimeError, export_onnx, make_session, session_metadata

TINY = dict(channels=(4, 8, 8), global_channels=8, text_hidden=16, hidden=16, net_size=32, grid_depth=4)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = CompactRetouchNet(CompactConfig(**TINY))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    net.eval()
    path = export_onnx(net, tmp_path_factory.mktemp("onnx") / "model.onnx", metadata={"note": "test"})
    return net, path


@pytest.mark.parametrize("batch, clauses, size", [(1, 1, 32), (2, 3, 32), (1, 2, 48)])
def test_parity_with_torch_on_dynamic_shapes(exported, batch, clauses, size):
    net, path = exported
    session = make_session(path, use_gpu=False)
    rng = np.random.default_rng(batch * 10 + clauses)
    image = rng.random((batch, 3, size, size), dtype=np.float32)
    text = rng.standard_normal((batch, clauses, 384)).astype(np.float32)
    mask = np.ones((batch, clauses), np.float32)
    mask[0, -1] = 0.0 if clauses > 1 else 1.0
    grid, params = session.run(["grid", "params"], {"image": image, "text": text, "clause_mask": mask})
    with torch.no_grad():
        g, p, _ = net(torch.from_numpy(image), torch.from_numpy(text), torch.from_numpy(mask))
    assert grid.shape == tuple(g.shape) == (batch, 12, 4, size // 8, size // 8)
    np.testing.assert_allclose(grid, g.numpy(), atol=1e-5)
    np.testing.assert_allclose(params, p.numpy(), atol=1e-5)


def test_named_inputs_and_metadata(exported):
    _, path = exported
    session = make_session(path, use_gpu=False)
    assert [i.name for i in session.get_inputs()] == ["image", "text", "clause_mask"]
    assert [o.name for o in session.get_outputs()] == ["grid", "params"]
    meta = session_metadata(session)
    assert meta["version"] == CompactConfig().version and meta["grid_shape"] == [4, 4, 4]
    assert meta["note"] == "test"


def test_gpu_request_falls_back_quietly(exported, capfd):
    _, path = exported
    from retouch_studio.model.engines.onnx_engine import cuda_usable

    session = make_session(path, use_gpu=True)
    providers = session.get_providers()
    assert providers[-1] == "CPUExecutionProvider"
    if not cuda_usable():
        assert providers == ["CPUExecutionProvider"]
        err = capfd.readouterr().err
        assert "CUDA" not in err and "Error" not in err


def test_missing_or_bad_file(tmp_path):
    with pytest.raises(OnnxRuntimeError, match="not found"):
        make_session(tmp_path / "none.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(OnnxRuntimeError, match="cannot open"):
        make_session(bad)
