"""Training loop of the compact default model (see ``model.compact`` and ``model.synth``).

Everything that can be precomputed is: proxies (320 px), clause embeddings (cached on disk in the
output folder), and losses run at the 128 px network resolution. Seeds are fixed, a checkpoint
(model, EMA, optimiser, synthesiser RNG, elapsed time) is written every ``checkpoint_seconds``
and ``resume=True`` continues from it; the EMA weights are what gets saved with
``save_pretrained`` (and exported to ONNX) at the end.
"""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from retouch_studio.model.atomic import write_atomic
from retouch_studio.model.compact import CompactConfig, CompactRetouchNet, rgb_to_lab, slice_apply
from retouch_studio.model.grid.ops import gamut_penalty, grid_laplacian
from retouch_studio.model.training.synth import HELDOUT_PHOTOS, ClauseBank, Synthesizer, load_training_images

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


class TrainError(RuntimeError):
    """Bad training input (no photos, unreadable folder...)."""


@dataclass
class TrainConfig:
    photos: str
    out: str
    minutes: float = 40.0
    max_steps: int | None = None
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    ema_decay: float = 0.998
    seed: int = 0
    threads: int = 1
    corrective_share: float = 0.5
    clauses_per_key: int = 120
    checkpoint_seconds: float = 120.0
    export_onnx: bool = True
    # loss weights
    w_lab: float = 1.0
    w_rgb: float = 1.0
    w_stats: float = 0.5
    w_params: float = 0.5
    w_smooth: float = 1.0
    w_residual: float = 1.0
    w_gamut: float = 1.0
    model: dict = field(default_factory=dict)


def training_photos(folder: str | Path, exclude: tuple = HELDOUT_PHOTOS) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainError(f"photo folder {folder} does not exist")
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.stem not in exclude)
    if not photos:
        raise TrainError(f"photo folder {folder} has no usable photos (after holding out {len(exclude)})")
    return photos


def clause_embeddings(clauses: list[str], cache_dir: Path) -> dict[str, np.ndarray]:
    """Embed all clauses once; cached in ``cache_dir/text_cache.npz`` keyed by the clause list."""
    key = hashlib.sha1("\n".join(clauses).encode()).hexdigest()[:16]
    path = cache_dir / f"text_cache_{key}.npz"
    if path.is_file():
        vecs = np.load(path)["vecs"]
    else:
        from retouch_studio.model.text_encoder import encode

        vecs = encode(clauses)
        np.savez_compressed(path, vecs=vecs)
    return dict(zip(clauses, vecs))


def pad_clauses(clauses: list[list[str]], table: dict[str, np.ndarray], max_clauses: int):
    """B clause lists -> text ``(B, C, 384)`` and mask ``(B, C)``."""
    c = max(1, min(max_clauses, max(len(x) for x in clauses)))
    text = np.zeros((len(clauses), c, 384), np.float32)
    mask = np.zeros((len(clauses), c), np.float32)
    for i, cl in enumerate(clauses):
        for j, s in enumerate(cl[:c]):
            text[i, j] = table[s]
            mask[i, j] = 1.0
    return torch.from_numpy(text), torch.from_numpy(mask)


