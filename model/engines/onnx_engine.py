"""ONNX export and onnxruntime sessions for Retouch Studio networks.

``export_onnx`` writes a model with named inputs, dynamic axes and metadata (``version``,
``grid_shape`` ...). ``make_session`` opens it with the CUDA execution provider only when a GPU and
the CUDA libraries onnxruntime needs are actually loadable, and with the CPU provider otherwise,
with onnxruntime's own logging turned down so machines without CUDA see no error spam.
"""

from __future__ import annotations

import ctypes
import functools
import json
import warnings
from pathlib import Path

import numpy as np

from retouch_studio.model.atomic import write_atomic

ORT_LOG_ERROR_ONLY = 3  # 0 verbose, 1 info, 2 warning, 3 error, 4 fatal


class OnnxRuntimeError(RuntimeError):
    """An ONNX file is missing, unreadable or not a model this runtime can run."""


def export_onnx(net, path: str | Path, *, example=None, input_names=("image", "text", "clause_mask"),
                output_names=("grid", "params"), dynamic_axes=None, metadata: dict | None = None,
                opset: int = 17) -> Path:
    """Export ``net`` (a ``torch.nn.Module``) to ``path``.

    Defaults fit :class:`model.compact.CompactRetouchNet`: inputs ``image (B, 3, H, W)``,
    ``text (B, C, 384)``, ``clause_mask (B, C)``; outputs ``grid (B, 12, D, H/8, W/8)`` and
    ``params (B, P)``; batch, clause count and image size are dynamic. Other networks pass their
    own ``example``/names/axes. ``metadata`` is stored as string properties (non-strings as JSON);
    ``version`` and ``grid_shape`` are filled from ``net.config`` when it has them.
    """
    import onnx
    import torch

    path = Path(path)
    cfg = getattr(net, "config", None)
    if example is None:
        size = getattr(cfg, "net_size", 128)
        example = (torch.rand(1, 3, size, size), torch.randn(1, 2, getattr(cfg, "text_dim", 384)),
                   torch.ones(1, 2))
    if dynamic_axes is None:
        dynamic_axes = {
            "image": {0: "batch", 2: "height", 3: "width"},
            "text": {0: "batch", 1: "clauses"},
            "clause_mask": {0: "batch", 1: "clauses"},
            "grid": {0: "batch", 3: "grid_h", 4: "grid_w"},
            "params": {0: "batch"},
        }

    class _Outputs(torch.nn.Module):  # keep only the named outputs
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            out = self.inner(*args)
            if isinstance(out, tuple):
                return out[: len(output_names)]
            return out

    was_training = net.training
    net.eval()
    tmp = path.with_suffix(".tmp.onnx")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_Outputs(net), tuple(example), str(tmp), input_names=list(input_names),
                              output_names=list(output_names), dynamic_axes=dynamic_axes, opset_version=opset,
                              dynamo=False)
    finally:
        net.train(was_training)
    model = onnx.load(str(tmp))
    meta = {}
    if cfg is not None:
        for key in ("version", "grid_shape", "net_size", "engine"):
            if hasattr(cfg, key):
                meta[key] = getattr(cfg, key)
    meta.update(metadata or {})
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)
    write_atomic(path, model.SerializeToString(), overwrite=True)
    tmp.unlink(missing_ok=True)
    return path


@functools.lru_cache(maxsize=1)
def cuda_usable() -> bool:
    """True when a CUDA GPU and the libraries onnxruntime's CUDA provider needs can be loaded."""
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        if cuda.cuInit(0) != 0:
            return False
        count = ctypes.c_int(0)
        if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
            return False
    except OSError:
        return False
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:  # pip-installed nvidia-* wheels: let onnxruntime find them
        try:
            preload(directory="")
        except Exception:  # noqa: BLE001 - absence is what we are probing for
            pass
    for names in (("libcudart.so.12", "libcudart.so"), ("libcublasLt.so.12", "libcublasLt.so"),
                  ("libcudnn.so.9", "libcudnn.so")):
        for name in names:
            try:
                ctypes.CDLL(name)
                break
            except OSError:
                continue
        else:
            return False
    return True


def make_session(path: str | Path, use_gpu: bool = True, threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` for ``path``: CUDA when usable (and asked), else CPU."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise OnnxRuntimeError(f"{path}: ONNX model not found")
    ort.set_default_logger_severity(ORT_LOG_ERROR_ONLY)
    opts = ort.SessionOptions()
    opts.log_severity_level = ORT_LOG_ERROR_ONLY
    if threads:
        opts.intra_op_num_threads = threads
    providers = ["CPUExecutionProvider"]
    if use_gpu and cuda_usable():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(path), opts, providers=providers)
    except Exception as exc:  # noqa: BLE001
        if len(providers) > 1:  # CUDA looked usable but failed: fall back quietly to the CPU
            try:
                return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            except Exception:  # noqa: BLE001
                pass
        raise OnnxRuntimeError(f"{path}: cannot open ONNX model ({exc})") from exc


def session_metadata(session) -> dict:
    """Custom metadata of a session's model, JSON values decoded."""
    out = {}
    for key, value in session.get_modelmeta().custom_metadata_map.items():
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def run_session(session, feeds: dict[str, np.ndarray], outputs: list[str] | None = None) -> list[np.ndarray]:
    return session.run(outputs, {k: np.ascontiguousarray(v, np.float32) for k, v in feeds.items()})
