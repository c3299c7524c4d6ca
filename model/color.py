"""Colour-science helpers: sRGB <-> linear <-> XYZ <-> CIELAB and the CIEDE2000 colour difference.

Every function exists for torch tensors (``*_torch``, any leading shape, channels last,
differentiable: training losses) and for numpy arrays (same name without the suffix, float64).
The conversions to CIELAB are one definition over both kinds (``model.array_ops``), so the app
measures colours without loading torch; the numpy CIEDE2000 runs the torch code in float64.

Conventions: sRGB-encoded values in ``[0, 1]`` (values outside are extrapolated, not clamped),
D65 white, CIELAB ``L`` in ``[0, 100]``.
"""

from __future__ import annotations

import math

from typing import TYPE_CHECKING

import numpy as np

from retouch_studio.model.array_ops import ArrayOps

if TYPE_CHECKING:
    import torch

# sRGB (D65) -> XYZ, IEC 61966-2-1.
_RGB_TO_XYZ = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_WHITE_D65 = (0.95047, 1.0, 1.08883)


def srgb_to_linear_torch(rgb):
    """sRGB decoding (the piecewise IEC curve), elementwise, odd-symmetric for negatives."""
    ops = ArrayOps(rgb)
    a = ops.abs(rgb)
    lin = ops.where(a <= 0.04045, a / 12.92, ops.clip((a + 0.055) / 1.055, 1e-12) ** 2.4)
    return ops.sign(rgb) * lin


def linear_to_srgb_torch(lin):
    ops = ArrayOps(lin)
    a = ops.abs(lin)
    enc = ops.where(a <= 0.0031308, a * 12.92, 1.055 * ops.clip(a, 1e-12) ** (1 / 2.4) - 0.055)
    return ops.sign(lin) * enc


def _f_lab(ops: ArrayOps, t):
    eps = 216 / 24389
    kappa = 24389 / 27
    return ops.where(t > eps, ops.clip(t, eps) ** (1 / 3), (kappa * t + 16) / 116)


def srgb_to_lab_torch(rgb):
    """sRGB-encoded ``(..., 3)`` -> CIELAB ``(..., 3)`` (D65): a torch tensor (differentiable)
    or a numpy array, returned as the same kind."""
    if rgb.shape[-1] != 3:
        raise ValueError(f"rgb must have 3 channels last, got shape {tuple(rgb.shape)}")
    ops = ArrayOps(rgb)
    xyz = srgb_to_linear_torch(rgb) @ ops.const(_RGB_TO_XYZ).T
    f = _f_lab(ops, xyz / ops.const(_WHITE_D65))
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return ops.stack([L, a, b], -1)


def delta_e_2000_torch(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 difference of two CIELAB tensors ``(..., 3)`` -> ``(...)``.

    Follows Sharma, Wu & Dalal (2005); ``kL = kC = kH = 1``. Small epsilons keep the gradient
    finite at zero chroma / zero difference.
    """
    import torch

    eps = 1e-10
    L1, a1, b1 = lab1.unbind(-1)
    L2, a2, b2 = lab2.unbind(-1)
    C1 = torch.sqrt(a1 * a1 + b1 * b1 + eps)
    C2 = torch.sqrt(a2 * a2 + b2 * b2 + eps)
    Cm = (C1 + C2) / 2
    Cm7 = Cm**7
    G = 0.5 * (1 - torch.sqrt(Cm7 / (Cm7 + 25.0**7)))
    a1p = (1 + G) * a1
    a2p = (1 + G) * a2
    C1p = torch.sqrt(a1p * a1p + b1 * b1 + eps)
    C2p = torch.sqrt(a2p * a2p + b2 * b2 + eps)
    h1p = torch.atan2(b1, a1p + eps) % (2 * math.pi)
    h2p = torch.atan2(b2, a2p + eps) % (2 * math.pi)
    dLp = L2 - L1
    dCp = C2p - C1p
    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - 2 * math.pi, dh)
    dh = torch.where(dh < -math.pi, dh + 2 * math.pi, dh)
    dHp = 2 * torch.sqrt(C1p * C2p) * torch.sin(dh / 2)
    Lm = (L1 + L2) / 2
    Cmp = (C1p + C2p) / 2
    hsum = h1p + h2p
    hm = torch.where((h1p - h2p).abs() > math.pi, hsum + 2 * math.pi, hsum) / 2
    T = (
        1
        - 0.17 * torch.cos(hm - math.radians(30))
        + 0.24 * torch.cos(2 * hm)
        + 0.32 * torch.cos(3 * hm + math.radians(6))
        - 0.20 * torch.cos(4 * hm - math.radians(63))
    )
    dtheta = math.radians(30) * torch.exp(-(((torch.rad2deg(hm) - 275) / 25) ** 2))
    Cmp7 = Cmp**7
    Rc = 2 * torch.sqrt(Cmp7 / (Cmp7 + 25.0**7))
    Sl = 1 + 0.015 * (Lm - 50) ** 2 / torch.sqrt(20 + (Lm - 50) ** 2)
    Sc = 1 + 0.045 * Cmp
    Sh = 1 + 0.015 * Cmp * T
    Rt = -torch.sin(2 * dtheta) * Rc
    tL, tC, tH = dLp / Sl, dCp / Sc, dHp / Sh
    return torch.sqrt(tL * tL + tC * tC + tH * tH + Rt * tC * tH + eps)


def delta_e_srgb_torch(rgb1: torch.Tensor, rgb2: torch.Tensor) -> torch.Tensor:
    """CIEDE2000 between two sRGB-encoded tensors ``(..., 3)`` -> ``(...)``."""
    return delta_e_2000_torch(srgb_to_lab_torch(rgb1), srgb_to_lab_torch(rgb2))


# ---- numpy front-ends ------------------------------------------------------------------------


def _np(fn, *arrays):
    import torch

    with torch.no_grad():
        ts = [torch.as_tensor(np.asarray(a, np.float64)) for a in arrays]
        return fn(*ts).numpy()


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    return srgb_to_linear_torch(np.asarray(rgb, np.float64))


def linear_to_srgb(lin: np.ndarray) -> np.ndarray:
    return linear_to_srgb_torch(np.asarray(lin, np.float64))


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded ``(..., 3)`` in ``[0, 1]`` -> CIELAB ``(..., 3)`` float64."""
    return srgb_to_lab_torch(np.asarray(rgb, np.float64))


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    return _np(delta_e_2000_torch, lab1, lab2)


def delta_e_srgb(rgb1: np.ndarray, rgb2: np.ndarray) -> np.ndarray:
    """Per-pixel CIEDE2000 between two sRGB images ``(..., 3)`` -> ``(...)`` float64."""
    return _np(delta_e_srgb_torch, rgb1, rgb2)


def mean_delta_e(rgb1: np.ndarray, rgb2: np.ndarray) -> float:
    return float(delta_e_srgb(rgb1, rgb2).mean())
