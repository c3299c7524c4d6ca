"""3D colour look-up tables: fit one to an edit, read and write ``.cube``, measure ΔE.

A LUT here is a float array ``lut`` of shape ``(S, S, S, 3)`` indexed ``lut[b, g, r]`` (blue
slowest, red fastest), so ``lut.reshape(-1, 3)`` is exactly the row order of a ``.cube`` file
(Resolve / Adobe format) and of Pillow's ``ImageFilter.Color3DLUT`` table. Node ``k`` of an axis
sits at input value ``k / (S - 1)`` (node-aligned, domain ``[0, 1]``); lookups interpolate
trilinearly, as Resolve, Adobe and Pillow do. Colours are sRGB-encoded in ``[0, 1]``.

Fitting (:func:`fit_lut`): a bilateral-grid edit varies across the photo, a LUT cannot, so we
look for the one global colour mapping that best reproduces the edit on that photo:

    minimise  mean_p || T(L)(src_p) - dst_p ||^2  +  λ · ∫ |∇(L - I)|^2

where ``T(L)`` is trilinear interpolation in ``L`` (linear in the LUT values) and ``I`` the
identity LUT. The second term (a graph Laplacian over the LUT cells, scaled to approximate the
integral over the unit cube so λ does not depend on S) keeps the LUT smooth and fills cells the
photo has no colours in: there ``L - I`` is a harmonic interpolation of the fitted offsets, so
colours the photo lacks get the edit of their nearest neighbours rather than garbage. Pixels with
the same 8-bit source colour are merged first (their mean target with their count as weight gives
the same least-squares problem), then the sparse normal equations are solved by conjugate
gradients (the three output channels side by side).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from retouch_studio.model.atomic import OutputError, write_text_atomic


class CubeError(Exception):
    """A ``.cube`` file could not be read or written; the message names the file and problem."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# --------------------------------------------------------------------------------------------
# Colour difference
# --------------------------------------------------------------------------------------------

_SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded ``(..., 3)`` in ``[0, 1]`` -> CIE L*a*b* (D65), float64."""
    rgb = np.clip(np.asarray(rgb, np.float64), 0.0, 1.0)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _SRGB_TO_XYZ.T / _D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of ``(..., 3)`` L*a*b* arrays (kL = kC = kH = 1).

    Implemented after Sharma, Wu & Dalal (2005), whose test pairs the tests check.
    """
    lab1 = np.asarray(lab1, np.float64)
    lab2 = np.asarray(lab2, np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    cbar7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(cbar7 / (cbar7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    zero = (c1p * c2p) == 0

    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(zero, 0.0, dh)
    dhp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))

    lbarp = (l1 + l2) / 2
    cbarp = (c1p + c2p) / 2
    hsum = h1p + h2p
    hbarp = np.where(
        np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)
    )
    hbarp = np.where(zero, hsum, hbarp)
    t = (
        1
        - 0.17 * np.cos(np.radians(hbarp - 30))
        + 0.24 * np.cos(np.radians(2 * hbarp))
        + 0.32 * np.cos(np.radians(3 * hbarp + 6))
        - 0.20 * np.cos(np.radians(4 * hbarp - 63))
    )
    dtheta = 30 * np.exp(-(((hbarp - 275) / 25) ** 2))
    cbarp7 = cbarp**7
    rc = 2 * np.sqrt(cbarp7 / (cbarp7 + 25.0**7))
    sl = 1 + 0.015 * (lbarp - 50) ** 2 / np.sqrt(20 + (lbarp - 50) ** 2)
    sc = 1 + 0.045 * cbarp
    sh = 1 + 0.015 * cbarp * t
    rt = -np.sin(np.radians(2 * dtheta)) * rc
    return np.sqrt(
        (dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp / sh) ** 2 + rt * (dcp / sc) * (dhp / sh)
    )


def delta_e_rgb(rgb1: np.ndarray, rgb2: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """Per-pixel CIEDE2000 between two sRGB ``(..., 3)`` arrays in ``[0, 1]`` (float32 result)."""
    a = np.asarray(rgb1).reshape(-1, 3)
    b = np.asarray(rgb2).reshape(-1, 3)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {np.shape(rgb1)} vs {np.shape(rgb2)}")
    out = np.empty(len(a), np.float32)
    for i in range(0, len(a), chunk):
        out[i : i + chunk] = delta_e_2000(srgb_to_lab(a[i : i + chunk]), srgb_to_lab(b[i : i + chunk]))
    return out.reshape(np.shape(rgb1)[:-1])


# --------------------------------------------------------------------------------------------
# LUT basics
# --------------------------------------------------------------------------------------------


def identity_lut(size: int) -> np.ndarray:
    """``(S, S, S, 3)`` float32, ``lut[b, g, r] = (r, g, b) / (S - 1)``."""
    _check_size(size)
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r, g, b], -1)


