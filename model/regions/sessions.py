"""The shipped region models: their folder, config and onnxruntime sessions (CPU, loaded once).

Every network runs on the CPU: the inputs are small (at most 640 px) and a session per model is
cheaper than moving a proxy to a GPU and back. Sessions are created on first use and kept.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

from retouch_studio.model.engines.loader import RESOURCES

REGIONS_DIR = RESOURCES / "models" / "regions"
# Threads per session: the machine this targets has 2 cores; more threads only contend.
THREADS = 2


class RegionModelError(RuntimeError):
    """The region models are missing or unreadable; the message names the file."""


@lru_cache(maxsize=1)
def config() -> dict:
    path = REGIONS_DIR / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RegionModelError(f"{path}: cannot read the region models' config ({exc})") from exc


def model_version() -> str:
    return str(config().get("version", "regions"))


def model_path(name: str) -> Path:
    path = REGIONS_DIR / config()[name]["file"]
    if not path.is_file():
        raise RegionModelError(f"{path}: region model file missing")
    return path


_lock = threading.Lock()
_sessions: dict[tuple[str, tuple[str, ...]], object] = {}


def session(name: str, extra_outputs: tuple[str, ...] = ()):
    """The onnxruntime session of model ``name`` (a key of config.json).

    ``extra_outputs`` names inner tensors to expose as outputs too (the sky head reads U²-Net-p's
    features this way, so the shipped file stays byte-identical to the upstream one).
    """
    key = (name, tuple(extra_outputs))
    with _lock:
        if key in _sessions:
            return _sessions[key]
        import onnxruntime as ort

        path = model_path(name)
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            if extra_outputs:
                import onnx
                from onnx import TensorProto, helper

                graph = onnx.load(str(path))
                for out in extra_outputs:
                    graph.graph.output.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))
                source: bytes | str = graph.SerializeToString()
            else:
                source = str(path)
            sess = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise RegionModelError(f"{path}: cannot load region model ({exc})") from exc
        _sessions[key] = sess
        return sess
