"""ONNX export of the student's inference graph and the model folder the runtime loads.

Model folder (``config.json`` ``"engine": "paper"``)::

    generator.onnx     image (1, 3, P, P) in [0, 1], text_embedding (1, L, C), noise (1, 4, h, w)
                       -> grid (1, 12, D, Gh, Gw), curves (1, 3, K+1), mix (1, 3), bias (1,)
                       = frozen VAE encoder + one-step UNet (eq. 2) + bilateral adapter
    text_encoder.onnx  input_ids (1, L) int64 -> text_embedding (1, L, C)   (CLIP text encoder)
    tokenizer/         the CLIP tokenizer
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from retouch_studio.model.atomic import write_atomic
from retouch_studio.model.paper.config import PaperConfig
from retouch_studio.model.paper.nets import DiffusionParts
from retouch_studio.model.paper.student import Student

FORMAT_VERSION = 1
GENERATOR_FILE = "generator.onnx"
TEXT_ENCODER_FILE = "text_encoder.onnx"
OPSET = 17


class InferenceGraph(nn.Module):
    """What runs at inference: proxy + text embedding + fixed noise -> grid and guidance."""

    def __init__(self, student: Student):
        super().__init__()
        self.student = student

    def forward(self, image: torch.Tensor, text_embedding: torch.Tensor, noise: torch.Tensor):
        out = self.student(image, text_embedding, noise)
        return out.grid, out.curves, out.mix, out.bias


class TextGraph(nn.Module):
    def __init__(self, text_encoder: nn.Module):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids: torch.Tensor):
        return self.text_encoder(input_ids).last_hidden_state


def _add_metadata(path: Path, meta: dict) -> None:
    # Real-size UNets exceed protobuf's 2 GB and are written with external data: leave it in place.
    model = onnx.load(str(path), load_external_data=False)
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, json.dumps(v)
    onnx.save(model, str(path))


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python asserts in diffusers blocks
        torch.onnx.export(
            module, args, str(path), input_names=inputs, output_names=outputs, opset_version=OPSET,
            dynamo=False, do_constant_folding=True,
        )


@torch.no_grad()
def export_model_folder(student: Student, parts: DiffusionParts, config: PaperConfig, out: str | Path,
                        model_id: str | None = None) -> Path:
    """Export ONNX graphs + tokenizer + ``config.json`` into ``out`` (weights as currently loaded)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    net = config.net
    device = next(student.parameters()).device
    was_training = student.training
    student.eval()
    student_cpu = student.float().cpu()
    text = parts.text_encoder.float().cpu().eval()
    p, tokens = net.proxy_size, parts.tokenizer.model_max_length
    ids = parts.tokenizer([""], padding="max_length", max_length=tokens, return_tensors="pt").input_ids
    emb = text(ids).last_hidden_state
    noise = student_cpu.noise(1)
    meta = {
        "format_version": FORMAT_VERSION,
        "grid_shape": [net.grid_depth, net.grid_height, net.grid_width],
        "proxy_size": p,
    }
    _export(InferenceGraph(student_cpu), (torch.rand(1, 3, p, p), emb, noise), out / GENERATOR_FILE,
            ["image", "text_embedding", "noise"], ["grid", "curves", "mix", "bias"])
    _add_metadata(out / GENERATOR_FILE, meta)
    _export(TextGraph(text), (ids,), out / TEXT_ENCODER_FILE, ["input_ids"], ["text_embedding"])
    parts.tokenizer.save_pretrained(out / "tokenizer")
    cfg = {
        "engine": "paper",
        "model_id": model_id or f"paper-{out.name}",
        "format_version": FORMAT_VERSION,
        "generator": GENERATOR_FILE,
        "text_encoder": TEXT_ENCODER_FILE,
        "tokenizer": "tokenizer",
        "proxy_size": p,
        "latent_shape": list(noise.shape[1:]),
        "max_text_tokens": tokens,
        "grid_shape": meta["grid_shape"],
        "guidance_knots": net.guidance_knots,
        "noise_seed": net.noise_seed,
        "tiny": net.tiny,
    }
    write_atomic(out / "config.json", json.dumps(cfg, indent=2), overwrite=True)
    student.to(device).train(was_training)
    parts.text_encoder.to(device)
    return out
