"""One-step bilateral distillation (paper §3.4): stage 1 (eq. 9) and stage 2 (eq. 10).

Trained: stage 1 - the one-step UNet ``ε_θ`` and the VSD regulariser ``ε_φ'``; stage 2 - the
same plus the bilateral adapter. Frozen throughout: the VAE, the teacher ``ε_φ``, the CLIP text
encoder (conditioning) and the CLIP model of the alignment loss.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel

from retouch_studio.model.paper.alignment import PromptAlignment
from retouch_studio.model.paper.config import PaperConfig, PaperError
from retouch_studio.model.paper.data import TripletDataset
from retouch_studio.model.paper.losses import FeatureLPIPS, ProgressiveTimesteps, bilateral_loss, data_loss, regulariser_loss, vsd_loss
from retouch_studio.model.paper.nets import ClipParts, DiffusionParts, encode_text, freeze, load_clip, load_parts, tiny_clip
from retouch_studio.model.paper.student import Student
from retouch_studio.model.paper.teacher import unet_eps
from retouch_studio.model.paper.training import EMA, Precision, TrainLog, batches, named_trainable, parameters_of, pick_device

REGULARISER_DIR = "regulariser"


@dataclass
class DistillState:
    """Everything one distillation step touches (built by :func:`build_distill`)."""

    stage: int
    config: PaperConfig
    parts: DiffusionParts  # teacher: parts.unet is ε_φ (frozen); vae/text encoder shared, frozen
    student: Student
    regulariser: UNet2DConditionModel  # ε_φ'
    alignment: PromptAlignment | None
    lpips: FeatureLPIPS
    schedule: ProgressiveTimesteps
    opt_student: torch.optim.Optimizer
    opt_regulariser: torch.optim.Optimizer
    precision: Precision
    ema: EMA
    device: torch.device

    def student_params(self) -> list:
        mods = [self.student.unet] + ([self.student.adapter] if self.stage == 2 else [])
        return parameters_of(mods)


def build_distill(
    stage: int,
    teacher_dir: str | Path,
    *,
    init: str | Path | None = None,
    clip: str | Path | None = None,
    tiny: bool = False,
    config: PaperConfig | None = None,
    device: torch.device | None = None,
) -> DistillState:
    if stage not in (1, 2):
        raise PaperError(f"--stage must be 1 or 2, got {stage}")
    if stage == 2 and init is None:
        raise PaperError("stage 2 starts from a stage-1 result: pass --init S1")
    parts = load_parts(teacher_dir)
    if config is None:
        source = Path(init) if init is not None else Path(teacher_dir)
        try:
            config = PaperConfig.load(source)
        except PaperError:
            config = PaperConfig.tiny() if tiny else PaperConfig()
    cfg = config
    device = device or pick_device()
    torch.manual_seed(cfg.train.seed + stage)

    freeze(parts.unet)
    freeze(parts.text_encoder)
    freeze(parts.vae)
    if init is not None:
        student, init_cfg = Student.load(init, parts.scheduler)
        if init_cfg.net != cfg.net:
            raise PaperError(f"--config network settings differ from those {init} was trained with")
        reg_dir = Path(init) / REGULARISER_DIR
        regulariser = (
            UNet2DConditionModel.from_pretrained(init, subfolder=REGULARISER_DIR, local_files_only=True)
            if reg_dir.is_dir() else copy.deepcopy(parts.unet)
        )
    else:
        # Student UNet and regulariser both start from the teacher (§3.4.1); VAE frozen.
        student = Student(copy.deepcopy(parts.vae), copy.deepcopy(parts.unet), parts.scheduler, cfg.net)
        regulariser = copy.deepcopy(parts.unet)
    student.to(device)
    student.unet.requires_grad_(True).train()
    student.adapter.requires_grad_(stage == 2).train(stage == 2)
    regulariser.to(device).requires_grad_(True).train()
    parts.unet.to(device)
    parts.text_encoder.to(device)
    parts.vae.to(device)
    if cfg.train.gradient_checkpointing:
        student.unet.enable_gradient_checkpointing()
        regulariser.enable_gradient_checkpointing()

    alignment = None
    if cfg.train.lambda_align > 0:
        if tiny:
            clip_parts: ClipParts = tiny_clip(parts.tokenizer)
        elif clip is None:
            raise PaperError("the prompt alignment loss needs a CLIP model: pass --clip PATH (or set lambda_align 0)")
        else:
            clip_parts = load_clip(clip)
        alignment = PromptAlignment(clip_parts, cfg.train.tau).to(device)

    groups = [{"params": parameters_of([student.unet]), "lr": cfg.train.lr}]
    ema_params = named_trainable("unet", student.unet)
    if stage == 2:
        groups.append({"params": parameters_of([student.adapter]), "lr": cfg.train.lr_adapter})
        ema_params.update(named_trainable("adapter", student.adapter))
    opt_s = torch.optim.AdamW(groups, weight_decay=cfg.train.weight_decay)
    opt_r = torch.optim.AdamW(
        parameters_of([regulariser]), lr=cfg.train.lr_regulariser, weight_decay=cfg.train.weight_decay
    )
    return DistillState(
        stage, cfg, parts, student, regulariser, alignment, FeatureLPIPS(student.vae.encoder),
        ProgressiveTimesteps(cfg.train.t_schedule, cfg.net.t_max), opt_s, opt_r,
        Precision(device, cfg.train.mixed_precision), EMA(ema_params, cfg.train.ema_decay), device,
    )


def distill_step(
    state: DistillState, x_full: torch.Tensor, x_star_full: torch.Tensor, instructions: list[str], progress: float
) -> dict:
    """One optimisation step of eq. 9 (stage 1) or eq. 10 (stage 2), then eq. 4 for ε_φ'."""
    cfg, tr = state.config, state.config.train
    p = cfg.net.proxy_size
    x = F.interpolate(x_full, size=(p, p), mode="bilinear", antialias=True, align_corners=False)
    x_star = F.interpolate(x_star_full, size=(p, p), mode="bilinear", antialias=True, align_corners=False)
    b = x.shape[0]
    with torch.no_grad():
        c_txt = encode_text(state.parts, instructions)
        c_empty = encode_text(state.parts, [""]).expand_as(c_txt) if tr.teacher_cfg != 1.0 else None
    acp = state.parts.scheduler.alphas_cumprod
    logs: dict[str, float] = {}
    with state.precision.autocast():
        out = state.student(x, c_txt, state.student.noise(b, device=x.device))
        c_img = out.image_latent.detach()
        x_hat = state.student.decode(out.z0)

        def teacher(z_t, t):
            eps = unet_eps(state.parts.unet, z_t, t, c_img, c_txt)
            if c_empty is not None:  # classifier-free guidance on the instruction
                eps_u = unet_eps(state.parts.unet, z_t, t, c_img, c_empty)
                eps = eps_u + tr.teacher_cfg * (eps - eps_u)
            return eps

        def regulariser(z_t, t):
            return unet_eps(state.regulariser, z_t, t, c_img, c_txt)

        t = state.schedule.sample(b, progress, device=x.device)
        l_vsd, info = vsd_loss(out.z0, t, teacher, regulariser, acp, weighting=tr.vsd_weighting)
        l_data = data_loss(x_hat, x_star, state.lpips, tr.lambda_lpips)
        total = l_data + tr.lambda_vsd * l_vsd
        logs.update(data=l_data.item(), vsd=l_vsd.item())
        if state.alignment is not None:
            l_align = state.alignment(x_hat, instructions)
            total = total + tr.lambda_align * l_align
            logs["align"] = l_align.item()
        if state.stage == 2:
            x_b = Student.render(out, x_full)
            l_bila, _ = bilateral_loss(
                x_b, x_star_full, x_hat, out.grid, state.lpips,
                (tr.lambda_l1, tr.lambda_lpips_gt, tr.lambda_lpips_lowres, tr.lambda_laplacian, tr.lambda_gamut),
            )
            total = total + tr.lambda_bila * l_bila
            logs["bila"] = l_bila.item()
    logs["total"] = total.item()
    logs["grad_norm"] = state.precision.step(total, state.opt_student, state.student_params(), tr.grad_clip)
    state.ema.update()
    # Eq. 4: the regulariser follows the generator's current output distribution.
    with state.precision.autocast():
        l_diff = regulariser_loss(regulariser, info["z_t"], t, info["noise"])
    state.precision.step(l_diff, state.opt_regulariser, parameters_of([state.regulariser]), tr.grad_clip)
    logs["regulariser"] = l_diff.item()
    logs["t_hi"] = state.schedule.t_hi(progress)
    return logs


