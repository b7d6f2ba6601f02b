"""Isotonic calibration: a monotone map from raw 0-100 scores to a label's scale.

:func:`calibrate_split` fits the map on one random half of the scored papers and tests it
on the other half, next to two references on the same test half:

- ``before``: the nominal linear rescale, 0-100 onto the label's scale (what the raw
  score "means" if taken at face value);
- ``linear``: a least-squares line fit on the training half;
- ``after``: the isotonic map fit on the training half.

The map is plain JSON (``x`` raw-score thresholds, ``y`` label values); :func:`apply`
interpolates linearly between thresholds and clips outside them, exactly as
``sklearn.isotonic.IsotonicRegression(out_of_bounds="clip").predict`` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel
from sklearn.isotonic import IsotonicRegression

from annotator.files import write_atomic

from .metrics import linear_fit
from .stats import spearman

MIN_PAPERS = 10


class CalibrationMap(BaseModel):
    x: list[float]
    y: list[float]
    label: str | None = None
    scale: tuple[float, float] | None = None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> CalibrationMap:
        return cls.model_validate_json(text)

    def save(self, path: Path | str) -> None:
        write_atomic(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path | str) -> CalibrationMap:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def fit_isotonic(scores, gold, *, label: str | None = None, scale: tuple[float, float] | None = None) -> CalibrationMap:
    """Fit a non-decreasing map from ``scores`` to ``gold`` (clipped to ``scale`` if given)."""
    scores = np.asarray(scores, float)
    gold = np.asarray(gold, float)
    lo, hi = scale if scale else (None, None)
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=lo, y_max=hi)
    iso.fit(scores, gold)
    return CalibrationMap(
        x=[float(v) for v in iso.X_thresholds_],
        y=[float(v) for v in iso.y_thresholds_],
        label=label,
        scale=tuple(scale) if scale else None,
    )


def apply(cmap: CalibrationMap | dict, score):
    """Calibrated value(s) for raw score(s): a float for a float, an array for an array."""
    if isinstance(cmap, dict):
        cmap = CalibrationMap.model_validate(cmap)
    out = np.interp(np.asarray(score, float), cmap.x, cmap.y)
    return float(out) if np.ndim(out) == 0 else out


def _errors(pred: np.ndarray, gold: np.ndarray) -> dict[str, float | None]:
    resid = pred - gold
    return {
        "mae": float(np.mean(np.abs(resid))),
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "spearman": spearman(pred, gold),
    }


class CalibrationReport(BaseModel):
    method: str = "isotonic"
    n_train: int
    n_test: int
    before: dict[str, float | None]  # nominal 0-100 -> scale rescale, on the test half
    linear: dict[str, float | None]  # least-squares line from the training half
    after: dict[str, float | None]  # isotonic map from the training half
    map: CalibrationMap  # fit on the training half


def nominal_rescale(scores, scale: tuple[float, float]) -> np.ndarray:
    lo, hi = scale
    return lo + np.asarray(scores, float) / 100.0 * (hi - lo)


def calibrate_split(
    scores,
    gold,
    *,
    scale: tuple[float, float] | None = None,
    label: str | None = None,
    test_fraction: float = 0.5,
    seed: int = 0,
) -> CalibrationReport | None:
    """Fit on a seeded random split, report before/after on the held-out part (None if n < 10)."""
    scores = np.asarray(scores, float)
    gold = np.asarray(gold, float)
    n = len(scores)
    if n < MIN_PAPERS:
        return None
    if scale is None:
        scale = (float(gold.min()), float(gold.max()))
    order = np.random.default_rng(seed).permutation(n)
    n_test = min(n - 2, max(2, int(round(n * test_fraction))))
    test, train = order[:n_test], order[n_test:]
    cmap = fit_isotonic(scores[train], gold[train], label=label, scale=scale)
    slope, intercept = linear_fit(scores[train], gold[train])
    g = gold[test]
    return CalibrationReport(
        n_train=len(train),
        n_test=len(test),
        before=_errors(nominal_rescale(scores[test], scale), g),
        linear=_errors(intercept + slope * scores[test], g),
        after=_errors(apply(cmap, scores[test]), g),
        map=cmap,
    )
