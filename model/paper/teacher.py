"""The multi-step teacher ``ε_φ`` (paper §3.2): InstructPix2Pix-style editing diffusion (eq. 1)."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import DDIMScheduler

from retouch_studio.model.paper.config import PaperConfig, PaperError
from retouch_studio.model.paper.data import TripletDataset
from retouch_studio.model.paper.losses import diffusion_loss
from retouch_studio.model.paper.nets import DiffusionParts, encode_text, freeze, load_parts, save_parts, tiny_parts
from retouch_studio.model.paper.training import EMA, Precision, TrainLog, batches, named_trainable, pick_device


def unet_eps(unet, z_t: torch.Tensor, t: torch.Tensor, image_latent: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """``ε(z_t, t, c_I, c_T)`` with the InstructPix2Pix channel concatenation."""
    return unet(torch.cat([z_t, image_latent.to(z_t.dtype)], 1), t, encoder_hidden_states=text).sample


def teacher_loss(
    parts: DiffusionParts,
    x: torch.Tensor,
    x_star: torch.Tensor,
    instructions: list[str],
    cond_dropout: float = 0.05,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Eq. 1 for one batch. x, x_star: ``(B, 3, P, P)`` in [0, 1].

    Conditioning dropout as in InstructPix2Pix (text dropped for ``r < 2p``, image latent for
    ``p <= r < 3p``) so classifier-free guidance works at sampling time.
    """
    vae, sf = parts.vae, parts.scaling_factor
    b = x.shape[0]
    with torch.no_grad():
        z0 = vae.encode(x_star * 2 - 1).latent_dist.sample(generator) * sf
        c_img = vae.encode(x * 2 - 1).latent_dist.mode()
        c_txt = encode_text(parts, instructions)
        if cond_dropout > 0:
            r = torch.rand(b, device=x.device, generator=generator)
            empty = encode_text(parts, [""]).expand_as(c_txt)
            drop_text = (r < 2 * cond_dropout).view(b, 1, 1)
            c_txt = torch.where(drop_text, empty, c_txt)
            keep_img = ~((r >= cond_dropout) & (r < 3 * cond_dropout))
            c_img = c_img * keep_img.view(b, 1, 1, 1).to(c_img.dtype)
    t = torch.randint(0, parts.scheduler.config.num_train_timesteps, (b,), device=x.device, generator=generator)
    eps = torch.randn(z0.shape, device=z0.device, generator=generator)
    z_t = parts.scheduler.add_noise(z0, eps, t)
    return diffusion_loss(unet_eps(parts.unet, z_t, t, c_img, c_txt), eps)


@torch.no_grad()
def teacher_edit(
    parts: DiffusionParts,
    x: torch.Tensor,
    instruction: str,
    steps: int = 20,
    text_cfg: float = 7.5,
    image_cfg: float = 1.5,
    seed: int = 0,
) -> torch.Tensor:
    """Multi-step InstructPix2Pix sampling (DDIM, dual classifier-free guidance); x ``(1, 3, P, P)``."""
    sched = DDIMScheduler.from_config(parts.scheduler.config)
    sched.set_timesteps(steps, device=x.device)
    c_img = parts.vae.encode(x * 2 - 1).latent_dist.mode()
    cond, empty = encode_text(parts, [instruction]), encode_text(parts, [""])
    gen = torch.Generator(device=x.device).manual_seed(seed)
    z = torch.randn(c_img.shape, generator=gen, device=x.device) * sched.init_noise_sigma
    for t in sched.timesteps:
        zz = torch.cat([z] * 3)
        e_full, e_img, e_none = unet_eps(
            parts.unet, zz, t.expand(3), torch.cat([c_img, c_img, torch.zeros_like(c_img)]),
            torch.cat([cond, empty, empty]),
        ).chunk(3)
        eps = e_none + image_cfg * (e_img - e_none) + text_cfg * (e_full - e_img)
        z = sched.step(eps, t, z).prev_sample
    return ((parts.vae.decode(z / parts.scaling_factor).sample + 1) * 0.5).clamp(0, 1)


def train_teacher(
    data: str | Path,
    out: str | Path,
    max_steps: int,
    *,
    tiny: bool = False,
    base: str | Path | None = None,
    config: PaperConfig | None = None,
    save_every: int | None = None,
    echo=print,
) -> Path:
    """Fine-tune the teacher UNet on triplets with eq. 1 (VAE and text encoder frozen)."""
    out = Path(out)
    cfg = config or (PaperConfig.tiny() if tiny else PaperConfig())
    if save_every is not None:
        cfg.train.save_every = save_every
    if tiny:
        parts = tiny_parts(cfg.net, cfg.train.seed)
    elif base is None:
        raise PaperError("a real teacher run needs --base PATH (a local diffusers folder); use --tiny for a smoke run")
    else:
        parts = load_parts(base)
    dataset = TripletDataset(data, cfg.net.proxy_size)
    device = pick_device()
    prec = Precision(device, cfg.train.mixed_precision)
    torch.manual_seed(cfg.train.seed)
    freeze(parts.vae).to(device)
    freeze(parts.text_encoder).to(device)
    unet = parts.unet.to(device).train()
    if cfg.train.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    params = [p for p in unet.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    ema = EMA(named_trainable("unet", unet), cfg.train.ema_decay)
    logger = TrainLog(echo=echo)
    it = batches(dataset, cfg.train.batch_size, cfg.train.seed, device, cfg.train.num_workers)
    for step in range(1, max_steps + 1):
        x, xs, texts = next(it)
        with prec.autocast():
            loss = teacher_loss(parts, x, xs, texts, cfg.train.cond_dropout)
        norm = prec.step(loss, opt, params, cfg.train.grad_clip)
        ema.update()
        logger.add(step, loss=loss.item(), grad_norm=norm)
        if cfg.train.save_every and step % cfg.train.save_every == 0 and step < max_steps:
            _save_teacher(parts, ema, cfg, logger, out / f"checkpoint-{step}")
    _save_teacher(parts, ema, cfg, logger, out)
    return out


def _save_teacher(parts: DiffusionParts, ema: EMA, cfg: PaperConfig, logger: TrainLog, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with ema.applied():
        save_parts(parts, folder)
    cfg.save(folder)
    logger.save(folder)
