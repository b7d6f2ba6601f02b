"""Human ceiling: how well one reviewer agrees with the other reviewers of the same paper.

Leave-one-reviewer-out: for every paper with at least two reviewers, one reviewer is
picked at random (seeded) and that reviewer's score is paired with the mean of the other
reviewers' scores; the Spearman correlation over papers is averaged over ``n_draws``
random picks. The 95 % interval resamples papers (bootstrap) and, within each replicate,
averages over the same draws, so it covers paper sampling, not the choice of reviewer.

This is a reference point, not an upper bound: a model is compared against the mean of
*all* reviewers, a slightly less noisy target than the mean of the *others*.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from .metrics import MIN_PAPERS, MetricValue
from .stats import bootstrap_indices, percentile_ci, spearman_rows

METHOD = (
    "leave-one-reviewer-out: Spearman of one random reviewer's score against the mean "
    "of the other reviewers, averaged over random draws"
)


class CeilingResult(BaseModel):
    spearman: MetricValue
    n_papers: int  # papers with two or more reviewers
    n_draws: int
    method: str = METHOD


def reviewer_draws(
    reviewer_lists: Sequence[Sequence[float]], n_draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(single, rest_mean)``, each ``(n_draws, m)``, for the m papers with 2+ reviewers."""
    lists = [list(map(float, rl)) for rl in reviewer_lists if len(rl) >= 2]
    m = len(lists)
    if m == 0:
        return np.empty((n_draws, 0)), np.empty((n_draws, 0))
    width = max(len(rl) for rl in lists)
    grid = np.zeros((m, width))
    counts = np.array([len(rl) for rl in lists])
    for i, rl in enumerate(lists):
        grid[i, : len(rl)] = rl
    totals = grid.sum(axis=1)
    pick = np.minimum((rng.random((n_draws, m)) * counts).astype(np.int64), counts - 1)
    single = grid[np.arange(m)[None, :], pick]
    rest = (totals[None, :] - single) / (counts[None, :] - 1)
    return single, rest


def human_ceiling(
    reviewer_lists: Sequence[Sequence[float]], *, n_draws: int = 10, n_boot: int = 1000, seed: int = 0
) -> CeilingResult:
    """Leave-one-reviewer-out Spearman over the papers with two or more reviewers."""
    rng = np.random.default_rng(seed)
    single, rest = reviewer_draws(reviewer_lists, n_draws, rng)
    m = single.shape[1]
    if m < MIN_PAPERS:
        note = f"undefined: {m} papers with two or more reviewers (need {MIN_PAPERS})"
        return CeilingResult(spearman=MetricValue(n=m, note=note), n_papers=m, n_draws=n_draws)
    per_draw = spearman_rows(single, rest)
    if not np.any(np.isfinite(per_draw)):
        note = "undefined: reviewers' scores are constant"
        return CeilingResult(spearman=MetricValue(n=m, note=note), n_papers=m, n_draws=n_draws)
    point = float(np.nanmean(per_draw))
    lo = hi = None
    n_ok = 0
    if n_boot > 0:
        idx = bootstrap_indices(m, n_boot, rng)
        total = np.zeros(n_boot)
        defined = np.zeros(n_boot)
        for d in range(n_draws):
            r = spearman_rows(single[d][idx], rest[d][idx])
            ok = np.isfinite(r)
            total += np.where(ok, r, 0.0)
            defined += ok
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = np.where(defined > 0, total / np.maximum(defined, 1), np.nan)
        lo, hi, n_ok = percentile_ci(boot)
    value = MetricValue(value=point, ci_low=lo, ci_high=hi, n=m, n_boot=n_ok)
    return CeilingResult(spearman=value, n_papers=m, n_draws=n_draws)
