"""The compact default model without torch: its parameter names, configuration, how an
instruction is split into clauses and how the proxy becomes the network input.

The network itself (``model.compact``) needs torch; the engine that serves the shipped model
(``model.engines.compact_engine``) runs its ONNX export and only needs what is here.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

MODEL_VERSION = "compact-1"

#: Normalised controls; 0 = no change, +-1 = a strong but sane edit (values up to +-2 allowed).
PARAM_NAMES = (
    "exposure",  # Reinhard-style gain, 1 unit = 0.9 stop at the toe, whites stay put
    "contrast",  # S-curve around mid-grey
    "temperature",  # + warmer (R up, B down), luminance-neutral gains
    "tint",  # + magenta, - green
    "saturation",  # -1 = black and white, +1 = twice the chroma
    "shadows",  # + lift, - deepen (centred on z = 0.25)
    "highlights",  # + brighten, - recover (centred on z = 0.75)
    "blacks",  # + lift/fade the black point, - crush
    "split_tone",  # + warm highlights and teal shadows ("cinematic")
)
NUM_PARAMS = len(PARAM_NAMES)
PARAM_LIMIT = 2.0


_PROTECTED = ("black and white", "black & white", "teal and orange", "orange and teal", "bright and airy",
              "light and airy", "dark and moody", "shadows and highlights", "black and whites")
_SPLIT = re.compile(
    r"\s*(?:,|;|\.\s|\band then\b|\bthen\b|\band also\b|\balso\b|\bplus\b|\bbut\b|\band\b|&|\bwith\b|\bwhile\b)\s*"
)


def split_clauses(instruction: str, max_clauses: int = 4) -> list[str]:
    """Split an instruction into edit clauses: ``"brighter, and a bit warmer"`` -> two clauses.

    Fixed phrases such as "black and white" are kept whole. Returns at most ``max_clauses``
    non-empty, lower-cased clauses (the rest is merged into the last one).
    """
    text = " ".join(instruction.strip().lower().split())
    keep = {}
    for i, phrase in enumerate(_PROTECTED):
        token = f"qqprot{i}qq"
        if phrase in text:
            text = text.replace(phrase, token)
            keep[token] = phrase
    parts = [p.strip(" .!?") for p in _SPLIT.split(text)]
    parts = [p for p in parts if p and p not in ("and", "please")]
    out = []
    for p in parts:
        for token, phrase in keep.items():
            p = p.replace(token, phrase)
        out.append(p)
    if len(out) > max_clauses:
        out = out[: max_clauses - 1] + [" and ".join(out[max_clauses - 1 :])]
    return out


@dataclass
class CompactConfig:
    """Every hyperparameter of the network (saved as ``config.json``)."""

    engine: str = "compact"
    version: str = MODEL_VERSION
    text_dim: int = 384
    net_size: int = 64
    grid_depth: int = 8
    channels: tuple = (16, 32, 64)
    global_channels: int = 64
    text_hidden: int = 128
    hidden: int = 256
    residual_scale: float = 0.05
    max_clauses: int = 4
    training: dict = field(default_factory=dict)

    @property
    def grid_size(self) -> int:
        return self.net_size // 8

    @property
    def grid_shape(self) -> tuple:
        return (self.grid_depth, self.grid_size, self.grid_size)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["grid_shape"] = list(self.grid_shape)
        d["param_names"] = list(PARAM_NAMES)
        return d

    @staticmethod
    def from_dict(d: dict, source: str = "config") -> "CompactConfig":
        """Sizes checked against ``model.schema.CompactConfigSchema`` (ValueError names the field)."""
        from retouch_studio.model.schema import CompactConfigSchema, validate

        known = {f for f in CompactConfig.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        checked = validate(CompactConfigSchema, kw, source)
        kw.update({k: getattr(checked, k) for k in CompactConfigSchema.model_fields if k in kw})
        return CompactConfig(**kw)


def net_input(proxy: np.ndarray, size: int) -> np.ndarray:
    """Proxy ``(h, w, 3)`` float in [0, 1] -> network input ``(1, 3, size, size)`` float32 (box filter).

    The whole frame is squeezed to a square: the residual grid is cell-centred on the image, so
    its cells line up with the photo whatever the aspect ratio.
    """
    from PIL import Image

    proxy = np.asarray(proxy, np.float32)
    if proxy.ndim != 3 or proxy.shape[2] != 3:
        raise ValueError(f"proxy must be (h, w, 3), got {proxy.shape}")
    chans = []
    for c in range(3):
        im = Image.fromarray(np.ascontiguousarray(proxy[:, :, c]), mode="F")
        chans.append(np.asarray(im.resize((size, size), Image.Resampling.BOX), np.float32))
    return np.clip(np.stack(chans)[None], 0.0, 1.0)
