"""PNG plots per label: predicted vs gold with the fit line, calibration by bins, histograms.

Uses matplotlib's Agg canvas directly (no pyplot state, no display needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .calibration import nominal_rescale
from .metrics import linear_fit, quantile_bins
from .results import EvalResult, LabelResult


def _pairs(result: EvalResult, res: LabelResult) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for p in result.papers:
        x, y = p.pred.get(res.pred_key), p.gold.get(res.label)
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return np.array(xs, float), np.array(ys, float)


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _title(result: EvalResult, res: LabelResult, what: str) -> str:
    return f"{result.suite or 'eval'}: {res.pred_key} vs {res.gold_field} — {what}"


def _label_axes(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    """The 0-100 score axis, labels, title and legend of a predicted-vs-gold panel."""
    ax.set_xlim(-2, 102)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)


def scatter_plot(result: EvalResult, res: LabelResult, path: Path) -> Path:
    x, y = _pairs(result, res)
    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    jitter = np.random.default_rng(0).uniform(-0.4, 0.4, len(x))
    ax.scatter(x + jitter, y, s=12, alpha=0.5)
    slope, intercept = linear_fit(x, y)
    grid = np.linspace(0, 100, 50)
    ax.plot(grid, intercept + slope * grid, color="C3", label=f"least squares: {intercept:.2f} + {slope:.3f}·score")
    rho = res.metrics.get("spearman")
    if rho is not None and rho.value is not None:
        ax.plot([], [], " ", label=f"Spearman {rho.value:.3f} (n={len(x)})")
    _label_axes(
        ax, f"predicted {res.pred_key} (0-100)", f"gold {res.gold_field}", _title(result, res, "predicted vs gold")
    )
    return _save(fig, path)


def calibration_plot(result: EvalResult, res: LabelResult, path: Path, bins: int = 10) -> Path:
    x, y = _pairs(result, res)
    b = quantile_bins(x, min(bins, max(1, len(x) // 5)))
    fig = Figure(figsize=(6, 4.5))
    ax = fig.add_subplot()
    mx, my, se = [], [], []
    for k in np.unique(b):
        sel = b == k
        mx.append(x[sel].mean())
        my.append(y[sel].mean())
        se.append(y[sel].std(ddof=1) / np.sqrt(sel.sum()) if sel.sum() > 1 else 0.0)
    ax.errorbar(mx, my, yerr=se, marker="o", capsize=3, label="mean gold per score bin (±1 s.e.)")
    scale = res.scale or (float(y.min()), float(y.max()))
    ax.plot([0, 100], nominal_rescale([0, 100], scale), "--", color="grey", label="nominal: 0-100 onto the label scale")
    _label_axes(
        ax,
        f"predicted {res.pred_key}, binned (quantiles)",
        f"mean gold {res.gold_field}",
        _title(result, res, "calibration by bins"),
    )
    return _save(fig, path)


def histogram_plot(result: EvalResult, res: LabelResult, path: Path) -> Path:
    x, y = _pairs(result, res)
    fig = Figure(figsize=(8, 3.5))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    left.hist(x, bins=list(np.linspace(0, 100, 21)), color="C0")
    left.set_xlabel(f"predicted {res.pred_key}")
    left.set_ylabel("papers")
    right.hist(y, bins=20, color="C2")
    right.set_xlabel(f"gold {res.gold_field}")
    fig.suptitle(_title(result, res, "score distributions"), fontsize=9)
    return _save(fig, path)


def write_plots(result: EvalResult, out_dir: Path | str) -> list[Path]:
    """Three PNGs per label with at least three scored papers; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for label, res in result.labels.items():
        x, _ = _pairs(result, res)
        if len(x) < 3:
            continue
        paths.append(scatter_plot(result, res, out / f"{label}_scatter.png"))
        paths.append(calibration_plot(result, res, out / f"{label}_calibration.png"))
        paths.append(histogram_plot(result, res, out / f"{label}_hist.png"))
    return paths