def _check_size(size: int) -> None:
    if not isinstance(size, (int, np.integer)) or not 2 <= size <= 256:
        raise ValueError(f"LUT size must be an integer in [2, 256], got {size!r}")


def _check_lut(lut: np.ndarray) -> int:
    lut = np.asarray(lut)
    s = lut.shape[0] if lut.ndim == 4 else -1
    if lut.ndim != 4 or lut.shape != (s, s, s, 3) or s < 2:
        raise ValueError(f"lut must have shape (S, S, S, 3), got {lut.shape}")
    return s


def _corners(rgb: np.ndarray, size: int):
    """Trilinear corner indices ``(N, 8)`` into the flat red-fastest LUT and weights ``(N, 8)``."""
    coord = np.clip(np.asarray(rgb, np.float64).reshape(-1, 3), 0.0, 1.0) * (size - 1)
    i0 = np.minimum(np.floor(coord).astype(np.int64), size - 2)
    t = coord - i0
    idx = np.empty((len(coord), 8), np.int64)
    wts = np.empty((len(coord), 8), np.float64)
    k = 0
    for db in (0, 1):
        wb = t[:, 2] if db else 1 - t[:, 2]
        for dg in (0, 1):
            wg = t[:, 1] if dg else 1 - t[:, 1]
            for dr in (0, 1):
                wr = t[:, 0] if dr else 1 - t[:, 0]
                idx[:, k] = (i0[:, 0] + dr) + size * ((i0[:, 1] + dg) + size * (i0[:, 2] + db))
                wts[:, k] = wr * wg * wb
                k += 1
    return idx, wts


def apply_lut(lut: np.ndarray, rgb: np.ndarray, chunk: int = 1 << 19) -> np.ndarray:
    """Trilinear lookup of ``rgb (..., 3)`` in ``[0, 1]`` (clamped) -> float32 ``(..., 3)``."""
    size = _check_lut(lut)
    flat = np.asarray(lut, np.float64).reshape(-1, 3)
    src = np.asarray(rgb).reshape(-1, 3)
    if src.dtype == np.uint8:
        src = src / 255.0
    elif src.dtype == np.uint16:
        src = src / 65535.0
    out = np.empty(src.shape, np.float32)
    for i in range(0, len(src), chunk):
        idx, wts = _corners(src[i : i + chunk], size)
        out[i : i + chunk] = np.einsum("nk,nkc->nc", wts, flat[idx])
    return out.reshape(np.shape(rgb))


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LutFit:
    """A fitted LUT and how well it reproduces the edit on the photo it was fitted to.

    ``delta_e_*`` are CIEDE2000 statistics between the LUT applied to the source pixels and the
    edited pixels, over all pixels given to :func:`fit_photo_lut`.
    """

    lut: np.ndarray
    delta_e_mean: float
    delta_e_p95: float
    delta_e_max: float
    pixels: int
    colors: int
    iterations: int


def merge_colors(src_u8: np.ndarray, dst: np.ndarray):
    """Merge pixels that share an 8-bit source colour.

    src_u8 ``(N, 3)`` uint8, dst ``(N, 3)`` float -> (unique source colours ``(M, 3)`` float64 in
    ``[0, 1]``, mean target ``(M, 3)``, counts ``(M,)``). Least squares over the merged colours
    with the counts as weights equals least squares over the pixels, up to a constant.
    """
    src_u8 = np.asarray(src_u8, np.uint8).reshape(-1, 3)
    dst = np.asarray(dst, np.float64).reshape(-1, 3)
    key = (src_u8[:, 0].astype(np.int64) << 16) | (src_u8[:, 1].astype(np.int64) << 8) | src_u8[:, 2]
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    mean = np.stack([np.bincount(inverse, dst[:, c], len(uniq)) for c in range(3)], -1) / counts[:, None]
    colors = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], -1) / 255.0
    return colors, mean, counts.astype(np.float64)


def _laplacian(size: int) -> sp.csr_matrix:
    """Graph Laplacian of the ``S^3`` LUT lattice (6-neighbour), red-fastest flat order."""
    n = size**3
    idx = np.arange(n).reshape(size, size, size)  # [b, g, r]
    rows, cols = [], []
    for axis in range(3):
        a = np.take(idx, np.arange(size - 1), axis=axis).ravel()
        b = np.take(idx, np.arange(1, size), axis=axis).ravel()
        rows.append(a)
        cols.append(b)
    a = np.concatenate(rows)
    b = np.concatenate(cols)
    e = len(a)
    d = sp.csr_matrix((np.r_[np.ones(e), -np.ones(e)], (np.r_[np.arange(e), np.arange(e)], np.r_[a, b])), shape=(e, n))
    return (d.T @ d).tocsr()


