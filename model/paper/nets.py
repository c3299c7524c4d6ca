"""Build (tiny, random) or load (local diffusers / CLIP folders) the networks of the paper model.

A *diffusion folder* has the diffusers / instruct-pix2pix layout: ``unet/``, ``vae/``,
``text_encoder/``, ``tokenizer/``, ``scheduler/``. A Stable Diffusion folder (4-channel UNet) is
accepted too: its UNet is widened to 8 input channels with zero weights for the image latent,
exactly as InstructPix2Pix initialises its model. Nothing is ever downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from torch import nn
from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from retouch_studio.model.paper.config import NetConfig, PaperError
from retouch_studio.model.paper.tokenizer import build_tiny_tokenizer, load_tokenizer

SUBFOLDERS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


@dataclass
class DiffusionParts:
    """The InstructPix2Pix-style pieces: ``unet`` takes 8 channels (noisy latent + image latent)."""

    unet: UNet2DConditionModel
    vae: AutoencoderKL
    text_encoder: CLIPTextModel
    tokenizer: CLIPTokenizer
    scheduler: DDPMScheduler

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)


def _scheduler() -> DDPMScheduler:
    # Stable Diffusion's training schedule.
    return DDPMScheduler(
        num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012
    )


def tiny_parts(net: NetConfig, seed: int = 0) -> DiffusionParts:
    """Random tiny networks with the real classes (seeded, so every stage rebuilds the same ones)."""
    torch.manual_seed(seed)
    tok = build_tiny_tokenizer(net.max_text_tokens)
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=net.max_text_tokens,
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
            projection_dim=32,
        )
    )
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(8, 16, 16), sample_size=net.proxy_size,
    )
    latent = net.proxy_size // 4
    unet = UNet2DConditionModel(
        sample_size=latent, in_channels=8, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
        attention_head_dim=8, norm_num_groups=8,
    )
    return DiffusionParts(unet, vae, text, tok, _scheduler())


def widen_unet_input(unet: UNet2DConditionModel, channels: int = 8) -> UNet2DConditionModel:
    """InstructPix2Pix init: extra input channels (the image latent) start with zero weights."""
    old = unet.conv_in
    if old.in_channels == channels:
        return unet
    if old.in_channels > channels:
        raise PaperError(f"UNet has {old.in_channels} input channels, expected <= {channels}")
    new = nn.Conv2d(channels, old.out_channels, old.kernel_size, old.stride, old.padding)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, : old.in_channels] = old.weight
        new.bias.copy_(old.bias)
    unet.conv_in = new
    unet.register_to_config(in_channels=channels)
    return unet


def load_parts(folder: str | Path) -> DiffusionParts:
    """Load a local diffusers folder; a missing folder or sub-folder is a :class:`PaperError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PaperError(f"diffusion folder {folder} does not exist")
    missing = [s for s in SUBFOLDERS if not (folder / s).is_dir()]
    if missing:
        raise PaperError(
            f"diffusion folder {folder} lacks {', '.join(m + '/' for m in missing)} (a diffusers layout needs "
            f"{', '.join(SUBFOLDERS)})"
        )
    try:
        unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", local_files_only=True)
        vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", local_files_only=True)
        text = CLIPTextModel.from_pretrained(folder / "text_encoder", local_files_only=True)
        tok = load_tokenizer(folder / "tokenizer")
        sched = DDPMScheduler.from_pretrained(folder, subfolder="scheduler", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise PaperError(f"{folder}: cannot load diffusion model ({exc})") from exc
    if sched.config.prediction_type != "epsilon":
        raise PaperError(f"{folder}: scheduler predicts {sched.config.prediction_type!r}; eqs. 1-4 need 'epsilon'")
    return DiffusionParts(widen_unet_input(unet), vae, text, tok, sched)


def save_parts(parts: DiffusionParts, folder: str | Path, unet: UNet2DConditionModel | None = None) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (unet or parts.unet).save_pretrained(folder / "unet")
    parts.vae.save_pretrained(folder / "vae")
    parts.text_encoder.save_pretrained(folder / "text_encoder")
    parts.tokenizer.save_pretrained(folder / "tokenizer")
    parts.scheduler.save_pretrained(folder / "scheduler")


def freeze(module: nn.Module) -> nn.Module:
    module.requires_grad_(False)
    module.eval()
    return module


def encode_text(parts: DiffusionParts, texts: list[str], device=None) -> torch.Tensor:
    """CLIP text conditioning ``c_T``: ``(B, L, C)`` last hidden states."""
    tok = parts.tokenizer(
        list(texts), padding="max_length", max_length=parts.tokenizer.model_max_length,
        truncation=True, return_tensors="pt",
    )
    ids = tok.input_ids.to(device or parts.text_encoder.device)
    return parts.text_encoder(ids).last_hidden_state


# --------------------------------------------------------------------------------------------
# CLIP for the prompt alignment loss (eqs. 5-6)
# --------------------------------------------------------------------------------------------


@dataclass
class ClipParts:
    model: CLIPModel
    tokenizer: CLIPTokenizer
    image_size: int
    mean: tuple = (0.48145466, 0.4578275, 0.40821073)
    std: tuple = (0.26862954, 0.26130258, 0.27577711)


def tiny_clip(tokenizer: CLIPTokenizer, seed: int = 1) -> ClipParts:
    torch.manual_seed(seed)
    cfg = CLIPConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
            num_attention_heads=4, max_position_embeddings=tokenizer.model_max_length,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
            image_size=32, patch_size=8,
        ),
        projection_dim=16,
    )
    return ClipParts(CLIPModel(cfg), tokenizer, 32)


def load_clip(folder: str | Path) -> ClipParts:
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise PaperError(f"CLIP folder {folder} does not exist or has no config.json")
    try:
        model = CLIPModel.from_pretrained(folder, local_files_only=True)
        tok = load_tokenizer(folder)
    except (OSError, ValueError) as exc:
        raise PaperError(f"{folder}: cannot load CLIP ({exc})") from exc
    mean, std = ClipParts.mean, ClipParts.std
    pre = folder / "preprocessor_config.json"
    if pre.is_file():
        import json

        cfg = json.loads(pre.read_text())
        mean, std = tuple(cfg.get("image_mean", mean)), tuple(cfg.get("image_std", std))
    return ClipParts(model, tok, int(model.config.vision_config.image_size), mean, std)
