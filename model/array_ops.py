"""One definition for numpy and torch: the command line and the app compute with numpy (no
torch to load), training computes the same functions on torch tensors so gradients flow.
"""

from __future__ import annotations

import numpy as np


class ArrayOps:
    """The few array operations the renderer and the colour maths need, for numpy arrays or
    torch tensors alike: ``ArrayOps(like)`` follows ``like``'s kind, dtype and device."""

    def __init__(self, like):
        self.numpy = isinstance(like, np.ndarray)
        if self.numpy:
            self.dtype, self.xp = like.dtype, np
            self.atan2, self.cat = np.arctan2, np.concatenate
        else:
            import torch

            self.dtype, self.device, self.xp = like.dtype, like.device, torch
            self.atan2, self.cat = torch.atan2, torch.cat
        xp = self.xp
        self.where, self.tanh, self.log, self.sqrt = xp.where, xp.tanh, xp.log, xp.sqrt
        self.cos, self.sin, self.exp, self.stack = xp.cos, xp.sin, xp.exp, xp.stack
        self.abs, self.sign = xp.abs, xp.sign
        self.rad2deg, self.deg2rad = xp.rad2deg, xp.deg2rad

    def const(self, values):
        """A constant (numpy values) as an array of the input's kind, dtype and device."""
        if self.numpy:
            return np.asarray(values, self.dtype)
        return self.xp.as_tensor(np.asarray(values), dtype=self.dtype, device=self.device)

    def clip(self, a, lo=None, hi=None):
        return np.clip(a, lo, hi) if self.numpy else self.xp.clamp(a, lo, hi)

    def sum_last(self, a):
        return a.sum(-1, keepdims=True) if self.numpy else a.sum(-1, keepdim=True)
