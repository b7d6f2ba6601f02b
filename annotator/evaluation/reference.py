"""Reference numbers of a suite's data, independent of any model: human ceiling and TF-IDF.

``annotator eval baselines evals/iclr2022.toml`` prints them for the whole data file
(``--sample``: the suite's sample only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer

from .baselines import tfidf_ridge_oof
from .ceiling import CeilingResult, human_ceiling
from .items import load_items
from .labels import label_specs_for_suite
from .metrics import CORRELATIONS, MetricValue, compute_metrics
from .suite_types import EvalItem, Suite


class LabelReference(BaseModel):
    """One label: out-of-fold TF-IDF + ridge correlations, and the human ceiling when the
    suite names the per-reviewer scores (the key is left out of the JSON otherwise)."""

    gold_field: str
    n: int
    tfidf_ridge: dict[str, MetricValue]
    human_ceiling: CeilingResult | None = None

    @model_serializer(mode="wrap")
    def _without_missing_ceiling(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if data.get("human_ceiling") is None:
            data.pop("human_ceiling", None)
        return data


class ReferenceNumbers(BaseModel):
    suite: str
    n_papers: int
    labels: dict[str, LabelReference]


def reference_numbers(
    suite: Suite, items: Sequence[EvalItem] | None = None, *, n_boot: int = 1000, seed: int = 0, ceiling_draws: int = 10
) -> ReferenceNumbers:
    """Per label: human ceiling (Spearman) and out-of-fold TF-IDF + ridge correlations.

    ``items`` (default: the whole data file) are the papers scored; the TF-IDF model is
    always cross-validated over the whole file, as in :func:`evaluate`.
    """
    pool = load_items(suite, sample=False)
    items = list(items) if items is not None else pool
    specs = label_specs_for_suite(suite)
    oof_pool = tfidf_ridge_oof(
        [it.text for it in pool], {s.name: [s.gold(it) for it in pool] for s in specs}, seed=seed
    )
    row = {it.id: i for i, it in enumerate(pool)}
    take = np.array([row[it.id] for it in items])
    oof = {name: preds[take] for name, preds in oof_pool.items()}
    labels: dict[str, LabelReference] = {}
    for spec in specs:
        gold = np.array([np.nan if (g := spec.gold(it)) is None else g for it in items])
        ok = np.isfinite(gold) & np.isfinite(oof[spec.name])
        ceiling = None
        if spec.reviewers_field:
            ceiling = human_ceiling(
                [spec.reviewers(it) for it, m in zip(items, ok) if m], n_draws=ceiling_draws, n_boot=n_boot, seed=seed
            )
        labels[spec.name] = LabelReference(
            gold_field=spec.gold_field,
            n=int(ok.sum()),
            human_ceiling=ceiling,
            tfidf_ridge=compute_metrics(oof[spec.name][ok], gold[ok], kinds=CORRELATIONS, n_boot=n_boot, seed=seed),
        )
    return ReferenceNumbers(suite=suite.name, n_papers=len(items), labels=labels)


def _fmt(mv: MetricValue) -> str:
    if mv.value is None:
        return "undefined"
    ci = f" [{mv.ci_low:.3f}, {mv.ci_high:.3f}]" if mv.ci_low is not None else ""
    return f"{mv.value:.3f}{ci}"


def summary_lines(ref: ReferenceNumbers) -> list[str]:
    """The reference numbers as plain text, one line per figure."""
    lines = [f"{ref.suite}: {ref.n_papers} papers"]
    for label, e in ref.labels.items():
        lines.append(f"  {label} ({e.gold_field}, n={e.n})")
        if e.human_ceiling is not None:
            hc = e.human_ceiling
            lines.append(
                f"    human ceiling Spearman   {_fmt(hc.spearman)}  ({hc.n_papers} papers, {hc.n_draws} draws)"
            )
        lines.append(f"    TF-IDF + ridge Spearman  {_fmt(e.tfidf_ridge['spearman'])}")
    return lines
