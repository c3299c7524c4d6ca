"""Every loss of the paper (eqs. 1, 3-8) as plain functions with shapes in their docstrings.

Noise-level convention (DDPM / Stable Diffusion): ``z_t = α_t z_0 + β_t ε`` with
``α_t = sqrt(ᾱ_t)``, ``β_t = sqrt(1 - ᾱ_t)`` from the scheduler's ``alphas_cumprod``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from retouch_studio.model.grid.ops import gamut_penalty, grid_laplacian

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z_t, t) -> ε prediction


def alpha_beta(alphas_cumprod: torch.Tensor, t: torch.Tensor, like: torch.Tensor):
    """``(α_t, β_t)`` broadcastable to ``like`` (B, C, H, W); t ``(B,)`` long."""
    acp = alphas_cumprod.to(like.device, torch.float32)[t].view(-1, *([1] * (like.dim() - 1)))
    return acp.sqrt().to(like.dtype), (1.0 - acp).sqrt().to(like.dtype)


def diffusion_loss(eps_pred: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Eqs. 1 and 4: ``||ε - ε_net(z_t, t, c_I, c_T)||²`` (mean over all elements)."""
    return F.mse_loss(eps_pred.float(), eps.float())


# --------------------------------------------------------------------------------------------
# Variational score distillation (eq. 3) and its regulariser (eq. 4)
# --------------------------------------------------------------------------------------------


