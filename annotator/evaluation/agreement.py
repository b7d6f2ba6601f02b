"""Agreement as reviewers measure it: pairwise accuracy, Krippendorff's alpha, run-to-run spread.

Each figure of the judge sits beside the same figure for one human reviewer against
the others on the same papers (:mod:`.human_agreement`), so a reader sees how far
the judge is from a reviewer, not only from the mean of the reviewers.

- **Pairwise accuracy.** Over every pair of papers whose gold means differ by at
  least ``margin`` (on the label's scale), the share the judge orders as the gold
  orders them; a tie in the judge's scores counts one half. Default margin: a tenth
  of the label's scale (0.9 on 1-10, 1.0 on 0-10, 0.3 on 1-4), so near-ties of the
  gold, which reviewers themselves cannot order, do not count.
- **Krippendorff's alpha (interval).** The judge's 0-100 score put on the label's
  scale by its linear map (0 at the bottom, 100 at the top), paired with each
  reviewer's score of the same paper: one unit per (paper, reviewer), two values
  each. For units of two values alpha has a closed form,
  ``1 - (n - 1) * sum((a - b)^2) / (n * SS)`` (``n`` values, ``SS`` their sum of
  squared deviations from their mean), computed here with numpy for the point and
  every bootstrap replicate at once. The ``krippendorff`` package gives the same
  value (the tests check it on random data) but builds a coincidence matrix over
  every distinct value: about 3 s a call on 1,000 units of 0-100 scores, 20 calls
  a report, so it checks this code instead of running in it.
- **Run to run.** When a judgment holds several samples (``samples: K``) or a run
  is repeated, the mean absolute difference between two readings of the same paper
  on 0-100: per paper the mean over pairs of samples, then the mean over papers.
  Samples and repeated runs are two figures: ``run_to_run`` (the samples inside one
  judgment) and ``between_runs`` (the paper's final score in each of ``--repeats N``
  independent runs, each request with its own cache identity so none is a replay).

Intervals are 95 % percentile bootstraps over papers: the same resamples as the other
metrics (same seed), expressed as how often each paper was drawn, so a pairwise
figure of one replicate is ``c' K c / c' W c`` for draw counts ``c``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from .metrics import MetricValue
from .stats import percentile_ci

NO_DECISION = "No accept/reject metrics (AUROC)"
MARGIN_SHARE = 0.1  # the default margin: this share of the label's scale
PAIRWISE_METHOD = (
    "share of paper pairs whose gold means differ by at least the margin that the "
    "score orders as the gold does (a tied score counts 1/2)"
)
ALPHA_METHOD = (
    "Krippendorff's alpha (interval) of the score on the label's scale (0-100 mapped "
    "linearly) against each reviewer of the same paper (closed form for two-value units)"
)
RUNS_METHOD = (
    "mean absolute difference between two readings of the same paper on 0-100 "
    "(pairs of samples or of runs), averaged over papers"
)
REPEATS_METHOD = (
    "mean absolute difference on 0-100 between the paper's final score in two "
    "independent runs of the same prompt version and model (each request with its "
    "own cache identity, so no run is a replay), over pairs of runs, averaged over papers"
)


class Figure(BaseModel):
    """One agreement figure of the judge and the same figure for a human reviewer."""

    judge: MetricValue
    human: MetricValue | None = None
    method: str
    human_method: str | None = None


class Agreement(BaseModel):
    """Agreement figures of one label."""

    margin: float  # pairwise accuracy counts pairs whose gold differs by at least this much
    pairwise_accuracy: Figure
    alpha: Figure
    run_to_run: Figure | None = None  # only with samples
    between_runs: Figure | None = None  # only with repeated runs (eval run --repeats N)


def draw_counts(idx: np.ndarray, n: int) -> np.ndarray:
    """``(B, n)`` how often each paper was drawn in each bootstrap replicate."""
    counts = np.zeros((idx.shape[0], n))
    np.add.at(counts, (np.arange(idx.shape[0])[:, None], idx), 1.0)
    return counts


def default_margin(scale: tuple[float, float] | None, gold: np.ndarray) -> float:
    lo, hi = scale if scale is not None else (float(np.min(gold)), float(np.max(gold)))
    return MARGIN_SHARE * (hi - lo)


def pair_matrices(pred: np.ndarray, gold: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(W, K): W[i, j] = 1 for a counted pair (gold differs by ``margin`` or more), K[i, j]
    the credit of that pair (1 ordered as the gold, 1/2 tied, 0 reversed)."""
    g = gold[:, None] - gold[None, :]
    p = pred[:, None] - pred[None, :]
    w = (np.abs(g) >= margin) & (g != 0)
    credit = np.where(p == 0, 0.5, (np.sign(p) == np.sign(g)).astype(float))
    return w.astype(float), np.where(w, credit, 0.0)


