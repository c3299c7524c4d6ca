"""The one-step bilateral generator ``G_θ`` (paper §3.3).

Low-resolution branch: frozen VAE encoder ``E_θ`` -> image latent ``c_I``; one-step UNet ``ε_θ``
(initialised from the teacher) denoises pure noise ``z_tmax`` at ``t_max`` (eq. 2) to ``ẑ0``.
A light **bilateral adapter** reads the UNet's features (mid block + last up block, captured
with forward hooks) together with ``ẑ0`` and ``c_I`` and predicts the grid ``Γ (B, 12, D, Gh, Gw)``
and the guidance curves. Its output layers start at zero, so an untrained adapter is the identity
grid with luminance guidance: content is kept by construction.

Full-resolution branch: :func:`model.grid.bilateral_apply` with the predicted guidance, at any size.
The VAE decoder is used only in training (``decode``) to give the low-res image ``x̂``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from torch import nn

from retouch_studio.model.grid.ops import GRID_CHANNELS, LUMA_709, bilateral_apply, check_image, guidance_map
from retouch_studio.model.paper.config import NetConfig, PaperConfig, PaperError
from retouch_studio.model.paper.nets import freeze

ADAPTER_FILE = "adapter.safetensors"


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    h, w = x.shape[-2:]
    if (h, w) == tuple(size):
        return x
    if h % size[0] == 0 and w % size[1] == 0:
        return F.adaptive_avg_pool2d(x, size)  # exact box filter; exports as AveragePool
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@dataclass
class StudentOutput:
    """z0: ``(B, 4, h, w)`` ẑ0 (eq. 2); grid ``(B, 12, D, Gh, Gw)``; curves ``(B, 3, K+1)``;
    mix ``(B, 3)``; bias ``(B,)``; image_latent ``c_I`` ``(B, 4, h, w)``."""

    z0: torch.Tensor
    grid: torch.Tensor
    curves: torch.Tensor
    mix: torch.Tensor
    bias: torch.Tensor
    image_latent: torch.Tensor


class BilateralAdapter(nn.Module):
    """UNet features -> bilateral grid + guidance curves (identity at initialisation)."""

    def __init__(self, mid_channels: int, up_channels: int, latent_channels: int, net: NetConfig):
        super().__init__()
        hid = net.adapter_hidden
        self.grid_shape = (net.grid_depth, net.grid_height, net.grid_width)
        self.knots = net.guidance_knots
        self.in_mid = nn.Conv2d(mid_channels, hid, 1)
        self.in_up = nn.Conv2d(up_channels, hid, 1)
        self.in_latent = nn.Conv2d(2 * latent_channels, hid, 1)
        self.body = nn.Sequential(
            nn.GroupNorm(_groups(3 * hid), 3 * hid),
            nn.SiLU(),
            nn.Conv2d(3 * hid, hid, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(hid, hid, 3, padding=1),
            nn.SiLU(),
        )
        self.to_grid = nn.Conv2d(hid, GRID_CHANNELS * net.grid_depth, 1)
        self.to_guidance = nn.Linear(hid, 3 * (self.knots + 1) + 3 + 1)
        for layer in (self.to_grid, self.to_guidance):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        eye = torch.zeros(GRID_CHANNELS)
        eye[[0, 5, 10]] = 1.0
        self.register_buffer("identity", eye.view(1, GRID_CHANNELS, 1, 1, 1), persistent=False)
        line = torch.linspace(0.0, 1.0, self.knots + 1)
        self.register_buffer("base_curves", line.expand(3, -1).clone(), persistent=False)
        self.register_buffer("base_mix", torch.tensor(LUMA_709), persistent=False)

    def forward(self, mid: torch.Tensor, up: torch.Tensor, z0: torch.Tensor, image_latent: torch.Tensor):
        d, gh, gw = self.grid_shape
        size = (gh, gw)
        h = torch.cat(
            [
                _resize(self.in_mid(mid), size),
                _resize(self.in_up(up), size),
                _resize(self.in_latent(torch.cat([z0, image_latent], 1)), size),
            ],
            1,
        )
        h = self.body(h)
        b = h.shape[0]
        grid = self.identity + self.to_grid(h).view(b, GRID_CHANNELS, d, gh, gw)
        g = self.to_guidance(h.mean((2, 3)))
        k1 = self.knots + 1
        curves = self.base_curves + g[:, : 3 * k1].view(b, 3, k1)
        mix = self.base_mix + g[:, 3 * k1 : 3 * k1 + 3]
        bias = g[:, -1]
        return grid, curves, mix, bias


def _groups(channels: int) -> int:
    for g in (32, 16, 8, 4, 2):
        if channels % g == 0:
            return g
    return 1


class Student(nn.Module):
    """``G_θ``. Inputs are sRGB in ``[0, 1]``; the low-res branch sees ``(B, 3, P, P)`` proxies."""

    def __init__(
        self,
        vae: AutoencoderKL,
        unet: UNet2DConditionModel,
        scheduler: DDPMScheduler,
        net: NetConfig,
        adapter: BilateralAdapter | None = None,
    ):
        super().__init__()
        self.net = net
        self.vae = freeze(vae)
        self.unet = unet
        blocks = unet.config.block_out_channels
        self.adapter = adapter or BilateralAdapter(blocks[-1], blocks[0], unet.config.out_channels, net)
        acp = scheduler.alphas_cumprod[net.t_max].float()
        self.register_buffer("alpha_tmax", acp.sqrt(), persistent=False)
        self.register_buffer("beta_tmax", (1 - acp).sqrt(), persistent=False)
        self.scaling_factor = float(vae.config.scaling_factor)
        self._features: dict[str, torch.Tensor] = {}
        features = self._features
        unet.mid_block.register_forward_hook(lambda m, i, o: features.__setitem__("mid", o))
        unet.up_blocks[-1].register_forward_hook(lambda m, i, o: features.__setitem__("up", o))

    def train(self, mode: bool = True) -> "Student":
        super().train(mode)
        self.vae.eval()  # frozen, always in inference mode
        return self

    @property
    def latent_size(self) -> int:
        return self.net.proxy_size // (2 ** (len(self.vae.config.block_out_channels) - 1))

    def noise(self, batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """``z_tmax ~ N(0, I)`` of shape ``(batch, 4, h, w)``."""
        s = self.latent_size
        return torch.randn(batch, self.unet.config.out_channels, s, s, generator=generator, device=device)

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        """``c_I = E_θ(x)``: the InstructPix2Pix image conditioning (unscaled latent mode)."""
        return self.vae.encode(x * 2.0 - 1.0).latent_dist.mode()

    def decode(self, z0: torch.Tensor) -> torch.Tensor:
        """Training only: ``x̂ = D_θ(ẑ0)`` in ``[0, 1]`` scale (not clamped, so gradients flow)."""
        return (self.vae.decode(z0 / self.scaling_factor).sample + 1.0) * 0.5

    def forward(self, x: torch.Tensor, text_embedding: torch.Tensor, noise: torch.Tensor) -> StudentOutput:
        """x ``(B, 3, P, P)``; text_embedding ``(B, L, C)``; noise ``(B, 4, P/f, P/f)``."""
        check_image(x, "proxy")
        p = self.net.proxy_size
        if x.shape[-2:] != (p, p):
            raise ValueError(f"proxy must be {p}x{p}, got {tuple(x.shape[-2:])}")
        image_latent = self.encode_image(x)
        if noise.shape != image_latent.shape:
            raise ValueError(f"noise must be {tuple(image_latent.shape)}, got {tuple(noise.shape)}")
        t = torch.full((x.shape[0],), self.net.t_max, dtype=torch.long, device=x.device)
        self._features.clear()
        eps = self.unet(torch.cat([noise, image_latent], 1), t, encoder_hidden_states=text_embedding).sample
        z0 = (noise - self.beta_tmax * eps) / self.alpha_tmax  # eq. 2
        grid, curves, mix, bias = self.adapter(
            self._features["mid"], self._features["up"], z0.float(), image_latent.float()
        )
        return StudentOutput(z0, grid.float(), curves.float(), mix.float(), bias.float(), image_latent)

    @staticmethod
    def render(out: StudentOutput, rgb: torch.Tensor) -> torch.Tensor:
        """Full-resolution branch ``x̂_B``: slice Γ with the predicted guidance and apply to rgb."""
        guide = guidance_map(rgb, out.curves, out.mix, out.bias)
        return bilateral_apply(out.grid, rgb, guide)

    # ----------------------------------------------------------------------------------------

    def save(self, folder: str | Path, config: PaperConfig) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.unet.save_pretrained(folder / "unet")
        self.vae.save_pretrained(folder / "vae")
        save_file({k: v.detach().contiguous().cpu() for k, v in self.adapter.state_dict().items()},
                  str(folder / ADAPTER_FILE))
        config.save(folder)

    @staticmethod
    def load(folder: str | Path, scheduler: DDPMScheduler) -> tuple["Student", PaperConfig]:
        folder = Path(folder)
        config = PaperConfig.load(folder)
        for need in ("unet", "vae", ADAPTER_FILE):
            if not (folder / need).exists():
                raise PaperError(f"student folder {folder} lacks {need}")
        unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", local_files_only=True)
        vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", local_files_only=True)
        student = Student(vae, unet, scheduler, config.net)
        student.adapter.load_state_dict(load_file(str(folder / ADAPTER_FILE)))
        return student, config