def lab_stats(lab: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """Cheap directional statistics ``(B, 7)`` from Lab ``(B, 3, H, W)``: mean L*, a*, b*, chroma,
    L* spread, and mean L* over the shadow/highlight ``regions`` ``(B, 2, H, W)`` of the input."""
    L = lab[:, 0]
    chroma = (lab[:, 1] ** 2 + lab[:, 2] ** 2 + 1e-4).sqrt()
    means = lab.mean((2, 3))
    tonal = (L.unsqueeze(1) * regions).sum((2, 3)) / regions.sum((2, 3)).clamp(min=1.0)
    spread = (L - means[:, :1, None]).abs().mean((1, 2))
    return torch.cat([means, chroma.mean((1, 2))[:, None], spread[:, None], tonal], 1)


def compute_losses(net, batch, text, mask, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    grid, params, residual = net(batch.inputs, text, mask)
    out = slice_apply(grid, batch.inputs)
    lab_o = rgb_to_lab(out)
    with torch.no_grad():
        lab_t = rgb_to_lab(batch.targets)
        l_in = rgb_to_lab(batch.inputs)[:, 0]
        thresholds = l_in.flatten(1).kthvalue(int(0.3 * l_in[0].numel()), dim=1).values[:, None, None]
        thresholds_hi = l_in.flatten(1).kthvalue(int(0.7 * l_in[0].numel()), dim=1).values[:, None, None]
        regions = torch.stack([(l_in <= thresholds), (l_in >= thresholds_hi)], 1).float()
    losses = {
        "lab": (lab_o - lab_t).abs().mean() / 10.0,
        "rgb": (out - batch.targets).abs().mean(),
        "stats": (lab_stats(lab_o, regions) - lab_stats(lab_t, regions)).abs().mean() / 10.0,
        "params": ((params - batch.params).abs().mean(1) * batch.param_mask).sum()
        / batch.param_mask.sum().clamp(min=1.0),
        "smooth": grid_laplacian(residual) * 100.0,
        "residual": residual.pow(2).mean() * 10.0,
        "gamut": gamut_penalty(out) * 10.0,
    }
    weights = {k: getattr(cfg, f"w_{k}") for k in losses}
    losses["total"] = sum(weights[k] * v for k, v in losses.items())
    return losses


def _set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, log=print) -> dict:
    """Train (or continue training) and save the EMA model to ``cfg.out``. Returns a summary."""
    out = Path(cfg.out)
    ckpt_path = out / "checkpoint.pt"
    resumed = None
    if resume:  # read first: a missing or refused checkpoint is reported before any work
        if not ckpt_path.is_file():
            raise TrainError(f"--resume: no checkpoint at {ckpt_path}")
        resumed = load_checkpoint(ckpt_path)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, cfg.threads))
    _set_seeds(cfg.seed)
    photos = training_photos(cfg.photos)
    log(f"training on {len(photos)} photos (held out: {', '.join(HELDOUT_PHOTOS)})")
    images = load_training_images(photos)
    bank = ClauseBank(cfg.clauses_per_key, seed=cfg.seed)
    clauses = bank.all_clauses()
    t0 = time.time()
    table = clause_embeddings(clauses, out)
    log(f"{len(clauses)} training clauses embedded ({time.time() - t0:.0f} s)")
    model_cfg = CompactConfig.from_dict(cfg.model) if cfg.model else CompactConfig()
    net = CompactRetouchNet(model_cfg)
    ema = copy.deepcopy(net).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    synth = Synthesizer(images, bank, size=model_cfg.net_size, corrective=cfg.corrective_share, seed=cfg.seed)
    step, elapsed = 0, 0.0
    history: list[dict] = []
    if resumed is not None:
        state = resumed
        net.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        synth.rng.bit_generator.state = state["synth_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, elapsed, history = state["step"], state["elapsed"], state.get("history", [])
        log(f"resumed at step {step} ({elapsed / 60:.1f} min done)")

    budget = cfg.minutes * 60.0

    def save_checkpoint():
        state = {"model": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                 "synth_rng": synth.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                 "step": step, "elapsed": elapsed, "history": history, "config": asdict(cfg)}
        write_atomic(ckpt_path, lambda f: torch.save(state, f), overwrite=True)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=int(budget), initial=int(min(elapsed, budget)), unit="s", desc="train compact",
                   dynamic_ncols=True)
    last_ckpt = time.time()
    running: dict[str, float] = {}
    net.train()
    while elapsed < budget and (cfg.max_steps is None or step < cfg.max_steps):
        t_step = time.time()
        frac = min(1.0, elapsed / budget)
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        batch = synth.sample(cfg.batch_size)
        text, mask = pad_clauses(batch.clauses, table, model_cfg.max_clauses)
        losses = compute_losses(net, batch, text, mask, cfg)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(cfg.ema_decay, (1 + step) / (10 + step))
            for pe, p in zip(ema.parameters(), net.parameters()):
                pe.mul_(decay).add_(p.detach(), alpha=1 - decay)
        step += 1
        dt = time.time() - t_step
        elapsed += dt
        for k, v in losses.items():
            running[k] = 0.98 * running.get(k, v.item()) + 0.02 * v.item()
        if bar is not None:
            bar.update(min(int(elapsed), int(budget)) - bar.n)
            if step % 10 == 0:
                bar.set_postfix(step=step, loss=f"{running['total']:.4f}", lab=f"{running['lab'] * 10:.2f}")
        if step % 100 == 0:
            history.append({"step": step, "elapsed": round(elapsed, 1), **{k: round(v, 5) for k, v in running.items()}})
        if time.time() - last_ckpt > cfg.checkpoint_seconds:
            save_checkpoint()
            last_ckpt = time.time()
    if bar is not None:
        bar.close()
    save_checkpoint()
    summary = {"steps": step, "minutes": round(elapsed / 60, 2), "photos": [p.name for p in photos],
               "final_losses": {k: round(v, 5) for k, v in running.items()}, "seed": cfg.seed,
               "batch_size": cfg.batch_size, "clauses": len(clauses)}
    tcfg = {k: v for k, v in asdict(cfg).items() if k not in ("photos", "out")}
    ema.save_pretrained(out, extra={"training": {**tcfg, **summary}})
    if cfg.export_onnx:
        from retouch_studio.model.engines.onnx_engine import export_onnx

        export_onnx(ema, out / "model.onnx")
    write_atomic(out / "history.json", json.dumps(history, indent=1), overwrite=True)
    log(f"saved model to {out} after {step} steps ({elapsed / 60:.1f} min)")
    return summary


def load_checkpoint(path: str | Path) -> dict:
    """A training checkpoint: tensors and plain data only (``weights_only=True``), so a shared
    or tampered file cannot run code when it is loaded; anything else is a :class:`TrainError`."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrainError(f"{path}: no checkpoint") from None
    except pickle.UnpicklingError:
        raise TrainError(
            f"{path}: refused: the checkpoint holds objects other than tensors and plain data "
            "(loading it could run code)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - truncated or foreign files: one typed error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainError(f"{path}: not a checkpoint this program can load safely ({first[:200]})") from None
    keys = ("model", "ema", "opt", "synth_rng", "torch_rng", "step", "elapsed")
    if not isinstance(state, dict) or any(k not in state for k in keys):
        raise TrainError(f"{path}: not a training checkpoint (expected the keys {', '.join(keys)})")
    return state


def export_checkpoint(checkpoint: str | Path, dest: str | Path, onnx: bool = False) -> Path:
    """Save the EMA weights of a training checkpoint as a model folder (to evaluate mid-run)."""
    state = load_checkpoint(Path(checkpoint))
    model_cfg = state["config"].get("model") or {}
    net = CompactRetouchNet(CompactConfig.from_dict(model_cfg) if model_cfg else CompactConfig())
    net.load_state_dict(state["ema"])
    net.eval()
    net.save_pretrained(dest, extra={"training": {"steps": state["step"], "minutes": round(state["elapsed"] / 60, 2),
                                                  "from_checkpoint": True}})
    if onnx:
        from retouch_studio.model.engines.onnx_engine import export_onnx

        export_onnx(net, Path(dest) / "model.onnx")
    return Path(dest)
