"""Build a :class:`Head` from labelled papers and their features (no database, no model).

Used by ``annotator eval fit`` (``annotator.heads.train``) and by ``evals/fit_head.py``,
which rebuilds the shipped head from the shipped vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from annotator.evaluation.metrics import compute_metrics
from annotator.evaluation.suite_types import EvalItem, Suite

from .fit import fit_targets
from .model import Head, Neighbours

METRIC_KINDS = ("spearman", "auroc")


def _target_values(items: Sequence[EvalItem]) -> dict[str, np.ndarray]:
    ai = np.array([np.nan if it.gold_ai is None else it.gold_ai for it in items], float)
    nov = np.array([np.nan if it.gold_novelty is None else it.gold_novelty for it in items], float)
    return {"ai": ai, "novelty": nov}


def label_info(suites: Sequence[Suite]) -> dict[str, dict[str, Any]]:
    """Per target: the gold field of each suite and a common scale (for words, not maths)."""
    info: dict[str, dict[str, Any]] = {"ai": {"fields": {}, "scale": None}, "novelty": {"fields": {}, "scale": None}}
    for s in suites:
        info["ai"]["fields"][s.name] = s.ai.gold
        info["ai"]["scale"] = list(s.ai.scale)
        if s.novelty is not None:
            info["novelty"]["fields"][s.name] = s.novelty.gold
            info["novelty"]["scale"] = list(s.novelty.scale)
    return info


def _metric_dict(pred, gold, accepted, n_boot: int, seed: int) -> dict[str, Any]:
    kinds = METRIC_KINDS if any(a is not None for a in accepted) else ("spearman",)
    acc = [np.nan if a is None else float(a) for a in accepted]
    out = compute_metrics(np.asarray(pred), np.asarray(gold), accepted=acc, kinds=kinds, n_boot=n_boot, seed=seed)
    return {k: {"value": v.value, "ci_low": v.ci_low, "ci_high": v.ci_high, "n": v.n} for k, v in out.items()}


def held_out_metrics(
    head: Head, items: Sequence[EvalItem], suite_of: dict[str, str], *, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Spearman and accept AUROC per suite and target, on out-of-fold predictions and (with
    several suites) on predictions of a head fitted on the other suites."""
    gold = _target_values(items)
    out: dict[str, Any] = {}
    for suite in head.suites:
        rows = [i for i, it in enumerate(items) if suite_of[it.id] == suite]
        for name, t in head.targets.items():
            for how, table in (("out_of_fold", t.oof), ("other_suites", t.cross)):
                keep = [i for i in rows if items[i].id in table and np.isfinite(gold[name][i])]
                if len(keep) < 3:
                    continue
                pred = [table[items[i].id] for i in keep]
                out.setdefault(suite, {}).setdefault(name, {})[how] = _metric_dict(
                    pred, gold[name][keep], [items[i].accepted for i in keep], n_boot, seed
                )
    return out


def build_head(
    kind: str,
    items: Sequence[EvalItem],
    suite_of: dict[str, str],
    x: np.ndarray,
    suites: Sequence[Suite],
    provenance: dict[str, Any],
    *,
    k: int = 5,
    seed: int = 0,
    feature_names: Sequence[str] = (),
    text_hashes: Sequence[str] | None = None,
    n_boot: int = 1000,
) -> Head:
    """Fit every target the items carry; record split, held-out metrics and neighbours."""
    ids = [it.id for it in items]
    x = np.asarray(x, np.float64)
    means: list[float] = []
    if kind == "judgment":
        with np.errstate(all="ignore"):
            col_means = np.nanmean(x, axis=0) if x.size else np.zeros(x.shape[1])
        keep = np.isfinite(col_means)
        x, feature_names = x[:, keep], [n for n, ok in zip(feature_names, keep) if ok]
        means = col_means[keep].tolist()
        x = np.where(np.isfinite(x), x, col_means[keep])
    split, fits = fit_targets(ids, x, _target_values(items), k=k, seed=seed, groups=[suite_of[i] for i in ids])
    if not fits:
        raise ValueError("no target has enough labelled papers to fit")
    neighbours = None
    if kind == "embedding" and text_hashes is not None:
        neighbours = Neighbours.build(
            x,
            [
                {
                    "id": it.id,
                    "title": it.title,
                    "venue": it.venue,
                    "year": it.year,
                    "accepted": it.accepted,
                    "ai": it.gold_ai,
                    "novelty": it.gold_novelty,
                    "suite": suite_of[it.id],
                    "text_hash": h,
                }
                for it, h in zip(items, text_hashes)
            ],
        )
    head = Head(
        kind=kind,
        targets=fits,
        split=split,
        suites=[s.name for s in suites],
        labels=label_info(suites),
        provenance=dict(provenance),
        feature_names=list(feature_names),
        feature_means=means,
        neighbours=neighbours,
        suite_of=dict(suite_of),
    )
    head.metrics = held_out_metrics(head, items, suite_of, n_boot=n_boot, seed=seed)
    return head
