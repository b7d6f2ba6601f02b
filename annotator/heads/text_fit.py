"""Fitting text-feature ridge maps on every labelled paper, with honest held-out predictions.

One vocabulary and idf are fitted on all labelled texts (no labels are read, so the
out-of-fold figures stay honest about the labels; the idf sees the test papers' words, as
any model refitted on a feed would). Ridge regressions (a fixed ``alpha``, chosen by the
out-of-fold figures in ``evals/head_figures.py``) are then fitted per target:

- out-of-fold: the recorded 5-fold split (seed 0), each paper predicted by the map fitted
  without its fold;
- other suites: each suite predicted by the map fitted on the others only.

The count matrix is the slow part (minutes for 21,000 abstracts on a loaded machine), so
:func:`counts` caches it under ``build/`` keyed by the sha256 of the texts and settings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import Ridge

from .text_model import make_counter, smooth_idf, tfidf

CACHE = Path(__file__).resolve().parents[2] / "build" / "text-counts"
NGRAMS = (1, 2)
MIN_DF = 3
MAX_FEATURES = 200_000
TOL = 1e-6


def counts(
    texts: Sequence[str],
    ngram_range: tuple[int, int] = NGRAMS,
    min_df: int = MIN_DF,
    max_features: int | None = MAX_FEATURES,
    cache: Path | None = CACHE,
) -> tuple[sp.csr_matrix, list[str]]:
    """(term counts, vocabulary in column order, columns sorted by term)."""
    digest = hashlib.sha256(json.dumps([list(ngram_range), min_df, max_features]).encode())
    for t in texts:
        digest.update(t.encode("utf-8") + b"\0")
    name = digest.hexdigest()[:20]
    if cache is not None and (cache / f"{name}.npz").is_file():
        vocab = json.loads((cache / f"{name}.json").read_text(encoding="utf-8"))
        return sp.load_npz(cache / f"{name}.npz").tocsr(), vocab
    counter = make_counter(ngram_range, min_df=min_df, max_features=max_features)
    x = counter.fit_transform(list(texts)).tocsr()
    found = counter.vocabulary_
    vocab = sorted(found)
    x = x[:, [found[t] for t in vocab]].tocsr()
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        sp.save_npz(cache / f"{name}.npz", x)
        (cache / f"{name}.json").write_text(json.dumps(vocab), encoding="utf-8")
    return x, vocab


def top_columns(x: sp.csr_matrix, n: int) -> np.ndarray:
    """The ``n`` columns with the highest total count (ties by column), in column order."""
    if n >= x.shape[1]:
        return np.arange(x.shape[1])
    total = np.asarray(x.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(len(total)), -total))
    return np.sort(order[:n])


def features(x: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    idf = smooth_idf(x)
    return tfidf(x, idf), idf


def fit_ridge(x: sp.csr_matrix, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    model = Ridge(alpha=alpha, solver="sparse_cg", tol=TOL).fit(x, y)
    return np.asarray(model.coef_, np.float64), float(model.intercept_)


def held_out(x: sp.csr_matrix, y: np.ndarray, folds: np.ndarray, alpha: float) -> np.ndarray:
    """Out-of-fold predictions for every row (NaN labels are never trained on)."""
    out = np.full(len(y), np.nan)
    ok = np.isfinite(y)
    for f in sorted(set(folds.tolist())):
        test = folds == f
        w, b = fit_ridge(x[~test & ok], y[~test & ok], alpha)
        out[test] = x[test] @ w + b
    return out


def other_suites(
    x: sp.csr_matrix, y: np.ndarray, suite: np.ndarray, alpha: float, only: Sequence[str] | None = None
) -> np.ndarray:
    """Each suite's rows predicted by the map fitted on the other suites (NaN elsewhere)."""
    out = np.full(len(y), np.nan)
    ok = np.isfinite(y)
    for name in only or sorted(set(suite.tolist())):
        test = suite == name
        if (~test & ok).sum() < 10:
            continue
        w, b = fit_ridge(x[~test & ok], y[~test & ok], alpha)
        out[test] = x[test] @ w + b
    return out