def pairwise_accuracy(pred, gold, margin: float) -> float:
    """The share of counted pairs ordered as the gold orders them (NaN without a pair)."""
    w, k = pair_matrices(np.asarray(pred, float), np.asarray(gold, float), margin)
    return float(k.sum() / w.sum()) if w.sum() else float("nan")


def pairwise_rows(w: np.ndarray, k: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Pairwise accuracy of each replicate (rows of ``counts``)."""
    den = np.einsum("bi,bi->b", counts @ w, counts)
    num = np.einsum("bi,bi->b", counts @ k, counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def to_scale(score: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    lo, hi = scale
    return lo + np.asarray(score, float) / 100.0 * (hi - lo)


def alpha_pairs(first: np.ndarray, second: np.ndarray) -> float:
    """Krippendorff's alpha (interval) of two-value units ``(first[u], second[u])``."""
    first, second = np.asarray(first, float), np.asarray(second, float)
    if len(first) < 2:
        return float("nan")
    sums = unit_sums(first, second, np.zeros(len(first), dtype=int), 1)
    return float(alpha_rows(sums, np.ones((1, 1)))[0])


def unit_sums(first: np.ndarray, second: np.ndarray, paper: np.ndarray, m: int) -> np.ndarray:
    """Per paper: (sum of squared differences, number of values, sum, sum of squares) of its units."""
    out = np.zeros((4, m))
    np.add.at(out[0], paper, (first - second) ** 2)
    np.add.at(out[1], paper, 2.0)
    np.add.at(out[2], paper, first + second)
    np.add.at(out[3], paper, first**2 + second**2)
    return out


def alpha_rows(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Closed-form interval alpha of two-value units, per replicate (rows of ``counts``)."""
    d, n, s1, s2 = (counts @ sums[i] for i in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = s2 - s1**2 / n
        ok = (n > 2) & (ss > 1e-12)
        return np.where(ok, 1.0 - (n - 1) * d / np.where(ok, n * ss, 1.0), np.nan)


def judge_units(score_on_scale: np.ndarray, reviewers: Sequence[Sequence[float]]):
    """(judge value, reviewer value, paper index) of every (paper, reviewer) unit."""
    first, second, paper = [], [], []
    for i, (s, rl) in enumerate(zip(score_on_scale, reviewers)):
        for r in rl:
            first.append(float(s))
            second.append(float(r))
            paper.append(i)
    return np.array(first), np.array(second), np.array(paper, dtype=int)


def mean_abs_pair_difference(values: Sequence[float]) -> float | None:
    """Mean of |a - b| over the pairs of ``values`` (None with fewer than two)."""
    v = np.asarray(values, float)
    if len(v) < 2:
        return None
    diff = np.abs(v[:, None] - v[None, :])
    return float(diff.sum() / (len(v) * (len(v) - 1)))


def metric_value(point: float, boot: np.ndarray | None, n: int, note: str) -> MetricValue:
    if not np.isfinite(point):
        return MetricValue(n=n, note=f"undefined: {note}")
    lo = hi = None
    n_ok = 0
    if boot is not None:
        lo, hi, n_ok = percentile_ci(boot)
    return MetricValue(value=float(point), ci_low=lo, ci_high=hi, n=n, n_boot=n_ok)


def no_decision_note(items: Sequence, specs: Sequence) -> list[str]:
    """Why a report has no accept/reject metric, when it has none."""
    if any("auroc" in s.kinds for s in specs):
        return []
    if any(getattr(it, "accepted", None) is not None for it in items):
        return []
    return [
        NO_DECISION + ": none of these papers has a decision; the suite "
        "names no decision field because its reviews were collected before any decision "
        "was made (ICLR 2026's first reviews, say). Agreement is measured against the "
        "reviewers' scores only."
    ]
