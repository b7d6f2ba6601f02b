"""Fit a ridge head: features -> a suite's human labels, with a recorded out-of-fold split.

For each target (``ai``: mean rating; ``novelty``: novelty or contribution label) the
head standardises the features and fits a ridge regression whose alpha is chosen by
cross-validation inside the training papers (scikit-learn's ``RidgeCV``, efficient
leave-one-out). Papers are split into ``k`` folds (seeded, recorded per paper): every
paper gets an out-of-fold prediction from a head fitted without it, and the metrics
the head reports are computed on those predictions only. With several suites each
suite is also predicted by a head fitted on the others (fit on A, test on B).

A prediction is turned into a 0-100 score as its percentile among the out-of-fold
predictions of the training papers (a rank, so 50 is a typical labelled paper), and
into an interval from the quantiles of the out-of-fold residuals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold

ALPHAS = tuple(float(a) for a in np.logspace(-1, 5, 13))
MIN_TRAIN = 10
RESIDUAL_LEVEL = 0.8  # the interval covers 80 % of out-of-fold residuals
DIGITS = 7  # significant digits stored: files and hashes stable across BLAS builds


def _round(values: np.ndarray | Sequence[float]) -> list[float]:
    return [float(f"{float(v):.{DIGITS}g}") for v in values]


@dataclass
class LinearMap:
    """``y = x @ weights + intercept`` on the raw features (standardisation folded in)."""

    weights: np.ndarray
    intercept: float
    alpha: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float64) @ self.weights + self.intercept

    def to_json(self) -> dict[str, Any]:
        return {"weights": _round(self.weights), "intercept": _round([self.intercept])[0], "alpha": self.alpha}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearMap:
        return cls(np.asarray(data["weights"], np.float64), float(data["intercept"]), float(data["alpha"]))


def fit_linear(x: np.ndarray, y: np.ndarray, alphas: Sequence[float] = ALPHAS) -> LinearMap:
    """Standardise, fit RidgeCV (alpha by leave-one-out inside ``x``), fold the scaling back."""
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    model = RidgeCV(alphas=alphas).fit((x - mean) / scale, y)
    weights = model.coef_ / scale
    intercept = float(model.intercept_ - mean @ weights)
    lm = LinearMap(weights, intercept, float(model.alpha_))
    # round as stored, so a reloaded head predicts exactly what this one does
    return LinearMap.from_json(lm.to_json())


@dataclass
class TargetFit:
    """One target's head: the final map, the out-of-fold predictions and the score map."""

    name: str
    model: LinearMap
    oof: dict[str, float]  # paper id -> prediction from a head that never saw it
    cross: dict[str, float]  # paper id -> prediction from a head fitted on the other suites
    quantiles: list[float]  # 101 quantiles of the out-of-fold predictions: the 0-100 map
    residuals: tuple[float, float]  # out-of-fold residual quantiles for the interval
    n_train: int

    def score(self, prediction: float | np.ndarray) -> np.ndarray:
        """0-100: the percentile of ``prediction`` among the training papers' predictions."""
        q = np.asarray(self.quantiles)
        return np.asarray(np.interp(prediction, q, np.linspace(0, 100, len(q))))

    def interval(self, prediction: float) -> tuple[float, float]:
        """The label-scale interval around ``prediction`` from the out-of-fold residuals."""
        return prediction + self.residuals[0], prediction + self.residuals[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model.to_json(),
            "oof": {k: _round([v])[0] for k, v in sorted(self.oof.items())},
            "cross": {k: _round([v])[0] for k, v in sorted(self.cross.items())},
            "quantiles": _round(self.quantiles),
            "residuals": _round(self.residuals),
            "n_train": self.n_train,
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> TargetFit:
        res = data["residuals"]
        return cls(
            name,
            LinearMap.from_json(data["model"]),
            dict(data["oof"]),
            dict(data.get("cross") or {}),
            list(data["quantiles"]),
            (float(res[0]), float(res[1])),
            int(data["n_train"]),
        )


@dataclass
class Split:
    k: int
    seed: int
    folds: dict[str, int] = field(default_factory=dict)  # paper id -> fold

    def to_json(self) -> dict[str, Any]:
        return {"k": self.k, "seed": self.seed, "folds": dict(sorted(self.folds.items()))}


def make_split(ids: Sequence[str], k: int, seed: int) -> Split:
    if len(ids) < 2 * k:
        raise ValueError(f"need at least {2 * k} papers for {k} folds, got {len(ids)}")
    folds = np.zeros(len(ids), int)
    for fold, (_, test) in enumerate(KFold(n_splits=k, shuffle=True, random_state=seed).split(ids)):
        folds[test] = fold
    return Split(k, seed, {i: int(f) for i, f in zip(ids, folds)})


def fit_target(
    name: str,
    ids: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    split: Split,
    groups: Sequence[str] | None = None,
    alphas: Sequence[float] = ALPHAS,
) -> TargetFit:
    """Fit one target on the papers with a finite label; ``groups``: suite per paper."""
    ok = np.isfinite(y)
    if ok.sum() < MIN_TRAIN:
        raise ValueError(f"target '{name}': {int(ok.sum())} labelled papers, need {MIN_TRAIN}")
    ids_ok = [i for i, m in zip(ids, ok) if m]
    x_ok, y_ok = x[ok], y[ok]
    fold = np.array([split.folds[i] for i in ids_ok])
    oof = np.full(len(ids_ok), np.nan)
    for f in range(split.k):
        test = fold == f
        if test.any() and (~test).sum() >= MIN_TRAIN:
            oof[test] = fit_linear(x_ok[~test], y_ok[~test], alphas).predict(x_ok[test])
    cross: dict[str, float] = {}
    if groups is not None:
        g = np.array([gr for gr, m in zip(groups, ok) if m])
        if len(set(g)) > 1:
            for name_g in sorted(set(g)):
                test = g == name_g
                if (~test).sum() >= MIN_TRAIN:
                    pred = fit_linear(x_ok[~test], y_ok[~test], alphas).predict(x_ok[test])
                    cross.update(zip([i for i, t in zip(ids_ok, test) if t], pred.tolist()))
    done = np.isfinite(oof)
    resid = y_ok[done] - oof[done]
    lo = (1 - RESIDUAL_LEVEL) / 2
    return TargetFit(
        name=name,
        model=fit_linear(x_ok, y_ok, alphas),
        oof={i: float(v) for i, v in zip(ids_ok, oof) if np.isfinite(v)},
        cross=cross,
        quantiles=np.quantile(oof[done], np.linspace(0, 1, 101)).tolist(),
        residuals=(float(np.quantile(resid, lo)), float(np.quantile(resid, 1 - lo))),
        n_train=int(ok.sum()),
    )


def fit_targets(
    ids: Sequence[str],
    x: np.ndarray,
    targets: Mapping[str, np.ndarray],
    *,
    k: int = 5,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> tuple[Split, dict[str, TargetFit]]:
    """The split over ``ids`` and one :class:`TargetFit` per target (NaN labels skipped)."""
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate paper ids among the papers to fit on")
    if x.shape[0] != len(ids):
        raise ValueError(f"{x.shape[0]} feature rows for {len(ids)} papers")
    split = make_split(list(ids), k, seed)
    fits = {}
    for name, y in targets.items():
        if np.isfinite(np.asarray(y, float)).sum() >= MIN_TRAIN:
            fits[name] = fit_target(name, ids, x, np.asarray(y, float), split, groups)
    return split, fits
