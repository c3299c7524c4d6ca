"""The one apply path: preview, export, batch and the command line all end here.

``predict_for`` turns a photo + instruction into a :class:`~model.runtime.Prediction` (the grid
is resolution independent), and ``apply_prediction`` slices it at whatever resolution it is given:
screen size for the preview, native size for export.
"""

from __future__ import annotations

import ctypes
import functools
import math
from typing import TYPE_CHECKING

import numpy as np

from retouch_studio.model.grid import cpu_slice as fast
from retouch_studio.model.imaging import make_proxy
from retouch_studio.model.engines.base import Prediction, Predictor

if TYPE_CHECKING:
    import torch

# Rows per CUDA band: keeps the sliced coefficient planes of one band around 1 GB.
_CUDA_BAND_PIXELS = 2_000_000


def _use_cuda(device: str | None) -> bool:
    if device == "cpu":
        return False
    if device == "cuda":
        return True
    return _cuda_available()


# The CUDA driver library: without it there is no GPU to use, and torch is not loaded to find out.
_CUDA_DRIVERS = ("libcuda.so.1", "libcuda.so", "nvcuda.dll")


@functools.lru_cache(maxsize=1)
def _cuda_available() -> bool:
    for name in _CUDA_DRIVERS:
        try:
            ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        return False
    import torch

    return torch.cuda.is_available()


def apply_prediction(
    pixels: np.ndarray,
    prediction: Prediction,
    strength: float = 1.0,
    mask: np.ndarray | None = None,
    *,
    device: str | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply a predicted grid to ``pixels`` at their own resolution.

    pixels: ``(H, W, 3)`` uint8, uint16 or float32 in ``[0, 1]``; mask: ``(H, W)`` float32 in
    ``[0, 1]`` (1 = full edit) or None. Returns the same dtype and shape; the input is not
    modified unless ``out`` is ``pixels`` itself (in place: a huge photo then needs no second
    copy). Uses CUDA (torch, in row bands) when a GPU is visible, otherwise the fused CPU kernel.
    ``strength`` must be a finite number >= 0 (ValueError otherwise).
    """
    if not isinstance(strength, (int, float, np.floating, np.integer)) or not math.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
    if not np.isfinite(prediction.grid).all():
        raise ValueError("the predicted grid has non-finite values")
    if _use_cuda(device):
        return _apply_torch(pixels, prediction, strength, mask, "cuda", out)
    return fast.slice_apply(pixels, prediction.grid, prediction.guidance, strength, mask, out=out)


def _apply_torch(pixels, prediction, strength, mask, dev, out=None) -> np.ndarray:
    """Same definition through the torch ops, band by band (GPU path; also runs on CPU)."""
    import torch

    from retouch_studio.model.grid.ops import bilateral_apply, guidance_map

    h, w, _ = pixels.shape
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(pixels.dtype, 1.0)
    grid = torch.as_tensor(prediction.grid, dtype=torch.float32, device=dev)[None]
    curves, mix, bias = prediction.guidance.tensors(device=dev)
    out = np.empty_like(pixels) if out is None else out
    band = max(1, _CUDA_BAND_PIXELS // max(w, 1))
    for y0 in range(0, h, band):
        y1 = min(h, y0 + band)
        x = torch.from_numpy(np.ascontiguousarray(pixels[y0:y1])).to(dev).float() / scale
        x = x.permute(2, 0, 1)[None]
        m = None
        if mask is not None:
            m = torch.from_numpy(np.ascontiguousarray(mask[y0:y1], np.float32)).to(dev)[None, None]
        guide = guidance_map(x, curves, mix, bias)
        band_grid = _band_grid(grid, y0, y1, h)
        y = bilateral_apply(band_grid, x, guide, strength, m)[0].permute(1, 2, 0)
        if scale != 1.0:
            y = (y * scale + 0.5).clamp(0, scale).to(torch.int32)
        out[y0:y1] = y.cpu().numpy().astype(pixels.dtype)
    return out


def _band_grid(grid: torch.Tensor, y0: int, y1: int, h: int) -> torch.Tensor:
    """Resample the grid along y so that slicing rows ``[y0, y1)`` alone matches the full image.

    Rows of the band get grid rows interpolated at their full-image coordinates; the returned
    grid has one row per image row, so the spatial interpolation inside the slice is exact.
    """
    gh = grid.shape[3]
    import torch

    rows = torch.arange(y0, y1, device=grid.device, dtype=torch.float32)
    cy = ((rows + 0.5) * gh / h - 0.5).clamp(0, gh - 1)
    i0 = cy.floor().clamp(max=max(gh - 2, 0)).long()
    i1 = (i0 + 1).clamp(max=gh - 1)
    t = (cy - i0).view(1, 1, 1, -1, 1)
    return grid[:, :, :, i0] + t * (grid[:, :, :, i1] - grid[:, :, :, i0])


def predict_for(
    predictor: Predictor, pixels: np.ndarray, instruction: str, proxy_edge: int = 512
) -> Prediction:
    """Build the proxy of ``pixels`` and ask ``predictor`` for a grid."""
    proxy = make_proxy(pixels, proxy_edge)
    return predictor.predict(proxy, instruction)