def fit_lut(
    src: np.ndarray,
    dst: np.ndarray,
    size: int = 33,
    smoothness: float = 1e-3,
    weights: np.ndarray | None = None,
    tol: float = 1e-7,
    maxiter: int = 2000,
) -> tuple[np.ndarray, int]:
    """Least-squares LUT with a smoothness prior; returns ``(lut (S, S, S, 3) float32, iterations)``.

    src, dst: ``(N, 3)`` sRGB-encoded in ``[0, 1]`` (source colour and its edited colour);
    weights: ``(N,)`` non-negative (e.g. pixel counts of merged colours), default 1.
    smoothness: λ of the module docstring (relative to a mean-squared data term).
    """
    _check_size(size)
    src = np.asarray(src, np.float64).reshape(-1, 3)
    dst = np.asarray(dst, np.float64).reshape(-1, 3)
    if src.shape != dst.shape or len(src) == 0:
        raise ValueError(f"src and dst must be matching non-empty (N, 3) arrays, got {src.shape} and {dst.shape}")
    if not smoothness > 0:
        raise ValueError(f"smoothness must be > 0 (it fills cells without data), got {smoothness}")
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    if w.shape != (len(src),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be (N,), non-negative and not all zero")
    w = w / w.sum()
    n = size**3
    idx, wts = _corners(src, size)
    W = sp.csr_matrix((wts.ravel(), (np.repeat(np.arange(len(src)), 8), idx.ravel())), shape=(len(src), n))
    WtC = W.T.multiply(w[None, :]).tocsr()
    # ∫|∇f|² over the unit cube ≈ Σ_edges (Δf)² · (S-1)² · h³ with h = 1/(S-1).
    reg = smoothness / (size - 1)
    A = (WtC @ W + reg * _laplacian(size)).tocsr()
    # Trilinear interpolation of the identity LUT is exact, so solve for the offset from it.
    rhs = WtC @ (dst - src)
    offset, iters = _block_pcg(A, rhs, tol, maxiter)
    lut = identity_lut(size).reshape(-1, 3) + offset
    return np.clip(lut, 0.0, 1.0).astype(np.float32).reshape(size, size, size, 3), iters


def _block_pcg(A: sp.csr_matrix, b: np.ndarray, tol: float, maxiter: int) -> tuple[np.ndarray, int]:
    """Jacobi-preconditioned conjugate gradients for ``A X = B`` with ``B`` of shape (n, k),
    the k systems run side by side. Written out rather than scipy's ``cg`` because that one's
    BLAS dot products stall badly when the CPU is oversubscribed; these reductions do not."""
    inv_diag = (1.0 / A.diagonal())[:, None]
    x = np.zeros_like(b)
    r = b.copy()
    z = r * inv_diag
    p = z.copy()
    rz = (r * z).sum(0)
    stop = tol * np.sqrt((b * b).sum(0))
    it = 0
    while it < maxiter and (np.sqrt((r * r).sum(0)) > stop).any():
        ap = A @ p
        pap = (p * ap).sum(0)
        alpha = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        x += alpha * p
        r -= alpha * ap
        z = r * inv_diag
        rz_new = (r * z).sum(0)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        p = z + beta * p
        rz = rz_new
        it += 1
    if not np.isfinite(x).all():
        raise RuntimeError("LUT solve diverged")
    return x, it


def fit_photo_lut(
    source: np.ndarray, edited: np.ndarray, size: int = 33, smoothness: float = 1e-3
) -> LutFit:
    """Fit a LUT to ``source -> edited`` (``(H, W, 3)`` uint8 source, edited float32 in [0, 1]
    or uint8) and measure the fit's ΔE on every pixel."""
    source = np.asarray(source)
    if source.dtype != np.uint8 or source.ndim != 3 or source.shape[-1] != 3:
        raise ValueError(f"source must be (H, W, 3) uint8, got {source.shape} {source.dtype}")
    edited = np.asarray(edited)
    if edited.shape != source.shape:
        raise ValueError(f"edited shape {edited.shape} differs from source {source.shape}")
    if edited.dtype == np.uint8:
        edited = edited.astype(np.float32) / 255.0
    edited = np.clip(edited.astype(np.float32), 0.0, 1.0)
    colors, mean, counts = merge_colors(source.reshape(-1, 3), edited.reshape(-1, 3))
    lut, iters = fit_lut(colors, mean, size=size, smoothness=smoothness, weights=counts)
    de = delta_e_rgb(apply_lut(lut, source), edited)
    return LutFit(
        lut=lut,
        delta_e_mean=float(de.mean()),
        delta_e_p95=float(np.percentile(de, 95)),
        delta_e_max=float(de.max()),
        pixels=int(de.size),
        colors=len(colors),
        iterations=iters,
    )


# --------------------------------------------------------------------------------------------
# .cube files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CubeLut:
    lut: np.ndarray  # (S, S, S, 3) float32, [b, g, r]
    title: str = ""
    domain_min: tuple[float, float, float] = (0.0, 0.0, 0.0)
    domain_max: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Look up float ``rgb (..., 3)`` given in the file's domain (inputs outside are clamped)."""
        lo = np.asarray(self.domain_min, np.float64)
        hi = np.asarray(self.domain_max, np.float64)
        return apply_lut(self.lut, (np.asarray(rgb, np.float64) - lo) / (hi - lo))


def format_cube(lut: np.ndarray, title: str = "", comments: list[str] | tuple = ()) -> str:
    """The ``.cube`` text; pure ASCII (other characters in the title and comments are written as
    ``\\uXXXX`` escapes, since readers expect ASCII)."""
    size = _check_lut(lut)
    title = _ascii(title).replace('"', "'").replace("\n", " ")
    lines = [f"# {_ascii(c)}" for text in comments for c in str(text).splitlines()]
    lines += [f'TITLE "{title}"', f"LUT_3D_SIZE {size}", "DOMAIN_MIN 0.0 0.0 0.0", "DOMAIN_MAX 1.0 1.0 1.0"]
    body = np.asarray(lut, np.float64).reshape(-1, 3)
    lines += [f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in body]
    return "\n".join(lines) + "\n"


def _ascii(text: str) -> str:
    return str(text).encode("ascii", "backslashreplace").decode("ascii")


def write_cube(
    path: str | os.PathLike, lut: np.ndarray, title: str = "", comments=(), *, overwrite: bool = False, inputs=()
) -> Path:
    """Write a ``.cube`` file through ``model.atomic`` (atomic, never over an input, never over an
    existing file unless ``overwrite``)."""
    path = Path(path)
    text = format_cube(lut, title, comments)
    try:
        return write_text_atomic(path, text, encoding="ascii", overwrite=overwrite, inputs=inputs)
    except OutputError as exc:
        raise CubeError(path, exc.reason) from None


def read_cube(path: str | os.PathLike) -> CubeLut:
    """Read a 3D ``.cube`` (Resolve / Adobe). 1D LUTs and shaper LUTs are refused."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise CubeError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CubeError(path, f"cannot read ({exc})") from exc
    size = None
    title = ""
    dmin, dmax = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    rows: list[tuple[float, float, float]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, rest = line.partition(" ")
        try:
            if key == "TITLE":
                title = rest.strip().strip('"')
            elif key == "LUT_3D_SIZE":
                size = int(rest)
                _check_size(size)
            elif key == "LUT_1D_SIZE":
                raise CubeError(path, "1D LUTs are not supported (need LUT_3D_SIZE)")
            elif key in ("DOMAIN_MIN", "DOMAIN_MAX", "LUT_3D_INPUT_RANGE"):
                vals = tuple(float(v) for v in rest.split())
                if key == "LUT_3D_INPUT_RANGE":
                    if len(vals) != 2:
                        raise ValueError
                    dmin, dmax = (vals[0],) * 3, (vals[1],) * 3
                elif len(vals) != 3:
                    raise ValueError
                elif key == "DOMAIN_MIN":
                    dmin = vals
                else:
                    dmax = vals
            elif key[:1].isalpha():
                continue  # unknown keyword (LUT_IN_VIDEO_RANGE ...): ignore, as readers do
            else:
                vals = tuple(float(v) for v in line.split())
                if len(vals) != 3 or not all(math.isfinite(v) for v in vals):
                    raise ValueError
                rows.append(vals)  # type: ignore[arg-type]
        except ValueError:
            raise CubeError(path, f"line {lineno}: cannot parse {raw.strip()[:60]!r}") from None
    if size is None:
        raise CubeError(path, "no LUT_3D_SIZE line")
    if len(rows) != size**3:
        raise CubeError(path, f"expected {size ** 3} table rows for size {size}, found {len(rows)}")
    if any(lo >= hi for lo, hi in zip(dmin, dmax, strict=True)):
        raise CubeError(path, f"DOMAIN_MIN {dmin} must be below DOMAIN_MAX {dmax}")
    lut = np.asarray(rows, np.float32).reshape(size, size, size, 3)
    return CubeLut(lut, title, dmin, dmax)
