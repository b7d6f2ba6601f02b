"""Row-wise (vectorised) statistics for bootstrapping.

Every function takes 2-D arrays of shape ``(B, n)`` -- one row per bootstrap
replicate -- and returns a length-``B`` vector. A point estimate is the same call
with a single row, so the estimate and its interval come from the same code.
Undefined values (a constant row, a replicate with one class only) are NaN.

:func:`spearman` is the one scalar Spearman's rho of the project (evaluation metrics,
prompt version comparison, bibliometric report), with one rule for "undefined".
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, rankdata

# Above this many papers Kendall's tau loops over scipy (O(n log n)) instead of
# building the (B, n, n) sign array.
_KENDALL_VECTOR_MAX_N = 200
_CHUNK_ELEMENTS = 8_000_000


def as_rows(a) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    return arr[None, :] if arr.ndim == 1 else arr


def bootstrap_indices(n: int, n_boot: int, seed: int | np.random.Generator) -> np.ndarray:
    """``(n_boot, n)`` indices drawn with replacement; seeded, so reproducible."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_boot, n))


def percentile_ci(
    values: np.ndarray, level: float = 0.95, min_valid: float = 0.5
) -> tuple[float | None, float | None, int]:
    """Percentile interval of the finite replicates, and how many were finite.

    No interval when fewer than ``min_valid`` of the replicates are defined.
    """
    vals = np.asarray(values, dtype=float)
    ok = vals[np.isfinite(vals)]
    if vals.size == 0 or ok.size < max(2, min_valid * vals.size):
        return None, None, int(ok.size)
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(ok, [tail, 100.0 - tail])
    return float(lo), float(hi), int(ok.size)


def pearson_rows(x, y) -> np.ndarray:
    x, y = as_rows(x), as_rows(y)
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.einsum("ij,ij->i", xc, xc)
    syy = np.einsum("ij,ij->i", yc, yc)
    sxy = np.einsum("ij,ij->i", xc, yc)
    denom = np.sqrt(sxx * syy)
    defined = (np.ptp(x, axis=1) > 0) & (np.ptp(y, axis=1) > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(defined, sxy / np.where(defined, denom, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def rank_rows(x) -> np.ndarray:
    """Average ranks within each row (ties share their mean rank)."""
    return rankdata(as_rows(x), axis=1)


def spearman_rows(x, y) -> np.ndarray:
    return pearson_rows(rank_rows(x), rank_rows(y))


MIN_RANK_PAIRS = 3


def spearman(x, y) -> float | None:
    """Spearman's rho of two equal-length sequences (ties share their average rank).

    Undefined, returned as None, when there are fewer than ``MIN_RANK_PAIRS`` (3) pairs
    or either side is constant: two points always correlate perfectly, and a constant
    side has no ranking to agree with.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < MIN_RANK_PAIRS:
        return None
    rho = spearman_rows(x, y)[0]
    return float(rho) if np.isfinite(rho) else None


def kendall_rows(x, y) -> np.ndarray:
    """Kendall's tau-b per row: sum(sx*sy) / sqrt(sum(sx^2) * sum(sy^2)) over pairs."""
    x, y = as_rows(x), as_rows(y)
    b, n = x.shape
    if n > _KENDALL_VECTOR_MAX_N:
        out = np.empty(b)
        for i in range(b):
            if np.ptp(x[i]) == 0 or np.ptp(y[i]) == 0:
                out[i] = np.nan
            else:
                out[i] = kendalltau(x[i], y[i]).statistic
        return out
    # Dense integer ranks keep the order and make the pairwise signs cheap (int8).
    rx = rankdata(x, axis=1, method="dense").astype(np.int16)
    ry = rankdata(y, axis=1, method="dense").astype(np.int16)
    iu = np.triu_indices(n, k=1)
    out = np.empty(b)
    step = max(1, _CHUNK_ELEMENTS // max(1, len(iu[0])))
    for start in range(0, b, step):
        xs, ys = rx[start : start + step], ry[start : start + step]
        sx = np.sign(xs[:, iu[0]] - xs[:, iu[1]]).astype(np.int8)
        sy = np.sign(ys[:, iu[0]] - ys[:, iu[1]]).astype(np.int8)
        num = (sx * sy).sum(axis=1, dtype=np.int64)
        denom = np.sqrt(np.abs(sx).sum(axis=1, dtype=np.int64).astype(float) * np.abs(sy).sum(axis=1, dtype=np.int64))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + step] = np.where(denom > 0, num / np.where(denom > 0, denom, 1), np.nan)
    return out


def fit_error_rows(x, y) -> tuple[np.ndarray, np.ndarray]:
    """MAE and RMSE of ``y`` against the least-squares line ``a + b*x`` fit per row.

    A constant ``x`` gets slope 0, i.e. the row mean of ``y`` (the constant baseline).
    """
    x, y = as_rows(x), as_rows(y)
    xc = x - x.mean(axis=1, keepdims=True)
    ym = y.mean(axis=1, keepdims=True)
    sxx = np.einsum("ij,ij->i", xc, xc)
    sxy = np.einsum("ij,ij->i", xc, y - ym)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), 0.0)
    resid = y - ym - slope[:, None] * xc
    return np.abs(resid).mean(axis=1), np.sqrt((resid**2).mean(axis=1))


def auroc_rows(scores, positive) -> np.ndarray:
    """Area under the ROC curve per row via the Mann-Whitney rank sum (ties count 1/2)."""
    s = as_rows(scores)
    pos = np.asarray(positive, dtype=bool)
    pos = pos[None, :] if pos.ndim == 1 else pos
    ranks = rank_rows(s)
    n_pos = pos.sum(axis=1)
    n_neg = pos.shape[1] - n_pos
    rank_sum = np.where(pos, ranks, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def qwk_rows(a, b, k: int) -> np.ndarray:
    """Quadratic weighted kappa per row for integer bins ``0..k-1``."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    a = a[None, :] if a.ndim == 1 else a
    b = b[None, :] if b.ndim == 1 else b
    rows, n = a.shape
    codes = (np.arange(rows)[:, None] * k * k + a * k + b).ravel()
    observed = np.bincount(codes, minlength=rows * k * k).reshape(rows, k, k).astype(float)
    row_m = observed.sum(axis=2)
    col_m = observed.sum(axis=1)
    expected = row_m[:, :, None] * col_m[:, None, :] / n
    grid = np.arange(k)
    weights = (grid[:, None] - grid[None, :]) ** 2 / float((k - 1) ** 2 if k > 1 else 1)
    num = (weights * observed).sum(axis=(1, 2))
    den = (weights * expected).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 1.0 - num / den, np.nan)
