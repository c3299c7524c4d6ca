"""Prompt alignment (paper §3.4.2): instruction -> atomic attributes -> CLIP InfoNCE (eqs. 5-6).

The attribute matcher and bank are :mod:`model.instructions` (``plan(text)`` and +/- prompts per
attribute); each planned attribute becomes
``AttributeTarget(name, positive_prompt, negative_prompt, confidence)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from retouch_studio.model.paper.losses import alignment_loss
from retouch_studio.model.paper.nets import ClipParts


@dataclass(frozen=True)
class AttributeTarget:
    name: str  # e.g. "brightness:up"
    positive: str  # p_a^+
    negative: str  # p_a^-
    confidence: float = 1.0  # w_a


NEUTRAL_PROMPT = "a plain unedited photo"  # the negative pole of one-way attributes (styles, fades)

# CLIP was trained on captions, not commands: for the core global attributes use caption pairs
# like the paper's ("Bright Image" vs "Dark Image") instead of the bank's imperative prompts.
CAPTIONS: dict[str, tuple[str, str]] = {
    "exposure": ("a bright photo", "a dark photo"),
    "brightness": ("a bright photo", "a dark photo"),
    "contrast": ("a high contrast photo", "a flat low contrast photo"),
    "temperature": ("a warm toned photo", "a cool toned photo"),
    "saturation": ("a vivid colorful photo", "a muted desaturated photo"),
}


def _shared_plan() -> Callable[[str], list[AttributeTarget]]:
    """Planner over :mod:`model.instructions` (``plan`` + the ``BANK`` of up/down prompts)."""
    from retouch_studio.model.instructions import BANK, plan  # noqa: PLC0415 - loads the text encoder lazily

    def run(text: str) -> list[AttributeTarget]:
        out = []
        for item in plan(text):
            attr = BANK.get(item["attribute"])
            if attr is None or not attr.up_prompts:
                continue
            up = attr.up_prompts[0]
            down = attr.down_prompts[0] if attr.down_prompts else NEUTRAL_PROMPT
            if attr.name in CAPTIONS:
                up, down = CAPTIONS[attr.name]
            pos, neg = (up, down) if item["direction"] > 0 else (down, up)
            if pos == NEUTRAL_PROMPT:  # "less of a one-way style" has no prompt of its own
                continue
            label = item.get("label") or ("up" if item["direction"] > 0 else "down")
            out.append(AttributeTarget(f"{attr.name}:{label}", pos, neg, float(item.get("confidence", 1.0))))
        return out

    return run


class PromptAlignment(nn.Module):
    """``L_align`` of eq. 6 with a frozen CLIP; ``forward(x̂ (B, 3, H, W) in [0,1], instructions)``."""

    def __init__(self, clip: ClipParts, tau: float = 0.07, planner: Callable[[str], list[AttributeTarget]] | None = None):
        super().__init__()
        self.clip = clip
        self.model = clip.model.requires_grad_(False).eval()
        self.tau = tau
        self.planner = planner or _shared_plan()
        self.register_buffer("mean", torch.tensor(clip.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(clip.std).view(1, 3, 1, 1), persistent=False)
        self._text_cache: dict[str, torch.Tensor] = {}
        self._plan_cache: dict[str, list[AttributeTarget]] = {}

    def image_embedding(self, x: torch.Tensor) -> torch.Tensor:
        s = self.clip.image_size
        x = F.interpolate(x.float(), size=(s, s), mode="bilinear", antialias=True, align_corners=False)
        out = self.model.get_image_features(pixel_values=(x - self.mean) / self.std)
        return out if isinstance(out, torch.Tensor) else out.pooler_output

    @torch.no_grad()
    def text_embedding(self, prompts: list[str]) -> torch.Tensor:
        missing = [p for p in dict.fromkeys(prompts) if p not in self._text_cache]
        if missing:
            tok = self.clip.tokenizer(missing, padding="max_length", truncation=True,
                                      max_length=self.clip.tokenizer.model_max_length, return_tensors="pt")
            out = self.model.get_text_features(input_ids=tok.input_ids.to(self.mean.device))
            emb = out if isinstance(out, torch.Tensor) else out.pooler_output
            for p, e in zip(missing, emb):
                self._text_cache[p] = e.float()
        return torch.stack([self._text_cache[p] for p in prompts])

    def targets(self, instructions: list[str]) -> list[list[AttributeTarget]]:
        out = []
        for text in instructions:
            if text not in self._plan_cache:
                self._plan_cache[text] = self.planner(text)
            out.append(self._plan_cache[text])
        return out

    def forward(self, x_hat: torch.Tensor, instructions: list[str]) -> torch.Tensor:
        targets = self.targets(instructions)
        b, a = len(targets), max((len(t) for t in targets), default=0)
        if a == 0:
            return x_hat.sum() * 0.0
        pos, neg = [], []
        weights = torch.zeros(b, a, device=x_hat.device)
        mask = torch.zeros(b, a, dtype=torch.bool, device=x_hat.device)
        for i, attrs in enumerate(targets):
            for j in range(a):
                attr = attrs[j] if j < len(attrs) else None
                pos.append(attr.positive if attr else "")
                neg.append(attr.negative if attr else "")
                if attr:
                    weights[i, j] = attr.confidence
                    mask[i, j] = True
        pos_emb = self.text_embedding(pos).view(b, a, -1)
        neg_emb = self.text_embedding(neg).view(b, a, -1)
        return alignment_loss(self.image_embedding(x_hat), pos_emb, neg_emb, weights, mask, self.tau)
