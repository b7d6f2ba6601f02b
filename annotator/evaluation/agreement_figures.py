"""The agreement figures of one label: the judge's (:mod:`.agreement`) beside one
reviewer's against the others (:mod:`.human_agreement`), with shared bootstrap draws."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .agreement import (
    ALPHA_METHOD,
    PAIRWISE_METHOD,
    REPEATS_METHOD,
    RUNS_METHOD,
    Agreement,
    Figure,
    alpha_pairs,
    alpha_rows,
    default_margin,
    draw_counts,
    judge_units,
    mean_abs_pair_difference,
    metric_value,
    pair_matrices,
    pairwise_rows,
    to_scale,
    unit_sums,
)
from .human_agreement import human_alpha, human_pairwise, human_run_to_run
from .metrics import MIN_PAPERS, MetricValue
from .stats import bootstrap_indices


def judge_agreement(
    pred,
    gold,
    reviewers: Sequence[Sequence[float]],
    *,
    scale: tuple[float, float] | None,
    samples: Sequence[Sequence[float]] | None = None,
    runs: Sequence[Sequence[float]] | None = None,
    margin: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ceiling_draws: int = 10,
) -> Agreement:
    """The judge's figures (``pred`` 0-100 against ``gold`` and each reviewer of the same papers),
    each beside one reviewer's against the others (``human_agreement``)."""
    pred, gold = np.asarray(pred, float), np.asarray(gold, float)
    n = len(pred)
    margin = default_margin(scale, gold) if margin is None else margin
    counts = draw_counts(bootstrap_indices(n, n_boot, seed), n) if n_boot > 0 and n >= MIN_PAPERS else None
    w, k = pair_matrices(pred, gold, margin)
    point = float(k.sum() / w.sum()) if n >= MIN_PAPERS and w.sum() else float("nan")
    pairs = Figure(
        judge=metric_value(
            point,
            pairwise_rows(w, k, counts) if counts is not None else None,
            n,
            f"no pair of papers differs by {margin:g} or more",
        ),
        method=PAIRWISE_METHOD + f"; margin {margin:g}",
    )
    lists = [list(map(float, rl)) for rl in reviewers]
    common = dict(n_boot=n_boot, seed=seed, n_draws=ceiling_draws)
    if lists and len(lists) == n:
        pairs.human, pairs.human_method = human_pairwise(lists, margin, **common)
    alpha = Figure(judge=MetricValue(n=0, note="undefined: no reviewer scores"), method=ALPHA_METHOD)
    if lists and len(lists) == n and scale is not None:
        first, second, paper = judge_units(to_scale(pred, scale), lists)
        a = alpha_pairs(first, second) if len(first) >= 2 else float("nan")
        boot = alpha_rows(unit_sums(first, second, paper, n), counts) if counts is not None else None
        alpha.judge = metric_value(a, boot, len(first), "too few or constant scores")
        alpha.human, alpha.human_method = human_alpha(lists, **common)
    return Agreement(
        margin=margin,
        pairwise_accuracy=pairs,
        alpha=alpha,
        run_to_run=_spread(samples, RUNS_METHOD, counts, lists, scale, n_boot, seed),
        between_runs=_spread(runs, REPEATS_METHOD, counts, lists, scale, n_boot, seed),
    )


def _spread(
    readings: Sequence[Sequence[float]] | None,
    method: str,
    counts: np.ndarray | None,
    lists: list[list[float]],
    scale: tuple[float, float] | None,
    n_boot: int,
    seed: int,
) -> Figure | None:
    """Mean absolute difference between two readings of a paper (samples, or runs), beside
    two reviewers of the same paper; None when no paper has two readings."""
    if readings is None or not any(len(s) >= 2 for s in readings):
        return None
    per = np.array([np.nan if (d := mean_abs_pair_difference(s)) is None else d for s in readings])
    ok = np.isfinite(per)
    boot = None
    if counts is not None:
        c = counts[:, ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (c @ per[ok]) / c.sum(axis=1)
    fig = Figure(judge=metric_value(float(per[ok].mean()), boot, int(ok.sum()), "no readings"), method=method)
    if lists and scale is not None:
        fig.human, fig.human_method = human_run_to_run(lists, scale, n_boot=n_boot, seed=seed)
    return fig
