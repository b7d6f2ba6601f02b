"""Heads in ``eval run``: never a score from a head that was fitted on the paper.

- ``embedding-head`` versions: a paper the head was fitted on gets the score of the head
  fitted without its fold (out-of-fold), and, beside it, of the head fitted without its
  suite (fit on the other suites); other papers keep their judgment.
- chat versions with a fitted head: the fitted score is reported beside the raw one,
  again out-of-fold for papers the head was fitted on.

A paper the head was fitted on whose fold was skipped when fitting (its training part
under ``MIN_TRAIN``, see ``heads.fit``) has no out-of-fold prediction for that target:
the score is dropped (the paper counts as missing for that label, with the reason) and
the report counts these papers (``no_out_of_fold``). We chose dropping over refitting
with fewer folds because the split is part of the head's record: the figures must come
from the split the head reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

from annotator.db.queries import papers
from annotator.errors import ConfigError
from annotator.evaluation.metrics import compute_metrics
from annotator.evaluation.suite_types import EvalItem
from annotator.prompts.files import Prompt

from .features import judgment_rows, matrix
from .fit import MIN_TRAIN
from .head_store import StoredHead, find_head, latest_head, prompt_version_id
from .model import PRED_KEYS, Head

NO_OOF_REASON = (
    f"no out-of-fold prediction: the head was fitted on this paper and its fold's "
    f"training part was under {MIN_TRAIN} labelled papers"
)


@dataclass
class HeldOut:
    """Predictions to score, what was done to them, and the fitted-head figures."""

    predictions: dict[str, dict]
    notes: list[str] = field(default_factory=list)
    section: dict[str, Any] = field(default_factory=dict)


def _unheld(it: EvalItem, held: Mapping[str, float], head: Head) -> bool:
    """A target the paper has a label for (so the head was fitted on it) without an
    out-of-fold value."""
    gold = {"ai": it.gold_ai, "novelty": it.gold_novelty}
    return any(name not in held and gold.get(name) is not None for name in head.targets)


def _scores(head: Head, x: np.ndarray) -> list[dict[str, float]]:
    per = head.scores(x) if len(x) else {}
    return [{PRED_KEYS[n]: float(v[i]) for n, v in per.items()} for i in range(len(x))]


def _metrics(items: Sequence[EvalItem], preds: Mapping[str, Mapping[str, float]], n_boot: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, key, gold_of in (
        ("ai", "ai_score", lambda it: it.gold_ai),
        ("novelty", "novelty", lambda it: it.gold_novelty),
    ):
        rows = [
            (preds[it.id][key], gold_of(it), it.accepted)
            for it in items
            if it.id in preds and preds[it.id].get(key) is not None and gold_of(it) is not None
        ]
        if len(rows) < 3:
            continue
        acc = [np.nan if a is None else float(a) for _, _, a in rows]
        kinds = ("spearman", "auroc") if any(a is not None for _, _, a in rows) else ("spearman",)
        m = compute_metrics([r[0] for r in rows], [r[1] for r in rows], accepted=acc, kinds=kinds, n_boot=n_boot)
        out[label] = {k: v.model_dump() for k, v in m.items()}
    return out


def _embedding(stored: StoredHead, items, preds, n_boot: int) -> HeldOut:
    head = stored.head
    out = {k: dict(v) for k, v in preds.items()}
    cross: dict[str, dict[str, float]] = {}
    replaced = dropped = 0
    for it in items:
        if head.trained_on(it.id) and it.id in out and "error" not in out[it.id]:
            held = head.held_out(it.id)
            # every score is replaced: a target without an out-of-fold value loses its score
            out[it.id].update({key: None for key in PRED_KEYS.values()})
            out[it.id].update({PRED_KEYS[n]: v for n, v in held.items()})
            if _unheld(it, held, head):
                out[it.id]["reason"] = NO_OOF_REASON
                dropped += 1
            else:
                replaced += 1
            other = head.held_out(it.id, cross=True)
            if other:
                cross[it.id] = {PRED_KEYS[n]: v for n, v in other.items()}
    notes = [f"Embedding head {stored.head_hash[:12]} ({stored.source}) was fitted on suites {', '.join(head.suites)}."]
    if replaced:
        notes.append(
            f"{replaced} of these papers were among the papers the head was fitted on: their "
            f"scores here are out-of-fold (from the head fitted without their fold, "
            f"{head.split.k} folds, seed {head.split.seed}), never in-sample."
        )
    if dropped:
        notes.append(
            f"{dropped} papers the head was fitted on have no out-of-fold prediction for "
            f"a label (their fold's training part was under {MIN_TRAIN} labelled "
            "papers): those scores are left out of the figures, never scored in-sample."
        )
    section: dict[str, Any] = {
        "head_id": stored.head_id,
        "head_hash": stored.head_hash,
        "source": stored.source,
        "suites": head.suites,
        "out_of_fold": replaced,
        "no_out_of_fold": dropped,
    }
    if cross:
        section["other_suites"] = _metrics(items, cross, n_boot)
        notes.append(
            f"Fit on the other suites, tested on these {len(cross)} papers: " + _summary(section["other_suites"]) + "."
        )
    return HeldOut(out, notes, section)


def _summary(metrics: Mapping[str, Any]) -> str:
    parts = []
    for label, m in metrics.items():
        for kind in ("spearman", "auroc"):
            v = m.get(kind) or {}
            if v.get("value") is not None:
                parts.append(f"{kind} {label} {v['value']:.2f} [{v['ci_low']:.2f}, {v['ci_high']:.2f}]")
    return "; ".join(parts) or "undefined"


def _judgment(engine: Engine, stored: StoredHead, pv: int, model: str, items, n_boot: int) -> HeldOut:
    head = stored.head
    with engine.connect() as conn:
        ids = papers.eval_paper_ids(conn)
    paper_of = {it.id: ids[it.id] for it in items if it.id in ids}
    rows = judgment_rows(engine, pv, model, list(paper_of.values()))
    judged = [it for it in items if paper_of.get(it.id) in rows]
    x = matrix([rows[paper_of[it.id]] for it in judged], head.feature_names)
    fitted = dict(zip([it.id for it in judged], _scores(head, x)))
    n_oof = n_dropped = 0
    for it in judged:
        if head.trained_on(it.id):
            held = head.held_out(it.id)  # a target without an out-of-fold value: no fitted score
            fitted[it.id] = {PRED_KEYS[n]: v for n, v in held.items()}
            if _unheld(it, held, head):
                n_dropped += 1
            else:
                n_oof += 1
    metrics = _metrics(judged, fitted, n_boot)
    notes = [
        f"Fitted head {stored.head_hash[:12]} (judgment features: {', '.join(head.feature_names)}) "
        f"beside the raw scores: " + _summary(metrics) + f"; {n_oof} of {len(judged)} papers "
        "scored out-of-fold because the head was fitted on them."
    ]
    if n_dropped:
        notes.append(
            f"{n_dropped} papers the head was fitted on have no out-of-fold fitted score for "
            "a label (a fold too small to fit without them): left out of the fitted "
            "figures."
        )
    return HeldOut(
        {},
        notes,
        {
            "head_id": stored.head_id,
            "head_hash": stored.head_hash,
            "out_of_fold": n_oof,
            "no_out_of_fold": n_dropped,
            "fitted": metrics,
        },
    )


def _text(engine: Engine, prompt: Prompt, model: str, preds: Mapping[str, dict]) -> HeldOut:
    """The text head scores a paper it was fitted on with its recorded out-of-fold prediction
    already (found by text hash when judging), so the judgments stand as they are."""
    try:
        stored = find_head(engine, prompt, model)
    except ConfigError:
        return HeldOut(dict(preds))
    head = stored.head
    notes = [
        f"Text head {stored.head_hash[:12]} ({stored.source}) was fitted on suites "
        f"{', '.join(head.suites)}; a paper it was fitted on is scored with its out-of-fold "
        f"prediction ({head.split.k} folds, seed {head.split.seed}), never in-sample."
    ]
    return HeldOut(dict(preds), notes, {"head_hash": stored.head_hash, "source": stored.source, "suites": head.suites})


def held_out(
    engine: Engine, prompt: Prompt, model: str, items: Sequence[EvalItem], preds: Mapping[str, dict], n_boot: int = 1000
) -> HeldOut:
    """What ``eval run`` scores for ``prompt`` on ``model`` once heads are accounted for."""
    if prompt.meta.method == "text-head":
        return _text(engine, prompt, model, preds)
    if prompt.meta.method == "embedding-head":
        try:
            stored = find_head(engine, prompt, model)
        except ConfigError:
            return HeldOut(dict(preds))
        return _embedding(stored, items, preds, n_boot)
    pv = prompt_version_id(engine, prompt)
    found = latest_head(engine, pv, model) if pv is not None else None
    if found is None or found.head.kind != "judgment":
        return HeldOut(dict(preds))
    out = _judgment(engine, found, pv, model, items, n_boot)  # type: ignore[arg-type]
    out.predictions = dict(preds)
    return out
