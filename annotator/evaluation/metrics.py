"""Agreement metrics between predicted scores and human labels, with bootstrap intervals.

Per label (AI score vs mean rating, novelty vs mean novelty, ...):

- ``spearman``, ``kendall`` (tau-b), ``pearson``: correlations of the raw 0-100 prediction
  with the gold label.
- ``mae``, ``rmse``: errors on the label's own scale after a least-squares linear fit of the
  prediction to the label, on the same papers (so a constant predictor scores the label's
  spread around its mean: that is the constant baseline).
- ``qwk``: quadratic weighted kappa between binned prediction and binned label. Default
  binning is ``"quantile"``: each side is cut into ``bins`` (5) groups at its own quantiles
  (ties stay together), which measures ordinal agreement and does not punish a model for
  using a different part of the 0-100 range. ``"fixed"`` cuts 0-100 and the label's scale
  into ``bins`` equal-width bins instead, which also checks calibration. Bins are cut
  once on all scored papers; the bootstrap resamples the binned pairs. When the gold
  labels all fall in one bin (constant labels, say) there is nothing to agree with and
  QWK is undefined, like a correlation; constant *predictions* score 0 (chance).
- ``auroc``: area under the ROC curve of the prediction for accept (true) vs reject (false),
  on papers that have a decision.

Each metric carries a 95 % percentile bootstrap interval: papers resampled with
replacement ``n_boot`` times (seeded), all replicates computed at once with numpy.
Missing predictions are never dropped silently: see :class:`Counts`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
from pydantic import BaseModel

from .stats import (
    as_rows,
    auroc_rows,
    bootstrap_indices,
    fit_error_rows,
    kendall_rows,
    pearson_rows,
    percentile_ci,
    qwk_rows,
    spearman_rows,
)

KINDS = ("spearman", "kendall", "pearson", "mae", "rmse", "qwk", "auroc")
CORRELATIONS = ("spearman", "kendall", "pearson")
LOWER_IS_BETTER = frozenset({"mae", "rmse"})
MIN_PAPERS = 3
Binning = Literal["quantile", "fixed"]


class MetricValue(BaseModel):
    """A point estimate with its bootstrap interval. ``value`` None means undefined (see note)."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    n_boot: int = 0  # bootstrap replicates where the metric was defined
    note: str | None = None


class Counts(BaseModel):
    """Papers with a gold label (``n_total``), of which scored and missing."""

    n_total: int
    n_scored: int
    n_missing: int
    missing_rate: float | None

    @classmethod
    def of(cls, n_total: int, n_scored: int) -> Counts:
        missing = n_total - n_scored
        return cls(
            n_total=n_total, n_scored=n_scored, n_missing=missing, missing_rate=(missing / n_total) if n_total else None
        )


def _scalar(values: np.ndarray) -> float:
    return float(values[0])


def kendall(x, y) -> float:
    return _scalar(kendall_rows(x, y))


def pearson(x, y) -> float:
    return _scalar(pearson_rows(x, y))


def fit_errors(x, y) -> tuple[float, float]:
    """(MAE, RMSE) of ``y`` against the least-squares line on ``x``."""
    mae, rmse = fit_error_rows(x, y)
    return float(mae[0]), float(rmse[0])


def linear_fit(x, y) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line ``y ~ intercept + slope * x``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (y - y.mean())) / sxx if sxx > 0 else 0.0
    return slope, float(y.mean() - slope * x.mean())


def auroc(scores, positive) -> float:
    return _scalar(auroc_rows(scores, positive))


def qwk(a_bins, b_bins, k: int) -> float:
    return _scalar(qwk_rows(a_bins, b_bins, k))


def quantile_bins(x, k: int = 5) -> np.ndarray:
    """Bins 0..k-1 cut at the k-quantiles of ``x``; equal values share a bin."""
    x = np.asarray(x, float)
    edges = np.quantile(x, np.linspace(0, 1, k + 1)[1:-1])
    return np.searchsorted(edges, x, side="right").astype(np.int64)


def fixed_bins(x, lo: float, hi: float, k: int = 5) -> np.ndarray:
    """Bins 0..k-1 of equal width over ``[lo, hi]`` (values outside are clipped).

    An empty range (``hi <= lo``, e.g. a scale taken from constant labels) is one bin.
    """
    x = np.clip(np.asarray(x, float), lo, hi)
    if not hi > lo:
        return np.zeros(x.shape, dtype=np.int64)
    return np.minimum(((x - lo) / (hi - lo) * k).astype(np.int64), k - 1)


def qwk_gold_defined_rows(pred_bins, gold_bins, k: int) -> np.ndarray:
    """QWK per row, NaN where the row's gold bins are all the same (nothing to agree with)."""
    gold_rows = as_rows(gold_bins)
    return np.where(np.ptp(gold_rows, axis=1) > 0, qwk_rows(pred_bins, gold_bins, k), np.nan)


def bin_pair(
    pred,
    gold,
    *,
    k: int = 5,
    binning: Binning = "quantile",
    gold_scale: tuple[float, float] | None = None,
    pred_scale: tuple[float, float] = (0.0, 100.0),
) -> tuple[np.ndarray, np.ndarray]:
    if binning == "quantile":
        return quantile_bins(pred, k), quantile_bins(gold, k)
    if gold_scale is None:
        gold_scale = (float(np.min(gold)), float(np.max(gold)))
    return fixed_bins(pred, *pred_scale, k), fixed_bins(gold, *gold_scale, k)


