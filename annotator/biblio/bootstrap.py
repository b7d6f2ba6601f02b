"""Seeded bootstrap intervals for a mean and for Spearman's rho."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_BOOT = 2000
DEFAULT_SEED = 0
_MAX_CELLS = 4_000_000  # draws per chunk, so a prolific author does not need GBs


def mean_cis(
    columns: Sequence[Sequence[float]], *, n_boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED, level: float = 0.95
) -> list[tuple[float, float] | None]:
    """Percentile intervals of the means of equal-length columns, from one shared resample
    of the rows (a paper's AI score and novelty are drawn together); None below two rows."""
    x = np.asarray(columns, dtype=float).reshape(len(columns), -1)
    k, n = x.shape
    if n < 2:
        return [None] * k
    rng = np.random.default_rng(seed)
    means = np.empty((k, n_boot))
    step = max(1, _MAX_CELLS // n)
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        for i in range(k):
            means[i, start : start + b] = x[i][idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    out: list[tuple[float, float] | None] = []
    for i in range(k):
        lo, hi = np.percentile(means[i], [tail, 100 - tail])
        out.append((float(lo), float(hi)))
    return out


def rankdata(values, axis=None):
    """Average ranks (scipy's); imported on first use, so profiles load without scipy."""
    from scipy.stats import rankdata as _rankdata

    return _rankdata(values) if axis is None else _rankdata(values, axis=axis)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    num = (xc * yc).sum(axis=1)
    den = np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def spearman_ci(
    x: ArrayLike,
    y: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    n_boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of Spearman's rho, resampling pairs.

    With ``strata`` (e.g. publication years) pairs are resampled within each stratum,
    so every replicate keeps the year mix; the statistic is then the pooled
    within-stratum rank correlation (:func:`pooled_within`), the same as the estimate.
    """
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    n = xa.size
    if n < 4:
        return None
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    step = max(1, _MAX_CELLS // n)
    if strata is None:
        for start in range(0, n_boot, step):
            b = min(step, n_boot - start)
            idx = rng.integers(0, n, size=(b, n))
            stats[start : start + b] = _pearson_rows(rankdata(xa[idx], axis=1), rankdata(ya[idx], axis=1))
    else:
        groups = _groups(strata)
        for start in range(0, n_boot, step):
            b = min(step, n_boot - start)
            stats[start : start + b] = _pooled_rows(xa, ya, groups, rng, b)
    ok = stats[np.isfinite(stats)]
    if ok.size < n_boot / 2:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(ok, [tail, 100 - tail])
    return float(lo), float(hi)


def _groups(strata: ArrayLike) -> list[np.ndarray]:
    keys = np.asarray([str(s) for s in np.asarray(strata).tolist()])
    return [np.flatnonzero(keys == k) for k in sorted(set(keys.tolist()))]


def _within_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to (0, 1) within each row: (rank - 0.5) / n."""
    n = values.shape[1]
    return (rankdata(values, axis=1) - 0.5) / n


def _pooled_rows(x, y, groups, rng, b) -> np.ndarray:
    us, vs = [], []
    for g in groups:
        if g.size < 2:
            continue
        idx = g[rng.integers(0, g.size, size=(b, g.size))] if rng is not None else g[None, :]
        us.append(_within_ranks(x[idx]))
        vs.append(_within_ranks(y[idx]))
    if not us:
        return np.full(b, np.nan)
    return _pearson_rows(np.concatenate(us, axis=1), np.concatenate(vs, axis=1))


def pooled_within(x: ArrayLike, y: ArrayLike, strata: ArrayLike) -> float | None:
    """Rank correlation with ranks taken within each stratum and pooled.

    Within each stratum (a publication year) both variables become scaled ranks
    (rank - 0.5) / n; the Pearson correlation of the pooled scaled ranks is the
    answer. With one stratum it equals Spearman's rho exactly. Strata with one
    member are left out.
    """
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    if xa.size < 3:
        return None
    r = _pooled_rows(xa, ya, _groups(strata), None, 1)[0]
    return None if np.isnan(r) else float(r)
