"""Shared training machinery: device, mixed precision, EMA, data iteration, logging."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Iterable, Iterator

import torch
from torch import nn

from retouch_studio.model.atomic import write_atomic


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class Precision:
    """Mixed precision on GPU (§4.1): bf16 autocast where supported, else fp16 with loss scaling."""

    def __init__(self, device: torch.device, mode: str = "auto"):
        if mode not in ("auto", "no", "fp16", "bf16"):
            raise ValueError(f"mixed_precision must be auto, no, fp16 or bf16, got {mode!r}")
        if device.type != "cuda" or mode == "no":
            self.dtype = None
        elif mode == "auto":
            self.dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            self.dtype = torch.float16 if mode == "fp16" else torch.bfloat16
        self.device = device
        self.scaler = torch.amp.GradScaler("cuda") if self.dtype == torch.float16 else None

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params: list, clip: float) -> float:
        """Backward, unscale, clip gradients to ``clip`` (global norm), optimizer step."""
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(optimizer)
        else:
            loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, clip) if clip > 0 else torch.zeros(())
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()
        return float(norm)


class EMA:
    """Exponential moving average of parameters with the usual warm-up ``min(d, (1+n)/(10+n))``."""

    def __init__(self, params: dict[str, nn.Parameter], decay: float):
        self.decay = decay
        self.params = params
        self.shadow = {k: p.detach().clone() for k, p in params.items()}
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, p in self.params.items():
            self.shadow[k].lerp_(p.detach(), 1.0 - d)

    @contextlib.contextmanager
    def applied(self):
        """Temporarily load the averaged weights into the live parameters (for saving)."""
        backup = {k: p.detach().clone() for k, p in self.params.items()}
        with torch.no_grad():
            for k, p in self.params.items():
                p.copy_(self.shadow[k])
        try:
            yield
        finally:
            with torch.no_grad():
                for k, p in self.params.items():
                    p.copy_(backup[k])


def named_trainable(prefix: str, module: nn.Module) -> dict[str, nn.Parameter]:
    return {f"{prefix}.{k}": p for k, p in module.named_parameters() if p.requires_grad}


def batches(dataset, batch_size: int, seed: int, device: torch.device, workers: int = 0) -> Iterator:
    """Endless shuffled batches ``(x, x*, instructions)`` (x, x* on ``device``)."""
    gen = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=min(batch_size, len(dataset)), shuffle=True, drop_last=True, generator=gen,
        num_workers=workers, pin_memory=device.type == "cuda", persistent_workers=workers > 0,
    )
    while True:
        for x, xs, texts in loader:
            yield x.to(device), xs.to(device), list(texts)


class TrainLog:
    """Collects per-step scalars and step times; written as ``train_log.json`` in the output folder."""

    def __init__(self, every: int = 10, echo=print):
        self.rows: list[dict] = []
        self.every = every
        self.echo = echo
        self._t = time.perf_counter()

    def add(self, step: int, **scalars: float) -> None:
        now = time.perf_counter()
        row = {"step": step, "seconds": now - self._t, **{k: float(v) for k, v in scalars.items()}}
        self._t = now
        if torch.cuda.is_available():
            row["max_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30
        self.rows.append(row)
        if self.echo and (step % self.every == 0 or step == 1):
            self.echo("step %d  %s" % (step, "  ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "step")))

    def save(self, folder: Path) -> None:
        write_atomic(Path(folder) / "train_log.json", json.dumps(self.rows, indent=1), overwrite=True)


def parameters_of(modules: Iterable[nn.Module]) -> list[nn.Parameter]:
    return [p for m in modules for p in m.parameters() if p.requires_grad]