def save_distill(state: DistillState, out: str | Path, export: bool | None = None) -> Path:
    """Write the student (EMA weights) and regulariser; for stage 2 (or ``export=True``) also the
    exported ONNX model folder (``config.json`` with ``"engine": "paper"``)."""
    from retouch_studio.model.paper.export import export_model_folder

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if export is None:
        export = state.stage == 2
    with state.ema.applied():
        state.student.save(out, state.config)
        if export:
            export_model_folder(state.student, state.parts, state.config, out)
    state.regulariser.save_pretrained(out / REGULARISER_DIR)
    return out


def train_distill(
    stage: int,
    data: str | Path,
    out: str | Path,
    max_steps: int,
    *,
    teacher: str | Path,
    init: str | Path | None = None,
    clip: str | Path | None = None,
    tiny: bool = False,
    config: PaperConfig | None = None,
    save_every: int | None = None,
    echo=print,
) -> Path:
    state = build_distill(stage, teacher, init=init, clip=clip, tiny=tiny, config=config)
    if save_every is not None:
        state.config.train.save_every = save_every
    dataset = TripletDataset(data, state.config.train.full_size)
    it = batches(dataset, state.config.train.batch_size, state.config.train.seed, state.device,
                 state.config.train.num_workers)
    logger = TrainLog(echo=echo)
    for step in range(1, max_steps + 1):
        x, xs, texts = next(it)
        logger.add(step, **distill_step(state, x, xs, texts, (step - 1) / max(1, max_steps)))
        every = state.config.train.save_every
        if every and step % every == 0 and step < max_steps:
            save_distill(state, Path(out) / f"checkpoint-{step}", export=False)
    save_distill(state, out)
    logger.save(Path(out))
    return Path(out)
