"""Learning a style from before/after pairs (see the package docstring for what a style is).

The fit, on proxies of the pairs (a few thousand sampled pixels each):

1. **Per-pair parameters and the shared grade, alternately.** The grade (a ``GRADE_SIZE``³ LUT,
   ``model.lut.fit_lut``: least squares with a smoothness prior) is fitted to map the rendered
   befores to the afters; then every pair's renderer parameters (:data:`PHOTO_PARAMS`) are fitted
   by gradient descent through the differentiable renderer and the fixed grade. A few rounds.
2. **The regression.** The fitted parameters are regressed on the photo statistics
   (:mod:`.features`) by ridge regression, the penalty chosen per parameter by leave-one-out
   error, so a parameter the statistics do not predict falls back to its mean over the pairs.
3. **The grade again**, refitted with the *predicted* parameters, so it matches what is used
   when the style is applied to a new photo.

Held-back pairs (every fifth pair by name, at least two, when there are 8 or more) measure the
fit on photos the style did not see; the style is then refitted on all pairs.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from retouch_studio.model.grid.guidance import LUMA_709
from retouch_studio.model.lut import apply_lut, delta_e_rgb, fit_lut, merge_colors
from retouch_studio.model.params import PARAM_NAMES, SPECS, pixel_positions, render

from .features import FEATURE_NAMES, box_reduce, photo_features

# Renderer parameters a style sets for each photo, and the unit they are learned in.
PHOTO_PARAMS = (
    "exposure", "contrast", "highlights", "shadows", "whites", "blacks",
    "temperature", "tint", "saturation", "vibrance", "vignette",
)  # fmt: skip
_UNIT = np.array([1.0 if n == "exposure" else 100.0 for n in PHOTO_PARAMS])
_COLUMNS = [PARAM_NAMES.index(n) for n in PHOTO_PARAMS]
_VARY = frozenset(PHOTO_PARAMS)
_DEFAULTS = np.array([s.default for s in (SPECS[n] for n in PARAM_NAMES)])
_LO = np.array([SPECS[n].lo for n in PHOTO_PARAMS]) / _UNIT
_HI = np.array([SPECS[n].hi for n in PHOTO_PARAMS]) / _UNIT

# Pull of each parameter towards no change in the per-pair fit: a photographer mostly adapts
# exposure and white balance to the photo; the other parameters can trade off against each other
# and the grade, so they move only where that clearly helps.
_PENALTY = np.array([1e-4 if n in ("exposure", "temperature", "tint") else 3e-3 for n in PHOTO_PARAMS])

GRADE_SIZE = 17  # nodes per axis of the shared grade
GRADE_SMOOTHNESS = 3e-3
CUBE_SIZE = 33  # the .cube export
CUBE_FIT_EDGE = 160  # long edge (px) of the copies of the pairs the cube is fitted and measured on
SAMPLES_PER_PAIR = 1024  # pixels per pair the parameters are fitted on
GRADE_SAMPLES_PER_PAIR = 8192  # pixels per pair the grade is fitted on
ROUNDS = 3
STEPS = 50  # gradient steps per round
LAMBDAS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
MIN_PAIRS = 5
HOLDOUT_FROM = 8  # pairs from which some are held back to measure the fit


@dataclass(frozen=True)
class LearnedStyle:
    """A learned style: the regression from photo statistics to parameters, and the grade.

    feature_mean, feature_std: ``(F,)``; weights ``(F, K)`` and bias ``(K,)`` map standardised
    features to :data:`PHOTO_PARAMS` in learning units (EV for exposure, slider / 100 otherwise);
    grade ``(S, S, S, 3)`` float32 (``model.lut`` layout); cube: the closest single LUT
    ``(33, 33, 33, 3)`` for other tools; info: what was learned and measured (JSON-able).
    """

    name: str
    feature_mean: np.ndarray
    feature_std: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    grade: np.ndarray
    cube: np.ndarray
    info: dict = field(default_factory=dict)

    def units_for(self, proxy: np.ndarray) -> np.ndarray:
        f = (photo_features(proxy) - self.feature_mean) / self.feature_std
        return np.clip(f @ self.weights + self.bias, _LO, _HI)

    def params_for(self, proxy: np.ndarray) -> dict:
        """The renderer parameters this style gives ``proxy`` (``model.params`` names and units)."""
        return {n: round(float(v), 4) for n, v in zip(PHOTO_PARAMS, self.units_for(proxy) * _UNIT)}

    def render(self, image: np.ndarray, proxy: np.ndarray | None = None) -> np.ndarray:
        """The style applied pixel by pixel to ``image`` ``(h, w, 3)`` float -> float32 (the grid
        predicted from it approximates this); parameters come from ``proxy`` (default: image)."""
        units = self.units_for(image if proxy is None else proxy)
        h, w, _ = image.shape
        x = torch.as_tensor(np.asarray(image, np.float32).reshape(1, -1, 3))
        pos = torch.as_tensor(pixel_positions(h, w), dtype=torch.float32)[None]
        with torch.no_grad(), one_torch_thread():
            y = render_units(x, pos, torch.as_tensor(units, dtype=torch.float32)[None])[0].numpy()
        return apply_lut(self.grade, y).reshape(h, w, 3)


@contextlib.contextmanager
def one_torch_thread():
    """Run torch on one thread: the style's tensors are small (tens of thousands of pixels), and
    splitting them over threads costs more than it gains, most of all on a busy machine
    (measured 14x faster per fitting step under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def render_units(x: torch.Tensor, pos: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """The renderer with :data:`PHOTO_PARAMS` ``(B, K)`` in learning units on colours ``(B, N, 3)``."""
    b = units.shape[0]
    values = torch.as_tensor(_DEFAULTS, dtype=units.dtype).repeat(b, 1)
    lo = torch.as_tensor(_LO, dtype=units.dtype)
    hi = torch.as_tensor(_HI, dtype=units.dtype)
    values[:, _COLUMNS] = torch.maximum(torch.minimum(units, hi), lo) * torch.as_tensor(_UNIT, dtype=units.dtype)
    return render(x, values, pos, clip=True, vary=_VARY)


def lut_lookup_torch(lut: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Trilinear lookup of colours ``(N, 3)`` in a LUT ``(S, S, S, 3)`` (``model.lut`` layout),
    differentiable in ``x``."""
    size = lut.shape[0]
    flat = lut.reshape(-1, 3)
    coord = x.clamp(0, 1) * (size - 1)
    i0 = coord.detach().floor().clamp(max=size - 2).long()
    t = coord - i0
    out = torch.zeros_like(x)
    for db in (0, 1):
        wb = t[:, 2] if db else 1 - t[:, 2]
        for dg in (0, 1):
            wg = t[:, 1] if dg else 1 - t[:, 1]
            for dr in (0, 1):
                wr = t[:, 0] if dr else 1 - t[:, 0]
                idx = (i0[:, 0] + dr) + size * ((i0[:, 1] + dg) + size * (i0[:, 2] + db))
                out = out + (wr * wg * wb)[:, None] * flat[idx]
    return out


def fit_grade(src: np.ndarray, dst: np.ndarray, size: int = GRADE_SIZE, smoothness: float = GRADE_SMOOTHNESS) -> np.ndarray:
    """Smooth LUT mapping colours ``src (N, 3)`` to ``dst (N, 3)`` (pixels of equal 8-bit colour merged)."""
    u8 = np.clip(np.round(np.asarray(src).reshape(-1, 3) * 255), 0, 255).astype(np.uint8)
    colours, mean, counts = merge_colors(u8, np.asarray(dst).reshape(-1, 3))
    lut, _ = fit_lut(colours, mean, size=size, smoothness=smoothness, weights=counts)
    return lut


def ridge_loo(F: np.ndarray, T: np.ndarray, lambdas: Sequence[float] = LAMBDAS):
    """Ridge regression ``T ~ F W + b`` (F standardised), penalty per output column chosen by
    leave-one-out error (closed form through the hat matrix). Returns (W, b, loo rms per column)."""
    n, f = F.shape
    X = np.concatenate([F, np.ones((n, 1))], 1)
    coef = np.zeros((f + 1, T.shape[1]))
    best = np.full(T.shape[1], np.inf)
    for lam in lambdas:
        R = lam * np.eye(f + 1)
        R[-1, -1] = 0.0  # the intercept is not shrunk
        inv = np.linalg.solve(X.T @ X + R, X.T)
        c = inv @ T
        lev = np.clip(np.einsum("ij,ji->i", X, inv), 0.0, 1 - 1e-6)
        loo = ((T - X @ c) / (1 - lev)[:, None]) ** 2
        err = loo.mean(0)
        better = err < best
        best[better] = err[better]
        coef[:, better] = c[:, better]
    return coef[:-1], coef[-1], np.sqrt(best)


class _Clock:
    def __init__(self, budget_s: float, progress, cancelled):
        self.t0 = time.perf_counter()
        self.budget_s = budget_s
        self.progress = progress
        self.cancelled = cancelled

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def over(self) -> bool:
        return self.elapsed() > self.budget_s

    def tick(self, fraction: float, message: str) -> None:
        if self.cancelled is not None and self.cancelled():
            raise InterruptedError("style learning cancelled")
        if self.progress is not None:
            self.progress(min(1.0, fraction), message)


def _samples(pairs, n_px: int, seed: int):
    rng = np.random.default_rng(seed)
    xs, ys, ps = [], [], []
    for before, after in pairs:
        h, w, _ = before.shape
        idx = rng.choice(h * w, min(n_px, h * w), replace=h * w < n_px)
        idx = np.resize(idx, n_px)
        xs.append(before.reshape(-1, 3)[idx])
        ys.append(after.reshape(-1, 3)[idx])
        ps.append(pixel_positions(h, w)[idx])
    as_t = lambda a: torch.as_tensor(np.stack(a), dtype=torch.float32)  # noqa: E731
    return as_t(xs), as_t(ys), as_t(ps)


def _initial_units(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """A start for a pair's parameters: the exposure and white balance that match the pair's mean
    brightness and colour balance (the renderer's own gain formulas, ``model.params``)."""
    mb = before.reshape(-1, 3).mean(0) + 0.01
    ma = after.reshape(-1, 3).mean(0) + 0.01
    lum = np.asarray(LUMA_709)
    units = np.zeros(len(PHOTO_PARAMS))
    units[PHOTO_PARAMS.index("exposure")] = 2.2 * math.log2((ma @ lum) / (mb @ lum))
    rho = (ma[0] / ma[2]) / (mb[0] / mb[2])  # R gain 1 + t / 4, B gain 1 - t / 4
    units[PHOTO_PARAMS.index("temperature")] = 4 * (rho - 1) / (rho + 1)
    sigma = (2 * ma[1] / (ma[0] + ma[2])) / (2 * mb[1] / (mb[0] + mb[2]))  # G gain 1 - g / 5
    units[PHOTO_PARAMS.index("tint")] = 5 * (1 - sigma)
    return np.clip(units, _LO, _HI)


def _fit(pairs, clock: _Clock, share: tuple[float, float], seed: int = 0):
    """Steps 1-3 of the module docstring on ``pairs`` [(before, after)] -> (W, b, mu, sd, grade, stats)."""
    with one_torch_thread():
        return _fit_one_thread(pairs, clock, share, seed)


def _fit_one_thread(pairs, clock: _Clock, share: tuple[float, float], seed: int):
    f0, f1 = share
    x, y, pos = _samples(pairs, SAMPLES_PER_PAIR, seed)
    gx, gy, gpos = _samples(pairs, GRADE_SAMPLES_PER_PAIR, seed + 1)
    n = len(pairs)
    units = torch.as_tensor(np.stack([_initial_units(b, a) for b, a in pairs]), dtype=torch.float32)
    units.requires_grad_(True)
    penalty = torch.as_tensor(_PENALTY, dtype=torch.float32)
    gy_np = gy.numpy()
    for r in range(ROUNDS):
        with torch.no_grad():
            rendered = render_units(gx, gpos, units).numpy()
        grade = torch.as_tensor(fit_grade(rendered, gy_np))
        opt = torch.optim.Adam([units], lr=0.02)
        for s in range(STEPS):
            opt.zero_grad()
            out = lut_lookup_torch(grade, render_units(x, pos, units).reshape(-1, 3)).reshape(y.shape)
            loss = ((out - y) ** 2).mean() + (penalty * units**2).mean()
            loss.backward()
            opt.step()
            if s % 10 == 0:
                clock.tick(f0 + (f1 - f0) * 0.9 * (r + s / STEPS) / ROUNDS, f"fitting {n} pairs, round {r + 1} of {ROUNDS}")
            if clock.over():
                break
        if clock.over():
            break
    fitted = units.detach().numpy().astype(np.float64)
    F = np.stack([photo_features(before) for before, _ in pairs])
    mu, sd = F.mean(0), F.std(0) + 1e-6
    W, b, loo = ridge_loo((F - mu) / sd, fitted)
    predicted = np.clip(((F - mu) / sd) @ W + b, _LO, _HI)
    with torch.no_grad():
        rendered = render_units(gx, gpos, torch.as_tensor(predicted, dtype=torch.float32)).numpy()
    grade = fit_grade(rendered, gy_np)
    clock.tick(f1, f"fitted {n} pairs")
    stats = {"fitted_spread": fitted.std(0), "loo_rms": loo, "fitted": fitted}
    return W, b, mu, sd, grade, stats


def split_holdout(names: Sequence[str]) -> tuple[list[int], list[int]]:
    """Indices (train, held back): every fifth pair in name order when there are enough pairs."""
    order = sorted(range(len(names)), key=lambda i: names[i])
    if len(names) < HOLDOUT_FROM:
        return order, []
    held = order[2::5]
    return [i for i in order if i not in held], held


@dataclass
class LearnReport:
    pairs: int
    held_back: list[str]
    held_back_de: float | None  # mean ΔE2000 of the style (as a grid) to the afters
    held_back_input_de: float | None  # mean ΔE2000 of the untouched befores to the afters
    cube_de: float  # mean ΔE2000 of the single-LUT cube to the full style on the pairs
    seconds: float
    params: dict  # per parameter: mean and spread over the pairs, how well it is predicted


def learn_style(
    name: str,
    pairs: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    minutes: float = 2.0,
    progress: Callable[[float, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[LearnedStyle, LearnReport]:
    """Learn a style from ``pairs`` of ``(name, before, after)`` proxies ``(h, w, 3)`` float32 in
    ``[0, 1]``, aligned pixel for pixel. ``minutes`` caps the fitting time (the fit stops early and
    stays valid). ``progress(fraction, message)`` is called along the way; ``cancelled()`` returning
    True stops with InterruptedError."""
    if len(pairs) < MIN_PAIRS:
        raise ValueError(f"a style needs at least {MIN_PAIRS} usable pairs, got {len(pairs)}")
    if not minutes > 0 or not math.isfinite(minutes):
        raise ValueError(f"minutes must be a positive number, got {minutes}")
    from .predictor import predict_style_grid  # the same grid path the style is applied with
    from retouch_studio.model.grid.cpu_slice import slice_apply

    names = [p[0] for p in pairs]
    train, held = split_holdout(names)
    budget = minutes * 60
    t_start = time.perf_counter()
    held_de = held_in = None
    if held:
        clock = _Clock(budget * 0.4, progress, cancelled)
        W, b, mu, sd, grade, _ = _fit([pairs[i][1:] for i in train], clock, (0.0, 0.4))
        trial = LearnedStyle(name, mu, sd, W, b, grade, grade)
        des, ins = [], []
        for i in held:
            _, before, after = pairs[i]
            out = slice_apply(before, predict_style_grid(trial, before))
            des.append(float(delta_e_rgb(out, after).mean()))
            ins.append(float(delta_e_rgb(before, after).mean()))
        held_de, held_in = float(np.mean(des)), float(np.mean(ins))
        clock = _Clock(max(budget - clock.elapsed(), budget * 0.3), progress, cancelled)
        span = (0.45, 0.9)
    else:
        clock = _Clock(budget, progress, cancelled)
        span = (0.0, 0.9)
    W, b, mu, sd, grade, stats = _fit([p[1:] for p in pairs], clock, span)
    style = LearnedStyle(name, mu, sd, W, b, grade, grade)
    # The closest single LUT, and how far it is from the photo-adaptive style on the pairs.
    befores, styled = [], []
    for _, before, _ in pairs:
        small = box_reduce(before, CUBE_FIT_EDGE)
        befores.append(small.reshape(-1, 3))
        styled.append(style.render(small, before).reshape(-1, 3))
    befores, styled = np.concatenate(befores), np.concatenate(styled)
    cube = fit_grade(befores, styled, size=CUBE_SIZE, smoothness=1e-3)
    cube_de = float(delta_e_rgb(apply_lut(cube, befores), styled).mean())
    if progress is not None:
        progress(1.0, "done")
    params = {}
    for k, pname in enumerate(PHOTO_PARAMS):
        params[pname] = {
            "mean": float(stats["fitted"][:, k].mean() * _UNIT[k]),
            "spread": float(stats["fitted_spread"][k] * _UNIT[k]),
            "loo_error": float(stats["loo_rms"][k] * _UNIT[k]),
            "follows": _strongest_feature(W[:, k]),
        }
    report = LearnReport(
        pairs=len(pairs),
        held_back=[names[i] for i in held],
        held_back_de=held_de,
        held_back_input_de=held_in,
        cube_de=cube_de,
        seconds=time.perf_counter() - t_start,
        params=params,
    )
    info = {
        "pairs": len(pairs),
        "held_back": report.held_back,
        "held_back_delta_e": held_de,
        "held_back_input_delta_e": held_in,
        "cube_delta_e": cube_de,
        "params": params,
        "learned_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return LearnedStyle(name, mu, sd, W, b, grade, cube, info), report


def _strongest_feature(column: np.ndarray) -> str:
    if not np.any(np.abs(column) > 1e-9):
        return ""
    return FEATURE_NAMES[int(np.argmax(np.abs(column)))]