def vsd_surrogate(z0: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """A scalar whose gradient w.r.t. the generator is ``mean_b grad_b · ∂ẑ0_b/∂θ`` (eq. 3).

    ``0.5 ||ẑ0 - sg(ẑ0 - g)||² / B`` has ``∂/∂ẑ0 = g / B``; its value, ``0.5 ||g||² / B``, is a
    useful thing to log. z0, grad: ``(B, C, h, w)``.
    """
    target = (z0 - grad).detach()
    return 0.5 * F.mse_loss(z0.float(), target.float(), reduction="sum") / z0.shape[0]


def vsd_weight(
    z0: torch.Tensor, z_t: torch.Tensor, eps_real: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor,
    mode: str = "dmd",
) -> torch.Tensor:
    """``ω(t)``, ``(B, 1, 1, 1)``.

    "dmd": ``(β_t/α_t) / mean|ẑ0 - x̂0_real|`` - DMD's normalisation written in ε form (DMD's
    ``(x0_fake - x0_real) / mean|z0 - x0_real|`` equals ``ω (ε_real - ε_fake)`` with this ω).
    "uniform": 1.
    """
    if mode == "uniform":
        return torch.ones_like(alpha)
    if mode != "dmd":
        raise ValueError(f"unknown VSD weighting {mode!r} (use 'dmd' or 'uniform')")
    x0_real = (z_t - beta * eps_real) / alpha
    norm = (z0.detach() - x0_real).abs().mean(dim=tuple(range(1, z0.dim())), keepdim=True)
    return (beta / alpha) / norm.clamp_min(1e-5)


def vsd_loss(
    z0: torch.Tensor,
    t: torch.Tensor,
    teacher: EpsFn,
    regulariser: EpsFn,
    alphas_cumprod: torch.Tensor,
    *,
    noise: torch.Tensor | None = None,
    weighting: str = "dmd",
) -> tuple[torch.Tensor, dict]:
    """Latent VSD (eq. 3): noise ẑ0 to ``ẑ_t``, score it with teacher ``ε_φ`` and regulariser
    ``ε_φ'`` (no gradients through either), and return the surrogate whose gradient is
    ``E[ω(t) (ε_φ(ẑ_t) - ε_φ'(ẑ_t)) ∂ẑ0/∂θ]``. Also returns ``z_t``/``noise`` for eq. 4.
    """
    noise = torch.randn_like(z0) if noise is None else noise
    alpha, beta = alpha_beta(alphas_cumprod, t, z0)
    z_t = alpha * z0.detach() + beta * noise
    with torch.no_grad():
        eps_real = teacher(z_t, t).float()
        eps_fake = regulariser(z_t, t).float()
        w = vsd_weight(z0.float(), z_t.float(), eps_real, alpha.float(), beta.float(), weighting)
        grad = torch.nan_to_num(w * (eps_real - eps_fake))
    return vsd_surrogate(z0, grad), {"z_t": z_t, "noise": noise, "grad": grad}


def regulariser_loss(regulariser: EpsFn, z_t: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Eq. 4: ``||ε_φ'(ẑ_t, t, c_I, c_T) - ε||²`` on the generator's own (detached) samples."""
    return diffusion_loss(regulariser(z_t.detach(), t), noise)


class ProgressiveTimesteps:
    """Progressive VSD schedule: ``t ~ U[t_hi, t_max]`` with ``t_hi`` lowered in phases.

    phases: ``[(start_fraction, t_hi), ...]`` sorted by start; the paper's three-phase curriculum
    is coarse tone (high t), instruction alignment (mid t), fine colour (low t).
    """

    def __init__(self, phases: Sequence[Sequence[float]], t_max: int):
        self.phases = sorted((float(f), int(t)) for f, t in phases)
        if not self.phases or self.phases[0][0] > 0.0:
            raise ValueError("the first phase must start at fraction 0")
        if any(not 0 <= t <= t_max for _, t in self.phases):
            raise ValueError(f"every t_hi must lie in [0, {t_max}]")
        self.t_max = t_max

    def t_hi(self, progress: float) -> int:
        current = self.phases[0][1]
        for start, t_hi in self.phases:
            if progress >= start:
                current = t_hi
        return current

    def sample(self, batch: int, progress: float, device=None, generator=None) -> torch.Tensor:
        lo = self.t_hi(progress)
        return torch.randint(lo, self.t_max + 1, (batch,), device=device, generator=generator)


# --------------------------------------------------------------------------------------------
# Prompt alignment (eqs. 5-6)
# --------------------------------------------------------------------------------------------


def info_nce(s_pos: torch.Tensor, s_neg: torch.Tensor, tau: float) -> torch.Tensor:
    """Eq. 5: ``-log(exp(s+/τ) / (exp(s+/τ) + exp(s-/τ)))`` = ``softplus((s- - s+)/τ)``, elementwise."""
    return F.softplus((s_neg - s_pos) / tau)


def alignment_loss(
    image_emb: torch.Tensor,
    pos_emb: torch.Tensor,
    neg_emb: torch.Tensor,
    weights: torch.Tensor,
    mask: torch.Tensor,
    tau: float = 0.07,
) -> torch.Tensor:
    """Eq. 6 averaged over the batch.

    image_emb ``(B, E)``; pos_emb / neg_emb ``(B, A, E)`` text embeddings of each attribute's
    positive / negative prompt; weights ``(B, A)`` matcher confidences ``w_a``; mask ``(B, A)``
    bool, which of the A slots are real attributes. Embeddings need not be normalised (cosine
    similarity is used). Samples with no attribute contribute nothing; returns 0 if none has one.
    """
    img = F.normalize(image_emb.float(), dim=-1).unsqueeze(1)
    s_pos = (img * F.normalize(pos_emb.float(), dim=-1)).sum(-1)
    s_neg = (img * F.normalize(neg_emb.float(), dim=-1)).sum(-1)
    per = info_nce(s_pos, s_neg, tau) * weights.float() * mask.float()
    count = mask.float().sum(1)
    has = count > 0
    if not bool(has.any()):
        return image_emb.sum() * 0.0
    return (per.sum(1)[has] / count[has]).mean()


# --------------------------------------------------------------------------------------------
# Perceptual distance (the LPIPS terms of eqs. 7-8)
# --------------------------------------------------------------------------------------------


class FeatureLPIPS(nn.Module):
    """LPIPS-form distance on a frozen feature pyramid.

    ``d(x, y) = Σ_l mean_hw Σ_c (n(f_l(x)) - n(f_l(y)))² / C_l`` with ``n`` = unit norm over channels
    (LPIPS with uniform channel weights). The features are the frozen VAE encoder's levels:
    LPIPS's calibrated AlexNet/VGG weights cannot be fetched offline, and the SD encoder is a
    strong, always-available image feature extractor. x, y: ``(B, 3, H, W)`` in ``[0, 1]``.
    """

    def __init__(self, vae_encoder: nn.Module):
        super().__init__()
        self.encoder = vae_encoder  # shared, frozen elsewhere; not trained through this loss

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        enc = self.encoder
        h = enc.conv_in(x * 2.0 - 1.0)
        feats = [h]
        for block in enc.down_blocks:
            h = block(h)
            feats.append(h)
        return feats

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        dist = x.new_zeros(())
        for fx, fy in zip(self.features(x), self.features(y)):
            nx = fx / (fx.float().pow(2).sum(1, keepdim=True).sqrt() + 1e-8)
            ny = fy / (fy.float().pow(2).sum(1, keepdim=True).sqrt() + 1e-8)
            dist = dist + (nx - ny).float().pow(2).sum(1).mean()
        return dist


def data_loss(x_hat: torch.Tensor, x_star: torch.Tensor, lpips: FeatureLPIPS, lambda_lpips: float) -> torch.Tensor:
    """Eq. 7: ``||x̂ - x*||² + λ LPIPS(x̂, x*)`` at the proxy resolution."""
    loss = F.mse_loss(x_hat.float(), x_star.float())
    if lambda_lpips:
        loss = loss + lambda_lpips * lpips(x_hat, x_star)
    return loss


def bilateral_loss(
    x_b: torch.Tensor,
    x_star: torch.Tensor,
    x_hat: torch.Tensor,
    grid: torch.Tensor,
    lpips: FeatureLPIPS,
    lambdas: Sequence[float],
) -> tuple[torch.Tensor, dict]:
    """Eq. 8: ``λ1||x̂_B - x*||₁ + λ2 LPIPS(x̂_B, x*) + λ3 LPIPS(x̂_B, x̂) + λ4||Δ³Γ||² + λ5 Ψ(x̂_B)``.

    x_b, x_star: full-res ``(B, 3, H, W)``; x_hat: low-res ``(B, 3, P, P)``; grid ``(B, 12, D, Gh, Gw)``.
    The LPIPS terms are computed at the proxy resolution (x̂_B is area-downsampled) to bound
    cost at high resolution; the agreement term treats x̂ as a target (detached), so it trains
    the bilateral branch towards the diffusion branch, not the other way round.
    """
    l1, l2, l3, l4, l5 = lambdas
    small = F.interpolate(x_b, size=x_hat.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
    star_small = F.interpolate(x_star, size=x_hat.shape[-2:], mode="bilinear", antialias=True, align_corners=False)
    parts = {
        "l1": F.l1_loss(x_b.float(), x_star.float()),
        "lpips_gt": lpips(small, star_small) if l2 else x_b.new_zeros(()),
        "lpips_lowres": lpips(small, x_hat.detach()) if l3 else x_b.new_zeros(()),
        "laplacian": grid_laplacian(grid.float()),
        "gamut": gamut_penalty(x_b.float()),
    }
    total = l1 * parts["l1"] + l2 * parts["lpips_gt"] + l3 * parts["lpips_lowres"]
    total = total + l4 * parts["laplacian"] + l5 * parts["gamut"]
    return total, parts
