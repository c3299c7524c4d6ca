"""The ``"compact"`` engine: the shipped default model behind the :class:`Predictor` protocol.

The network runs from its ONNX export through onnxruntime, so serving the default model needs no
torch; a model folder without ``model.onnx`` falls back to the torch network (``model.compact``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from retouch_studio.model.compact_config import NUM_PARAMS, PARAM_NAMES, CompactConfig, net_input, split_clauses
from retouch_studio.model.engines.base import ModelError, Prediction, read_config
from retouch_studio.model.grid.guidance import GuidanceParams


class CompactPredictor:
    """Runtime wrapper: instruction clauses -> cached embeddings; proxy -> grid.

    Uses ``model.onnx`` through onnxruntime when present (and ``use_onnx``); the torch network
    (``model.compact``) is loaded only without it.
    """

    def __init__(self, model_dir: str | Path, use_onnx: bool = True, use_gpu: bool = True):
        self.model_dir = Path(model_dir)
        raw_config = read_config(self.model_dir)
        try:
            self.config = CompactConfig.from_dict(raw_config, str(self.model_dir / "config.json"))
        except (ValueError, TypeError) as exc:
            raise ModelError(str(exc)) from None
        self.grid_shape = tuple(self.config.grid_shape)
        self.model_id = f"compact:{self.model_dir.name}:{self.config.version}"
        self.session = None
        self._net = None
        onnx_path = self.model_dir / "model.onnx"
        if use_onnx and onnx_path.is_file():
            from retouch_studio.model.engines.onnx_engine import make_session

            self.session = make_session(onnx_path, use_gpu=use_gpu)
        else:
            self.net  # noqa: B018 - a missing or broken weights file is reported at load time
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
    @property
    def net(self):
        """The torch network (loaded on first use)."""
        if self._net is None:
            from retouch_studio.model.compact import CompactRetouchNet

            self._net = CompactRetouchNet.from_pretrained(self.model_dir)
        return self._net

    def embed(self, clauses: list[str]) -> np.ndarray:
        """Clause embeddings ``(C, 384)``, cached per clause."""
        with self._lock:
            missing = [c for c in clauses if c not in self._cache]
        if missing:
            from retouch_studio.model.text_encoder import encode

            vecs = encode(missing)
            with self._lock:
                for c, v in zip(missing, vecs):
                    self._cache[c] = v
        return np.stack([self._cache[c] for c in clauses]).astype(np.float32)

    def prepare_text(self, instruction: str) -> None:
        """Encode the instruction's clauses now (cached), so :meth:`predict` runs the image side only."""
        clauses = split_clauses(instruction, self.config.max_clauses)
        if clauses:
            self.embed(clauses)

    def run(self, proxy: np.ndarray, instruction: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """-> (grid ``(12, D, Gh, Gw)``, params ``(P,)``, clauses)."""
        cfg = self.config
        clauses = split_clauses(instruction, cfg.max_clauses)
        d, gh, gw = cfg.grid_shape
        if not clauses:
            grid = np.zeros((12, d, gh, gw), np.float32)
            grid[[0, 5, 10]] = 1.0
            return grid, np.zeros(NUM_PARAMS, np.float32), []
        image = net_input(proxy, cfg.net_size)
        text = self.embed(clauses)[None]
        mask = np.ones((1, len(clauses)), np.float32)
        if self.session is not None:
            grid, params = self.session.run(["grid", "params"], {"image": image, "text": text, "clause_mask": mask})
        else:
            import torch

            with torch.inference_mode():
                g, p, _ = self.net(torch.from_numpy(image), torch.from_numpy(text), torch.from_numpy(mask))
            grid, params = g.numpy(), p.numpy()
        return np.ascontiguousarray(grid[0], np.float32), params[0], clauses

    def predict(self, proxy: np.ndarray, instruction: str) -> Prediction:
        """The network's grid; its plan is the network's own strongest parameters."""
        grid, params, clauses = self.run(proxy, instruction)
        plan = [
            {"attribute": name, "direction": 1 if v > 0 else -1, "label": f"{float(v):+.2f}",
             "amount": round(float(v), 3), "confidence": 1.0, "clause": "; ".join(clauses),
             "source": "compact"}
            for name, v in zip(PARAM_NAMES, params)
            if abs(float(v)) >= 0.05
        ]
        return Prediction(grid, GuidanceParams.luminance(), plan, self.model_id)
