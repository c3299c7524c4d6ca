"""The compact default model: text + proxy -> photo-finishing parameters + residual bilateral grid.

Design (VeraRetouch-style decoupled controls, InstantRetouch-style bilateral output):

* A small CNN reads the proxy resized to ``net_size`` (128 px) plus a few global colour
  statistics. The instruction is split into clauses (``"brighter and warmer"`` -> two clauses);
  each clause's MiniLM embedding (384-d) conditions the image features by FiLM.
* Per clause the network predicts a vector of :data:`PARAM_NAMES` (exposure, contrast, white
  balance, saturation, shadows, highlights, blacks, split toning) and a small residual grid for
  local (spatial) adaptation. Clause outputs are **summed**, so compound instructions compose.
* The parameters are rendered into a bilateral grid ``(12, D, Gh, Gw)`` by the differentiable
  :func:`render_params_grid` (a luminance-guided photo-finishing pipeline), the residual is
  added, and the result is sliced with plain luminance guidance.
* The last layer of both heads starts at zero, so an untrained model returns the identity grid.

``CompactRetouchNet.from_pretrained(dir)`` / ``save_pretrained(dir)`` keep every hyperparameter in
``config.json`` next to ``weights.pt``. The engine ``"compact"``
(``model.engines.compact_engine``) runs ``model.onnx`` through onnxruntime when the folder has
one, and this network otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from retouch_studio.model.compact_config import (  # noqa: F401 - re-exported for training and tests
    MODEL_VERSION,
    NUM_PARAMS,
    PARAM_LIMIT,
    PARAM_NAMES,
    CompactConfig,
    net_input,
    split_clauses,
)
from retouch_studio.model.atomic import write_atomic
from retouch_studio.model.engines.base import ModelError
from retouch_studio.model.grid.ops import GRID_CHANNELS, LUMA_709, guidance_map

# --------------------------------------------------------------------------------------------
# The parameter space's differentiable grid renderer
# --------------------------------------------------------------------------------------------


def _luma_weights(dtype, device) -> torch.Tensor:
    return torch.tensor(LUMA_709, dtype=dtype, device=device)


def tone_curve(z: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """The luminance tone curve ``T(z)`` for params ``(B, P)`` at values ``z`` ``(B, N)``."""
    e, c, s, h, b = (params[:, i : i + 1] for i in (0, 1, 5, 6, 7))
    g = torch.pow(2.0, 0.9 * e)
    a = g * z / (1.0 + (g - 1.0) * z)
    a = a + 0.9 * c * a * (1.0 - a) * (2.0 * a - 1.0)
    a = a + 1.0 * s * a * (1.0 - a) ** 3
    a = a + 1.0 * h * a**3 * (1.0 - a)
    lift = 0.12 * F.relu(b) - 0.08 * F.relu(-b)
    return lift + (1.0 - lift) * a


def render_params_grid(params: torch.Tensor, depth: int = 8, height: int = 16, width: int = 16) -> torch.Tensor:
    """Differentiable parameter renderer: params ``(B, P)`` -> grid ``(B, 12, depth, height, width)``.

    Depth node ``k`` (input luma ``z_k = k / (depth - 1)``) holds the affine map
    ``S · (r_k I + (T'_k - r_k) 1 wᵀ) · G_k  |  T_k - T'_k z_k`` where ``G_k`` are luminance-neutral
    white-balance gains (split toning makes them depend on ``z_k``), ``T`` the tone curve, ``r_k``
    the chroma ratio ``(T(z_k) - T(0)) / z_k`` and ``S`` the saturation matrix. Luminance follows
    the curve's slope, chroma its ratio, so brightening does not wash colours out.
    """
    if params.dim() != 2 or params.shape[1] != NUM_PARAMS:
        raise ValueError(f"params must be (B, {NUM_PARAMS}), got {tuple(params.shape)}")
    p = params.clamp(-PARAM_LIMIT, PARAM_LIMIT)
    bsz, dtype, dev = p.shape[0], p.dtype, p.device
    w = _luma_weights(dtype, dev)
    z = torch.linspace(0.0, 1.0, depth, dtype=dtype, device=dev).unsqueeze(0).expand(bsz, -1)
    # Tone curve, its slope and chroma ratio at the nodes.
    hstep = 0.01
    t_z = tone_curve(z, p)
    t_0 = tone_curve(torch.zeros_like(z[:, :1]), p)
    slope = (tone_curve((z + hstep).clamp(max=1.0), p) - tone_curve((z - hstep).clamp(min=0.0), p)) / (
        (z + hstep).clamp(max=1.0) - (z - hstep).clamp(min=0.0)
    )
    zc = z.clamp(min=0.03)
    ratio = (tone_curve(zc, p) - t_0) / zc  # (B, D)
    # White balance gains per node (B, D, 3).
    temp = p[:, 2:3] + 0.6 * p[:, 8:9] * (z**2 - (1.0 - z) ** 2)
    tint = p[:, 3:4].expand_as(temp)
    gains = torch.stack(
        [1.0 + 0.10 * temp + 0.04 * tint, 1.0 - 0.08 * tint, 1.0 - 0.14 * temp + 0.04 * tint], dim=-1
    ).clamp(min=0.05)
    gains = gains / (gains * w).sum(-1, keepdim=True)
    eye = torch.eye(3, dtype=dtype, device=dev)
    ones_w = torch.ones(3, 1, dtype=dtype, device=dev) * w.view(1, 3)  # 1 wᵀ
    tone = ratio[..., None, None] * eye + (slope - ratio)[..., None, None] * ones_w  # (B, D, 3, 3)
    lin = tone * gains[:, :, None, :]  # right-multiply by diag(gains)
    sat = (1.0 + p[:, 4]).clamp(min=0.0).view(bsz, 1, 1, 1)
    smat = sat * eye + (1.0 - sat) * ones_w  # (B, 1, 3, 3)
    lin = smat @ lin
    offset = (t_z - slope * z).unsqueeze(-1).expand(-1, -1, 3)  # neutral, so S leaves it alone
    affine = torch.cat([lin, offset.unsqueeze(-1)], dim=-1)  # (B, D, 3, 4)
    grid = affine.reshape(bsz, depth, GRID_CHANNELS).permute(0, 2, 1)  # (B, 12, D)
    return grid[..., None, None].expand(-1, -1, -1, height, width)


# --------------------------------------------------------------------------------------------
# Colour helpers (Lab) shared by the losses, synthesis and evaluation
# --------------------------------------------------------------------------------------------

_RGB2XYZ = torch.tensor(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883])


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp(min=1e-6) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp(min=1e-6) ** (1 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB ``(B, 3, H, W)`` in [0, 1] (clamped) -> CIELAB (D65) ``(B, 3, H, W)``."""
    lin = srgb_to_linear(rgb)
    m = (_RGB2XYZ / _WHITE.view(3, 1)).to(rgb.dtype).to(rgb.device)
    xyz = F.conv2d(lin, m.view(3, 3, 1, 1))
    eps = 216 / 24389
    kappa = 24389 / 27
    f = torch.where(xyz > eps, xyz.clamp(min=eps) ** (1 / 3), (kappa * xyz + 16) / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------

N_STATS = 17


def image_stats(x: torch.Tensor) -> torch.Tensor:
    """Global colour statistics ``(B, 17)`` of ``x`` ``(B, 3, H, W)``: means, stds, luma histogram."""
    mean = x.mean(dim=(2, 3))
    std = (x - mean[:, :, None, None]).pow(2).mean(dim=(2, 3)).add(1e-6).sqrt()
    w = _luma_weights(x.dtype, x.device).view(1, 3, 1, 1)
    y = (x * w).sum(1, keepdim=True)  # (B, 1, H, W)
    centres = torch.linspace(0.0, 1.0, 8, dtype=x.dtype, device=x.device).view(1, 8, 1, 1)
    hist = torch.exp(-((y - centres) ** 2) / (2 * 0.07**2))
    hist = hist.mean(dim=(2, 3))
    hist = hist / hist.sum(1, keepdim=True).clamp(min=1e-6)
    ymean = y.mean(dim=(1, 2, 3)).unsqueeze(1)
    chroma = (x.max(1).values - x.min(1).values).mean(dim=(1, 2)).unsqueeze(1)
    rb = (mean[:, 0:1] - mean[:, 2:3])
    return torch.cat([mean, std, hist, ymean, chroma, rb], dim=1)


class FiLM(nn.Module):
    def __init__(self, text_hidden: int, channels: int):
        super().__init__()
        self.proj = nn.Linear(text_hidden, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, feat: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(t).chunk(2, dim=1)
        return feat * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None]


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class CompactRetouchNet(nn.Module):
    """Proxy + clause embeddings -> grid.

    forward(image ``(B, 3, H, W)`` in [0, 1] (H = W = net_size in use), text ``(B, C, 384)``,
    clause_mask ``(B, C)`` 1 for real clauses) -> (grid ``(B, 12, D, H/8, W/8)``,
    params ``(B, P)``, residual ``(B, 12, D, H/8, W/8)``).
    """

    def __init__(self, config: CompactConfig | None = None):
        super().__init__()
        self.config = cfg = config or CompactConfig()
        c1, c2, c3 = cfg.channels
        g = cfg.global_channels
        self.text = nn.Sequential(nn.Linear(cfg.text_dim, cfg.text_hidden), nn.SiLU(),
                                  nn.Linear(cfg.text_hidden, cfg.text_hidden), nn.SiLU())
        self.stem = nn.Sequential(_conv(3, c1, 2), nn.SiLU(), _conv(c1, c2, 2), nn.SiLU())
        self.down3 = _conv(c2, c3, 2)
        self.film3 = FiLM(cfg.text_hidden, c3)
        self.local = _conv(c3, c3)
        self.film_local = FiLM(cfg.text_hidden, c3)
        self.local_out = nn.Conv2d(c3, GRID_CHANNELS * cfg.grid_depth, 1)
        self.global_convs = nn.Sequential(_conv(c3, g, 2), nn.SiLU(), _conv(g, g, 2), nn.SiLU())
        self.head = nn.Sequential(
            nn.Linear(g + N_STATS + cfg.text_hidden, cfg.hidden), nn.SiLU(),
            nn.Linear(cfg.hidden, cfg.hidden), nn.SiLU(),
        )
        self.param_out = nn.Linear(cfg.hidden, NUM_PARAMS)
        for layer in (self.local_out, self.param_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, image: torch.Tensor, text: torch.Tensor, clause_mask: torch.Tensor):
        cfg = self.config
        b, c = text.shape[0], text.shape[1]
        stats = image_stats(image)
        feat = self.stem(image * 2.0 - 1.0)
        feat = self.down3(feat)  # (B, c3, H/8, W/8)
        h8, w8 = feat.shape[-2:]
        t = self.text(text.reshape(b * c, cfg.text_dim))  # (B*C, th)
        feat = feat.unsqueeze(1).expand(-1, c, -1, -1, -1).reshape(b * c, -1, h8, w8)
        feat = F.silu(self.film3(feat, t))
        loc = F.silu(self.film_local(self.local(feat), t))
        residual = self.local_out(loc).view(b, c, GRID_CHANNELS, cfg.grid_depth, h8, w8)
        gfeat = self.global_convs(feat).mean(dim=(2, 3))
        stats_c = stats.unsqueeze(1).expand(-1, c, -1).reshape(b * c, -1)
        hid = self.head(torch.cat([gfeat, stats_c, t], dim=1))
        params = PARAM_LIMIT * torch.tanh(self.param_out(hid) / PARAM_LIMIT).view(b, c, NUM_PARAMS)
        m = clause_mask.to(params.dtype)
        params = (params * m[:, :, None]).sum(1)
        residual = (residual * m[:, :, None, None, None, None]).sum(1) * cfg.residual_scale
        grid = render_params_grid(params, cfg.grid_depth, h8, w8) + residual
        return grid, params, residual

    # -- persistence ------------------------------------------------------------------------

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        cfg = self.config.to_dict()
        if extra:
            cfg.update(extra)
        state = {k: v.detach().cpu().clone() for k, v in self.state_dict().items()}
        write_atomic(directory / "weights.pt", lambda f: torch.save(state, f), overwrite=True)
        write_atomic(directory / "config.json", json.dumps(cfg, indent=2) + "\n", overwrite=True)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "CompactRetouchNet":
        directory = Path(directory)
        cfg_path, w_path = directory / "config.json", directory / "weights.pt"
        if not cfg_path.is_file():
            raise ModelError(f"{directory}: no config.json")
        if not w_path.is_file():
            raise ModelError(f"{directory}: no weights.pt")
        from retouch_studio.model.schema import read_json

        try:
            data = read_json(cfg_path, "model config")
            if not isinstance(data, dict):
                raise ValueError(f"{cfg_path}: expected a JSON object")
            cfg = CompactConfig.from_dict(data, str(cfg_path))
        except (ValueError, TypeError) as exc:
            raise ModelError(str(exc)) from None
        net = cls(cfg)
        try:
            state = torch.load(w_path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - a corrupt/mismatched file is one typed error
            raise ModelError(f"{w_path}: cannot load weights ({str(exc).strip() or type(exc).__name__})") from None
        net.eval()
        return net


def slice_apply(grid: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    """Luminance-guided slice-and-apply via one ``grid_sample`` call (training fast path).

    Same result as ``model.grid.bilateral_apply(grid, rgb)`` (cell-centred spatial axes,
    node-aligned depth, clamped), but it interpolates only the 8 grid corners each pixel needs
    instead of upsampling every depth slice, so it is several times cheaper with gradients.
    grid ``(B, 12, D, Gh, Gw)``, rgb ``(B, 3, H, W)`` -> ``(B, 3, H, W)``.
    """
    b, _, d, _, _ = grid.shape
    h, w = rgb.shape[-2:]
    z = guidance_map(rgb)[:, 0]
    ys = (torch.arange(h, dtype=rgb.dtype, device=rgb.device) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, dtype=rgb.dtype, device=rgb.device) + 0.5) / w * 2 - 1
    uz = (2 * z * (d - 1) + 1) / d - 1
    coords = torch.stack([xs.view(1, 1, w).expand(b, h, w), ys.view(1, h, 1).expand(b, h, w), uz], -1)
    coeff = F.grid_sample(grid, coords.unsqueeze(1), mode="bilinear", padding_mode="border", align_corners=False)
    a = coeff[:, :, 0].reshape(b, 3, 4, h, w)
    return (a[:, :, :3] * rgb.unsqueeze(1)).sum(2) + a[:, :, 3]


def torch_net_input(batch: torch.Tensor, size: int) -> torch.Tensor:
    """Training-time equivalent of :func:`net_input` for ``(B, 3, H, W)`` tensors."""
    if batch.shape[-2:] == (size, size):
        return batch
    return F.adaptive_avg_pool2d(batch, (size, size))
