"""Reference predictors, scored on exactly the papers the model was scored on.

- ``constant_mean``: predicts one value for every paper. After the linear fit its error is
  the label's spread around its mean (MAE/RMSE); its correlations are undefined (reported
  as such, not as 0), AUROC is 0.5 and QWK 0.
- ``tfidf_ridge``: TF-IDF of title + abstract (unigrams and bigrams, sublinear tf,
  English stop words, min_df 2) into ridge regression (alpha 1), one model per label.
  Predictions are out-of-fold from shuffled 5-fold cross-validation over a pool of papers
  (by default the suite's whole data file), so no paper is predicted by a model that saw it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from .metrics import KINDS, Binning, MetricValue, compute_metrics

TFIDF = "tfidf_ridge"
CONSTANT = "constant_mean"
DESCRIPTIONS = {
    TFIDF: "TF-IDF (title + abstract, 1-2 grams) + ridge, out-of-fold predictions from 5-fold CV",
    CONSTANT: "the same score for every paper (the label mean after the linear fit)",
}


class BaselineResult(BaseModel):
    name: str
    description: str
    metrics: dict[str, MetricValue]
    note: str | None = None


def make_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2), stop_words="english")


def tfidf_ridge_oof(
    texts: Sequence[str],
    targets: Mapping[str, Sequence[float | None]],
    *,
    n_splits: int = 5,
    seed: int = 0,
    alpha: float = 1.0,
) -> dict[str, np.ndarray]:
    """Out-of-fold ridge predictions for each target (None/NaN targets are not trained on).

    The vectoriser is fit on each fold's training texts only. A paper whose fold has too
    few labelled training papers gets NaN.
    """
    texts = list(texts)
    n = len(texts)
    if n < 2 * n_splits:
        raise ValueError(f"need at least {2 * n_splits} papers for {n_splits}-fold CV, got {n}")
    ys = {name: np.array([np.nan if v is None else float(v) for v in vals]) for name, vals in targets.items()}
    for name, y in ys.items():
        if len(y) != n:
            raise ValueError(f"target {name!r} has {len(y)} values for {n} texts")
    out = {name: np.full(n, np.nan) for name in ys}
    folds = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for train, test in folds.split(np.arange(n)):
        vec = make_vectorizer()
        try:
            x_train = vec.fit_transform([texts[i] for i in train])
        except ValueError:  # empty vocabulary (tiny or degenerate texts)
            continue
        x_test = vec.transform([texts[i] for i in test])
        for name, y in ys.items():
            ok = train[np.isfinite(y[train])]
            if len(ok) < 2:
                continue
            rows = np.isin(train, ok)
            model = Ridge(alpha=alpha).fit(x_train[rows], y[ok])
            out[name][test] = model.predict(x_test)
    return out


def constant_baseline(
    gold,
    *,
    accepted=None,
    kinds: Sequence[str] = KINDS,
    bins: int = 5,
    binning: Binning = "quantile",
    gold_scale=None,
    n_boot: int = 1000,
    seed: int = 0,
) -> BaselineResult:
    gold = np.asarray(gold, float)
    metrics = compute_metrics(
        np.zeros(len(gold)),
        gold,
        accepted=accepted,
        kinds=kinds,
        bins=bins,
        binning=binning,
        gold_scale=gold_scale,
        n_boot=n_boot,
        seed=seed,
    )
    return BaselineResult(name=CONSTANT, description=DESCRIPTIONS[CONSTANT], metrics=metrics)


def tfidf_baseline(
    pred,
    gold,
    *,
    accepted=None,
    kinds: Sequence[str] = KINDS,
    bins: int = 5,
    binning: Binning = "quantile",
    gold_scale=None,
    n_boot: int = 1000,
    seed: int = 0,
    note: str | None = None,
) -> BaselineResult:
    """Metrics of out-of-fold TF-IDF predictions (on the label's scale) for the same papers."""
    pred = np.asarray(pred, float)
    gold = np.asarray(gold, float)
    ok = np.isfinite(pred)
    if not ok.all():
        missing = int((~ok).sum())
        return BaselineResult(
            name=TFIDF,
            description=DESCRIPTIONS[TFIDF],
            metrics={},
            note=f"not computed: {missing} papers without an out-of-fold prediction",
        )
    metrics = compute_metrics(
        pred,
        gold,
        accepted=accepted,
        kinds=kinds,
        bins=bins,
        binning=binning,
        gold_scale=gold_scale,
        pred_scale=gold_scale,
        n_boot=n_boot,
        seed=seed,
    )
    return BaselineResult(name=TFIDF, description=DESCRIPTIONS[TFIDF], metrics=metrics, note=note)
