"""Applying a learned style: proxy -> bilateral grid, alone or with words on top.

The style is rendered pixel by pixel on a copy of the proxy (its per-photo parameters, then its
grade), and a grid is fitted to that result: every spatial cell's depth nodes by weighted least
squares over the pixels the slice gives that cell, pulled towards one whole-photo fit where a
cell has few pixels (:func:`fit_grid`). The grid is what every edit is, so the style is applied
through the one apply path, at any strength, under masks, and can only change tone and colour.

With words ("style: wedding, a bit warmer") the words are predicted by the ordinary engine on the
styled proxy, and one grid is fitted to the two edits together.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np
import scipy.sparse as sp

from retouch_studio.model.engines.base import Prediction
from retouch_studio.model.grid.cpu_slice import slice_apply
from retouch_studio.model.grid.guidance import GuidanceParams
from retouch_studio.model.params import _cell_weights, _hat_features

from .features import box_reduce
from .reference import split_style_reference

if TYPE_CHECKING:
    from .learn import LearnedStyle

GRID_SHAPE = (8, 16, 16)
FIT_EDGE = 192  # long edge (px) of the copy the grid is fitted on
CELL_RIDGE = 1e-6  # pull of each cell's nodes towards the whole-photo fit


def fit_grid(source: np.ndarray, target: np.ndarray, grid_shape=GRID_SHAPE) -> np.ndarray:
    """Grid ``(12, D, Gh, Gw)`` float32 (luminance guidance) whose slice best maps ``source`` to
    ``target`` (both ``(h, w, 3)`` float, the same photo before and after an edit)."""
    d, gh, gw = grid_shape
    x3 = np.asarray(source, np.float64)
    hh, ww = x3.shape[:2]
    x = x3.reshape(-1, 3)
    y = np.asarray(target, np.float64).reshape(-1, 3)
    n = x.shape[0]
    cell_w = sp.csr_matrix(sp.kron(sp.csr_matrix(_cell_weights(hh, gh)), sp.csr_matrix(_cell_weights(ww, gw)))).T
    i0, w0, w1 = _hat_features(x, d)
    phi = np.concatenate([x, np.ones((n, 1))], 1)
    f = np.concatenate([w0[:, None] * phi, w1[:, None] * phi], 1)  # (N, 8): nodes i0 and i0 + 1
    ff = (f[:, :, None] * f[:, None, :]).reshape(n, 64)
    fy = (f[:, :, None] * y[:, None, :]).reshape(n, 24)
    G = np.zeros((gh * gw, 4 * d, 4 * d))
    R = np.zeros((gh * gw, 4 * d, 3))
    for k in np.unique(i0):
        sel = i0 == k
        G[:, 4 * k : 4 * k + 8, 4 * k : 4 * k + 8] += (cell_w[:, sel] @ ff[sel]).reshape(-1, 8, 8)
        R[:, 4 * k : 4 * k + 8] += (cell_w[:, sel] @ fy[sel]).reshape(-1, 8, 3)
    eye = np.eye(4 * d)
    # The slice's cell weights sum to one per pixel, so the cells' sums are the whole photo's:
    # the whole-photo fit (the prior of cells with few pixels) costs no second pass.
    ident = np.zeros((d, 4, 3))
    ident[:, 0, 0] = ident[:, 1, 1] = ident[:, 2, 2] = 1.0
    prior = np.linalg.solve(G.sum(0) / n + 1e-7 * eye, R.sum(0) / n + 1e-7 * ident.reshape(4 * d, 3))
    sol = np.linalg.solve(G / n + CELL_RIDGE * eye, R / n + CELL_RIDGE * prior)
    grid = sol.reshape(gh, gw, d, 4, 3).transpose(4, 3, 2, 0, 1).reshape(12, d, gh, gw)
    return np.ascontiguousarray(grid, np.float32)


def predict_style_grid(style: LearnedStyle, proxy: np.ndarray, grid_shape=GRID_SHAPE) -> np.ndarray:
    """The style on ``proxy`` ``(h, w, 3)`` float32 as a grid; parameters come from the full proxy."""
    small = box_reduce(np.asarray(proxy, np.float32), FIT_EDGE).astype(np.float32)
    return fit_grid(small, style.render(small, proxy), grid_shape)


def _style_item(style: LearnedStyle, params: dict) -> dict:
    shown = ", ".join(f"{k} {v:+.2f}" if k == "exposure" else f"{k} {v:+.0f}" for k, v in params.items() if abs(v) >= (0.05 if k == "exposure" else 2))
    return {
        "attribute": "style",
        "direction": 1,
        "label": style.name,
        "amount": 1.0,
        "confidence": 1.0,
        "clause": f"style: {style.name}" + (f" ({shown})" if shown else ""),
        "source": "style",
    }


def predict_with_style(
    proxy: np.ndarray,
    instruction: str,
    words_predictor: Callable[[np.ndarray, str], Prediction],
    load: Callable[[str], LearnedStyle],
) -> Prediction:
    """Prediction for an instruction that names a style (``"style: NAME[, words]"``).

    ``words_predictor(proxy, words)`` serves the words (the ordinary engine); ``load(name)``
    finds the style (the user's style folder: :func:`.store.load_style`).
    """
    name, words = split_style_reference(instruction)
    if name is None:
        raise ValueError(f"{instruction!r} does not name a style (expected 'style: NAME')")
    if split_style_reference(words)[0] is not None:
        raise ValueError("one style per instruction: stack two layers to combine styles")
    style = load(name)
    proxy = np.asarray(proxy, np.float32)
    small = box_reduce(proxy, FIT_EDGE).astype(np.float32)
    styled = style.render(small, proxy)
    plan = [_style_item(style, style.params_for(proxy))]
    if words:
        styled_proxy = slice_apply(proxy, fit_grid(small, styled))
        extra = words_predictor(styled_proxy, words)
        styled = slice_apply(np.ascontiguousarray(styled, np.float32), extra.grid, extra.guidance)
        plan += list(extra.plan)
    return Prediction(fit_grid(small, styled), GuidanceParams.luminance(), plan, f"style:{style.name}")