def _undefined_note(kind: str, pred: np.ndarray, gold: np.ndarray, n_pos: int = -1) -> str:
    if kind == "auroc":
        if n_pos < 0 or len(pred) == 0:
            return "undefined: no papers with a decision"
        return "undefined: needs both accepted and rejected papers"
    if kind == "qwk":
        if np.ptp(gold) == 0:
            return "undefined: constant gold labels"
        return "undefined: the gold labels fall in a single bin"
    if np.ptp(pred) == 0:
        return "undefined: constant predictions"
    if np.ptp(gold) == 0:
        return "undefined: constant gold labels"
    return "undefined"


def _value(point: float, boot: np.ndarray | None, n: int, note_fn) -> MetricValue:
    if not np.isfinite(point):
        return MetricValue(value=None, n=n, note=note_fn())
    lo = hi = None
    n_ok = 0
    if boot is not None:
        lo, hi, n_ok = percentile_ci(boot)
    return MetricValue(value=float(point), ci_low=lo, ci_high=hi, n=n, n_boot=n_ok)


def metric_rows(
    kind: str,
    pred: np.ndarray,
    gold: np.ndarray,
    idx: np.ndarray | None = None,
    *,
    positive: np.ndarray | None = None,
    bins: int = 5,
    binning: Binning = "quantile",
    gold_scale: tuple[float, float] | None = None,
    pred_scale: tuple[float, float] | None = None,
) -> tuple[float, np.ndarray | None]:
    """Point estimate and bootstrap replicates (rows of ``idx``; None without) of one metric.

    For ``auroc`` pass ``positive`` (bool per paper); ``gold`` is then unused.
    """
    if kind == "auroc":
        fn = lambda p, g: auroc_rows(p, g)  # noqa: E731
        gold = np.asarray(positive, bool)
    elif kind in ("mae", "rmse"):
        j = 0 if kind == "mae" else 1
        fn = lambda p, g: fit_error_rows(p, g)[j]  # noqa: E731
    elif kind == "qwk":
        pred, gold = bin_pair(
            pred, gold, k=bins, binning=binning, gold_scale=gold_scale, pred_scale=pred_scale or (0.0, 100.0)
        )
        fn = lambda p, g: qwk_gold_defined_rows(p, g, bins)  # noqa: E731
    else:
        fn = {"spearman": spearman_rows, "kendall": kendall_rows, "pearson": pearson_rows}[kind]
    point = float(fn(pred, gold)[0])
    return point, (fn(pred[idx], gold[idx]) if idx is not None else None)


def compute_metrics(
    pred,
    gold,
    *,
    accepted=None,
    kinds: Iterable[str] = KINDS,
    bins: int = 5,
    binning: Binning = "quantile",
    gold_scale: tuple[float, float] | None = None,
    pred_scale: tuple[float, float] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, MetricValue]:
    """All requested metrics of ``pred`` (0-100) against ``gold``, with bootstrap CIs.

    ``pred`` and ``gold`` hold only scored papers (no NaN). ``accepted`` is aligned with
    them: 1/0 (or True/False) for a decision, NaN/None where there is none.
    ``pred_scale`` (default 0-100) only matters for ``binning="fixed"``.
    The same seed gives the same resamples, so metrics of two predictors on the same
    papers are paired.
    """
    pred = np.asarray(pred, float)
    gold = np.asarray(gold, float)
    if pred.shape != gold.shape or pred.ndim != 1:
        raise ValueError("pred and gold must be 1-D arrays of the same length")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(gold))):
        raise ValueError("pred and gold must not contain NaN; filter missing papers first")
    kinds = [k for k in KINDS if k in set(kinds)]
    n = len(pred)
    idx = bootstrap_indices(n, n_boot, seed) if n_boot > 0 and n >= MIN_PAPERS else None
    out: dict[str, MetricValue] = {}
    for kind in kinds:
        if kind == "auroc":
            out[kind] = _auroc_metric(pred, accepted, n_boot=n_boot, seed=seed + 1)
        elif n < MIN_PAPERS:
            out[kind] = MetricValue(n=n, note=f"undefined: too few papers (n={n}, need {MIN_PAPERS})")
        else:
            point, boot = metric_rows(
                kind, pred, gold, idx, bins=bins, binning=binning, gold_scale=gold_scale, pred_scale=pred_scale
            )
            out[kind] = _value(point, boot, n, lambda k=kind: _undefined_note(k, pred, gold))
    return out


def decisions(accepted) -> np.ndarray:
    """1.0 / 0.0 for accepted / rejected, NaN where there is no decision."""
    return np.array([np.nan if a is None else float(a) for a in accepted], dtype=float)


def _auroc_metric(pred: np.ndarray, accepted, *, n_boot: int, seed: int) -> MetricValue:
    if accepted is None:
        return MetricValue(n=0, note="undefined: no decisions in this data")
    acc = decisions(accepted)
    has = np.isfinite(acc)
    scores, pos = pred[has], acc[has] > 0.5
    n = len(scores)
    if n == 0:
        return MetricValue(n=0, note=_undefined_note("auroc", scores, scores, -1))
    idx = bootstrap_indices(n, n_boot, seed) if n_boot > 0 else None
    point, boot = metric_rows("auroc", scores, scores, idx, positive=pos)
    return _value(point, boot, n, lambda: _undefined_note("auroc", scores, scores, int(pos.sum())))


def is_better(kind: str, diff: float) -> bool:
    """Whether a positive ``diff`` (candidate minus baseline) of this metric kind is an improvement."""
    return (diff < 0) if kind in LOWER_IS_BETTER else (diff > 0)
