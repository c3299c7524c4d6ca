"""Engine ``"paper"``: runs an exported stage-2 model folder (see :mod:`model.paper.export`)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from retouch_studio.model.grid.guidance import GuidanceParams
from retouch_studio.model.engines.base import ModelError, Prediction
from retouch_studio.model.engines.onnx_engine import make_session


def _session(path: Path):
    if not path.is_file():
        raise ModelError(f"paper model file {path} is missing")
    return make_session(path, use_gpu=True)


class PaperPredictor:
    """proxy + instruction -> :class:`Prediction` with the exported one-step bilateral generator."""

    def __init__(self, model_dir: str | Path, config: dict):
        from transformers import CLIPTokenizer  # noqa: PLC0415 - heavy import only when used

        self.model_dir = Path(model_dir)
        try:
            self.proxy_size = int(config["proxy_size"])
            latent_shape = tuple(int(v) for v in config["latent_shape"])
            self.max_tokens = int(config["max_text_tokens"])
            generator = self.model_dir / config["generator"]
            text_encoder = self.model_dir / config["text_encoder"]
            tokenizer = self.model_dir / config["tokenizer"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{self.model_dir}/config.json: incomplete paper-model config ({exc})") from exc
        self.model_id = str(config.get("model_id", f"paper-{self.model_dir.name}"))
        if not tokenizer.is_dir():
            raise ModelError(f"paper model tokenizer folder {tokenizer} is missing")
        self.tokenizer = CLIPTokenizer.from_pretrained(str(tokenizer), local_files_only=True)
        self.generator = _session(generator)
        self.text_encoder = _session(text_encoder)
        rng = np.random.default_rng(int(config.get("noise_seed", 0)))
        self.noise = rng.standard_normal((1, *latent_shape)).astype(np.float32)
        self._text_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def text_embedding(self, instruction: str) -> np.ndarray:
        hit = self._text_cache.get(instruction)
        if hit is not None:
            self._text_cache.move_to_end(instruction)
            return hit
        ids = self.tokenizer([instruction], padding="max_length", truncation=True, max_length=self.max_tokens,
                             return_tensors="np").input_ids.astype(np.int64)
        emb = self.text_encoder.run(None, {"input_ids": ids})[0]
        self._text_cache[instruction] = emb
        if len(self._text_cache) > 64:
            self._text_cache.popitem(last=False)
        return emb

    def prepare(self, proxy: np.ndarray) -> np.ndarray:
        """(h, w, 3) float32 in [0, 1] -> (1, 3, P, P), squashed like the training proxies."""
        if not isinstance(proxy, np.ndarray) or proxy.ndim != 3 or proxy.shape[2] != 3:
            raise ValueError(f"proxy must be an (h, w, 3) array, got {getattr(proxy, 'shape', type(proxy))}")
        x = torch.from_numpy(np.ascontiguousarray(proxy, np.float32)).permute(2, 0, 1)[None]
        p = self.proxy_size
        x = F.interpolate(x, size=(p, p), mode="bilinear", antialias=True, align_corners=False)
        return x.clamp(0, 1).numpy()

    def predict(self, proxy: np.ndarray, instruction: str) -> Prediction:
        grid, curves, mix, bias = self.generator.run(
            None, {"image": self.prepare(proxy), "text_embedding": self.text_embedding(instruction), "noise": self.noise}
        )
        guidance = GuidanceParams(curves[0].astype(np.float32), mix[0].astype(np.float32), float(bias[0]))
        return Prediction(grid[0].astype(np.float32), guidance, [], self.model_id)

