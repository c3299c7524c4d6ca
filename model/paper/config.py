"""Every hyperparameter of the paper model in one versioned, JSON-serialisable place."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from retouch_studio.model.atomic import write_atomic

CONFIG_VERSION = 1
CONFIG_NAME = "paper_config.json"


class PaperError(RuntimeError):
    """A folder, file or setting the paper model needs is missing or invalid."""


@dataclass
class NetConfig:
    """Shapes of the student/teacher networks and of the predicted grid."""

    tiny: bool = False
    proxy_size: int = 512  # the low-res branch always sees a square proxy of this size
    grid_depth: int = 8
    grid_height: int = 16
    grid_width: int = 16
    guidance_knots: int = 16
    adapter_hidden: int = 64
    t_max: int = 999  # eq. 2: one-step denoising from pure noise at t_max
    max_text_tokens: int = 77
    noise_seed: int = 0  # fixed z_tmax at inference so predictions are deterministic


@dataclass
class TrainConfig:
    """Optimisation settings (§4.1 Implementation) and loss weights (eqs. 7-10)."""

    lr: float = 1e-5
    lr_regulariser: float = 1e-5
    lr_adapter: float = 1e-4
    weight_decay: float = 1e-2
    batch_size: int = 4
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    mixed_precision: str = "auto"  # "auto" (bf16/fp16 on GPU, off on CPU), "no", "fp16", "bf16"
    cond_dropout: float = 0.05  # InstructPix2Pix conditioning dropout (teacher)
    teacher_cfg: float = 1.0  # classifier-free guidance on the text for the teacher score in VSD
    # progressive timestep schedule: (fraction of training, t_hi); t ~ U[t_hi, t_max]
    t_schedule: list = field(default_factory=lambda: [[0.0, 700], [0.34, 400], [0.67, 20]])
    vsd_weighting: str = "dmd"  # "dmd" (normalised by |z0 - teacher x0|) or "uniform"
    lambda_vsd: float = 1.0
    lambda_align: float = 0.1
    tau: float = 0.07  # InfoNCE temperature (eq. 5)
    lambda_lpips: float = 1.0  # eq. 7
    lambda_bila: float = 1.0  # eq. 10
    lambda_l1: float = 1.0  # eq. 8 λ1..λ5
    lambda_lpips_gt: float = 1.0
    lambda_lpips_lowres: float = 0.5
    lambda_laplacian: float = 1.0
    lambda_gamut: float = 10.0
    full_size: int = 1024  # training "full-resolution" side for the bilateral branch
    seed: int = 0
    gradient_checkpointing: bool = False
    num_workers: int = 4  # data-loading processes
    save_every: int = 0  # also write a checkpoint to OUT/checkpoint-STEP every N steps (0 = end only)


@dataclass
class PaperConfig:
    net: NetConfig = field(default_factory=NetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    version: int = CONFIG_VERSION

    @staticmethod
    def tiny() -> "PaperConfig":
        """Random tiny networks: runs on CPU in seconds (tests, smoke runs)."""
        return PaperConfig(
            NetConfig(
                tiny=True, proxy_size=32, grid_depth=8, grid_height=8, grid_width=8,
                guidance_knots=8, adapter_hidden=16, max_text_tokens=16,
            ),
            TrainConfig(lr=1e-4, lr_regulariser=1e-4, lr_adapter=1e-3, batch_size=2, full_size=48,
                        ema_decay=0.9, num_workers=0),
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "PaperConfig":
        version = d.get("version", CONFIG_VERSION)
        if version > CONFIG_VERSION:
            raise PaperError(f"paper config version {version} is newer than this code ({CONFIG_VERSION})")

        def build(cls, values: dict):
            names = {f.name for f in fields(cls)}
            unknown = set(values) - names
            if unknown:
                raise PaperError(f"unknown {cls.__name__} keys: {', '.join(sorted(unknown))}")
            return cls(**values)

        return PaperConfig(build(NetConfig, d.get("net", {})), build(TrainConfig, d.get("train", {})), version)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / CONFIG_NAME
        write_atomic(path, json.dumps(self.to_dict(), indent=2), overwrite=True)
        return path

    @staticmethod
    def load(folder: str | Path) -> "PaperConfig":
        """Read ``folder/paper_config.json`` (or ``folder`` itself when it is a JSON file)."""
        path = Path(folder)
        path = path if path.is_file() else path / CONFIG_NAME
        if not path.is_file():
            raise PaperError(f"{folder}: no {CONFIG_NAME} (not a paper-model training folder)")
        try:
            return PaperConfig.from_dict(json.loads(path.read_text()))
        except ValueError as exc:
            raise PaperError(f"{path}: unreadable config ({exc})") from exc
