"""The human side of the agreement figures: one reviewer against the others, same papers.

Every figure of :mod:`.agreement` is computed again with a human in the judge's
place, on the papers with two or more reviewers:

- **pairwise accuracy**: one reviewer picked at random (seeded) per paper is the
  "score", the mean of the other reviewers the "gold"; pairs whose gold differs by the
  same margin count, ties of the picked scores count one half (reviewers' scores are
  coarse, so ties are frequent: a judge with fine scores has no such help or harm
  beyond what the rule gives both). Averaged over ``n_draws`` picks, as the human
  ceiling (:mod:`.ceiling`) averages its Spearman.
- **alpha**: the picked reviewer against each other reviewer of the paper (one
  two-value unit each), interval metric, averaged over the draws.
- **run to run**: the mean absolute difference between two reviewers of the same
  paper, put on 0-100 by the label's scale, so it reads beside the judge's spread
  between two of its samples.

Intervals resample papers (bootstrap) and average over the same draws within each
replicate. With many papers the pairwise bootstrap is an (m x m) product per draw
and replicate, so the replicates are capped at a budget of about 2e9 operations.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .agreement import (
    alpha_pairs,
    alpha_rows,
    draw_counts,
    mean_abs_pair_difference,
    metric_value,
    pair_matrices,
    pairwise_rows,
    unit_sums,
)
from .metrics import MIN_PAPERS, MetricValue
from .stats import bootstrap_indices

PAIRWISE = (
    "one random reviewer against the mean of the others: pairwise accuracy with the same margin, averaged over draws"
)
ALPHA = "one random reviewer against each other reviewer: Krippendorff's alpha (interval), averaged over draws"
RUNS = "mean absolute difference between two reviewers of the same paper, on 0-100"
_BUDGET = 2e9


def _grid(lists: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    rows = [list(rl) for rl in lists if len(rl) >= 2]
    width = max((len(r) for r in rows), default=0)
    grid = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        grid[i, : len(r)] = r
    return grid, np.array([len(r) for r in rows], dtype=int)


def _picks(counts: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    return np.minimum((rng.random((n_draws, len(counts))) * counts).astype(np.int64), counts - 1)


def human_pairwise(
    lists: Sequence[Sequence[float]], margin: float, *, n_boot: int = 1000, seed: int = 0, n_draws: int = 10
) -> tuple[MetricValue, str]:
    grid, counts = _grid(lists)
    m = len(counts)
    if m < MIN_PAPERS:
        return MetricValue(n=m, note=f"undefined: {m} papers with two or more reviewers"), PAIRWISE
    rng = np.random.default_rng(seed)
    picks = _picks(counts, n_draws, rng)
    totals = np.nansum(grid, axis=1)
    mats = []
    for d in range(n_draws):
        single = grid[np.arange(m), picks[d]]
        mats.append(pair_matrices(single, (totals - single) / (counts - 1), margin))
    per_draw = [k.sum() / w.sum() if w.sum() else np.nan for w, k in mats]
    point = float(np.nanmean(per_draw)) if np.any(np.isfinite(per_draw)) else float("nan")
    boot = None
    reps = min(n_boot, max(50, int(_BUDGET / (m * m * n_draws))))
    if n_boot > 0:
        c = draw_counts(bootstrap_indices(m, reps, rng), m)
        with warnings.catch_warnings():  # a draw where no pair differs enough is NaN: expected
            warnings.simplefilter("ignore", RuntimeWarning)
            boot = np.nanmean(np.vstack([pairwise_rows(w, k, c) for w, k in mats]), axis=0)
    return metric_value(point, boot, m, f"no pair differs by {margin:g} or more"), PAIRWISE


def human_alpha(
    lists: Sequence[Sequence[float]], *, n_boot: int = 1000, seed: int = 0, n_draws: int = 10
) -> tuple[MetricValue, str]:
    grid, counts = _grid(lists)
    m = len(counts)
    if m < MIN_PAPERS:
        return MetricValue(n=m, note=f"undefined: {m} papers with two or more reviewers"), ALPHA
    rng = np.random.default_rng(seed + 1)
    picks = _picks(counts, n_draws, rng)
    points, sums = [], []
    for d in range(n_draws):
        first, second, paper = [], [], []
        for i in range(m):
            for j in range(counts[i]):
                if j != picks[d, i]:
                    first.append(grid[i, picks[d, i]])
                    second.append(grid[i, j])
                    paper.append(i)
        f, s = np.array(first), np.array(second)
        points.append(alpha_pairs(f, s))
        sums.append(unit_sums(f, s, np.array(paper, dtype=int), m))
    point = float(np.nanmean(points)) if np.any(np.isfinite(points)) else float("nan")
    boot = None
    if n_boot > 0:
        c = draw_counts(bootstrap_indices(m, n_boot, rng), m)
        with np.errstate(invalid="ignore"):
            boot = np.nanmean(np.vstack([alpha_rows(s, c) for s in sums]), axis=0)
    return metric_value(point, boot, int(counts.sum() - m), "reviewers' scores are constant"), ALPHA


def human_run_to_run(
    lists: Sequence[Sequence[float]], scale: tuple[float, float], *, n_boot: int = 1000, seed: int = 0
) -> tuple[MetricValue, str]:
    lo, hi = scale
    per = np.array([d for rl in lists if (d := mean_abs_pair_difference(rl)) is not None])
    per = per * 100.0 / (hi - lo) if hi > lo else per * np.nan
    m = len(per)
    if m < MIN_PAPERS:
        return MetricValue(n=m, note=f"undefined: {m} papers with two or more reviewers"), RUNS
    boot = None
    if n_boot > 0:
        boot = per[bootstrap_indices(m, n_boot, seed + 2)].mean(axis=1)
    return metric_value(float(per.mean()), boot, m, "no reviewer scores"), RUNS
