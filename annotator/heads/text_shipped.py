"""The text head: TF-IDF of title and abstract -> where the paper's ratings would rank.

The judge a plain ``pip install`` has (prompt ``text-head@1``, method ``text-head``): no
model to compile or start. Fitted on every labelled paper (``heads.labelled``: about
21,000, most of them ICLR 2026 first reviews), targets as percentiles within each
venue-year. Settings (word uni- and bigrams, ``MAX_FEATURES`` terms, ridge ``ALPHA``) were
chosen by the out-of-fold figures of ``evals/head_figures.py``; the choice and the
figures are in ``docs/heads.md``.

The shipped document (``annotator/data/heads/text/head.json``) is a :class:`Head` of kind
``text``: its inputs are the text model's predictions, one per target, and each target's
linear map picks its own (weight 1), so the score map, intervals and metrics work as
for every head. It does not list the 21,000 papers' folds (the split is recorded by its
seed); a training paper is recognised by its text hash in the text model's ``held`` table,
which gives its out-of-fold prediction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from annotator.evaluation.metrics import compute_metrics

from .fit import RESIDUAL_LEVEL, LinearMap, Split, TargetFit, make_split
from .labelled import Labelled
from .model import Head
from .text_fit import features, fit_ridge, held_out, other_suites, top_columns
from .text_model import TextModel, key
from .vector_store import SHIPPED_DIR

TEXT_DIR = SHIPPED_DIR / "text"
PROMPT = "text-head@1"
MODEL = "tfidf"  # the model name text-head runs are stored under (judge.endpoint.TEXT_MODEL)
MAX_FEATURES = 50_000
ALPHA = 10.0
K, SEED = 5, 0
TARGETS = ("ai", "novelty")


def score_fit(name: str, y: np.ndarray, oof: np.ndarray, alpha: float, index: int, n_targets: int) -> TargetFit:
    """The head's map for one target: pick the text model's prediction; scores and
    intervals from its out-of-fold predictions of the labelled papers."""
    ok = np.isfinite(y) & np.isfinite(oof)
    resid = y[ok] - oof[ok]
    lo = (1 - RESIDUAL_LEVEL) / 2
    pick = np.zeros(n_targets)
    pick[index] = 1.0
    return TargetFit(
        name,
        LinearMap(pick, 0.0, alpha),
        {},
        {},
        np.quantile(oof[ok], np.linspace(0, 1, 101)).tolist(),
        (float(np.quantile(resid, lo)), float(np.quantile(resid, 1 - lo))),
        int(np.isfinite(y).sum()),
    )


def suite_metrics(
    lab: Labelled, preds: Mapping[str, Mapping[str, np.ndarray]], *, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Spearman (and accept AUROC where decisions exist) per suite, target and protocol,
    against the raw labels (the mean rating, the mean novelty or contribution)."""
    gold = {
        "ai": np.array([np.nan if it.gold_ai is None else it.gold_ai for it in lab.items]),
        "novelty": np.array([np.nan if it.gold_novelty is None else it.gold_novelty for it in lab.items]),
    }
    accepted = [np.nan if it.accepted is None else float(it.accepted) for it in lab.items]
    out: dict[str, Any] = {}
    for suite in sorted(set(lab.suite.tolist())):
        for name in TARGETS:
            for how, pred in preds.get(name, {}).items():
                rows = np.where((lab.suite == suite) & np.isfinite(gold[name]) & np.isfinite(pred))[0]
                if len(rows) < 10:
                    continue
                acc = [accepted[i] for i in rows]
                kinds = ("spearman", "auroc") if np.isfinite(acc).any() else ("spearman",)
                m = compute_metrics(pred[rows], gold[name][rows], accepted=acc, kinds=kinds, n_boot=n_boot, seed=seed)
                out.setdefault(suite, {}).setdefault(name, {})[how] = {
                    k: {"value": v.value, "ci_low": v.ci_low, "ci_high": v.ci_high, "n": v.n} for k, v in m.items()
                }
    return out


def build_text_head(
    lab: Labelled,
    texts: Sequence[str],
    counts,
    vocab: Sequence[str],
    provenance: dict[str, Any],
    *,
    max_features: int = MAX_FEATURES,
    alpha: float = ALPHA,
    cross: bool = True,
    n_boot: int = 1000,
) -> tuple[Head, dict[str, np.ndarray]]:
    """The text head and the out-of-fold prediction of every paper per target."""
    cols = top_columns(counts, max_features)
    x, idf = features(counts[:, cols])
    split = make_split(lab.ids, K, SEED)
    folds = np.array([split.folds[i] for i in lab.ids])
    targets = lab.targets()
    weights, intercepts, oof, fits = {}, {}, {}, {}
    preds: dict[str, dict[str, np.ndarray]] = {}
    for index, name in enumerate(TARGETS):
        y = targets[name]
        oof[name] = held_out(x, y, folds, alpha)
        ok = np.isfinite(y)
        weights[name], intercepts[name] = fit_ridge(x[ok], y[ok], alpha)
        fits[name] = score_fit(name, y, oof[name], alpha, index, len(TARGETS))
        preds[name] = {"out_of_fold": oof[name]}
        if cross:
            preds[name]["other_suites"] = other_suites(x, y, lab.suite, alpha)
    model = TextModel(
        [vocab[c] for c in cols],
        idf,
        (1, 2),
        weights,
        intercepts,
        alpha,
        {key(t): [float(oof[n][i]) for n in TARGETS] for i, t in enumerate(texts)},
    )
    suites = sorted(set(lab.suite.tolist()))
    labels = {name: {"scale": "percentile within venue-year", "fields": {}} for name in TARGETS}
    head = Head(
        kind="text",
        targets=fits,
        split=Split(K, SEED, {}),
        suites=suites,
        labels=labels,
        provenance=dict(provenance, papers={s: int((lab.suite == s).sum()) for s in suites}),
        metrics=suite_metrics(lab, preds, n_boot=n_boot),
        text=model,
    )
    return head, oof
