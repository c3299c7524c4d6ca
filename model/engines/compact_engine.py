"""The ``"compact"`` engine: the shipped default model behind the :class:`Predictor` protocol.

The network runs from its ONNX export through onnxruntime, so serving the default model needs no
torch; a model folder without ``model.onnx`` falls back to the torch network (``model.compact``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from retouch_studio.model.compact_config import NUM_PARAMS, PARAM_NAMES, CompactConfig, net_input, split_clauses
from retouch_studio.model.engines.loader import ModelError, Prediction, read_config, register_engine
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
        # Hybrid routing: instructions whose plan names one of these attributes (fnmatch patterns
        # over "attribute" and "attribute:+1"/"attribute:-1", e.g. "*_sat" for per-hue saturation,
        # which this parameter space cannot express, or "exposure:-1") go to the "params" engine,
        # which the evaluation found better for them.
        self.route_to_params = tuple(str(p) for p in raw_config.get("route_to_params", []))
        # Plan check: a learned edit that does not visibly do what the plan asks (the statistic of
        # each worded tone/colour item, model.instructions.visible.shows_plan) is replaced by the
        # params engine's edit.
        self.verify_with_plan = bool(raw_config.get("verify_with_plan", False))
        self._params_engine = None
        self._plans: dict[str, list] = {}  # the plan depends on the text only

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
        """Do the text work for ``instruction`` now (routing plan, clause embeddings), cached, so a
        following :meth:`predict` only runs the image side (``retouch apply --timings`` reports
        the two apart)."""
        if instruction.strip() and self.routed_engine(instruction) is None:
            self.embed(split_clauses(instruction, self.config.max_clauses))

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

    def routed_engine(self, instruction: str):
        """The params engine when the instruction's plan hits ``route_to_params``, else None."""
        if not self.route_to_params or not instruction.strip():
            return None
        return self._params() if self._route(instruction) else None

    def _params(self):
        if self._params_engine is None:
            from retouch_studio.model.params import ParamsPredictor

            self._params_engine = ParamsPredictor(self.config.grid_shape, model_id=f"{self.model_id}+params")
        return self._params_engine

    def _plan(self, instruction: str) -> list:
        with self._lock:
            cached = self._plans.get(instruction)
        if cached is None:
            from retouch_studio.model.instructions import plan

            cached = plan(instruction)
            with self._lock:
                self._plans[instruction] = cached
        return cached

    def _route(self, instruction: str) -> bool:
        from fnmatch import fnmatch

        # Each plan item is matched as "attribute" and as "attribute:+1" / "attribute:-1".
        keys = []
        for item in self._plan(instruction):
            keys += [item["attribute"], f"{item['attribute']}:{'+1' if item.get('direction', 1) >= 0 else '-1'}"]
        return any(fnmatch(k, pat) for k in keys for pat in self.route_to_params)

    def _predict_params(self, proxy: np.ndarray, instruction: str) -> Prediction:
        # The params engine fits its grid to the proxy's colours; 128 px keep the colour
        # distribution and make the least-squares fit ~10x cheaper than at 512 px.
        from retouch_studio.model.imaging.photo import make_proxy

        small = make_proxy(np.asarray(proxy, np.float32), 128) if max(proxy.shape[:2]) > 128 else proxy
        return self._params().predict(small, instruction)

    def _learned_shows_plan(self, proxy: np.ndarray, grid: np.ndarray, instruction: str) -> bool:
        from retouch_studio.model.instructions.visible import shows_plan
        from retouch_studio.model.imaging.photo import make_proxy
        from retouch_studio.model.pipeline import apply_prediction

        items = self._plan(instruction)
        if not items:
            return True  # nothing to check against: the network's reading stands
        small = make_proxy(np.asarray(proxy, np.float32), 64) if max(proxy.shape[:2]) > 64 else proxy
        edited = apply_prediction(small, Prediction(grid, GuidanceParams.luminance(), [], self.model_id))
        return shows_plan(small, edited, items)

    def predict(self, proxy: np.ndarray, instruction: str) -> Prediction:
        if self.routed_engine(instruction) is not None:
            return self._predict_params(proxy, instruction)
        grid, params, clauses = self.run(proxy, instruction)
        if self.verify_with_plan and clauses and not self._learned_shows_plan(proxy, grid, instruction):
            return self._predict_params(proxy, instruction)
        # What was understood is the matcher's plan (the edit was checked against it); without one,
        # the network's own strongest parameters. Same keys as the params engine's items.
        plan = [dict(item, source="compact") for item in self._plan(instruction)] if clauses else []
        if not plan:
            plan = [
                {"attribute": name, "direction": 1 if v > 0 else -1, "label": f"{float(v):+.2f}",
                 "amount": round(float(v), 3), "confidence": 1.0, "clause": "; ".join(clauses),
                 "source": "compact"}
                for name, v in zip(PARAM_NAMES, params)
                if abs(float(v)) >= 0.05
            ]
        return Prediction(grid, GuidanceParams.luminance(), plan, self.model_id)


@register_engine("compact")
def _compact_engine(model_dir: Path, config: dict) -> CompactPredictor:
    return CompactPredictor(model_dir)
