"""Held-out figures of a head in words (``eval fit``, ``demo``, ``eval run``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .head_store import StoredHead
from .model import TARGET_WORDS

HOW = {"out_of_fold": "out-of-fold", "other_suites": "fit on the other suites"}


def _metric(m: Mapping[str, Any] | None) -> str | None:
    if not m or m.get("value") is None:
        return None
    ci = ""
    if m.get("ci_low") is not None and m.get("ci_high") is not None:
        ci = f" [{m['ci_low']:.2f}, {m['ci_high']:.2f}]"
    return f"{m['value']:.2f}{ci}"


def metric_lines(metrics: Mapping[str, Any]) -> list[str]:
    """One line per suite, target and way of holding out: Spearman and accept AUROC."""
    lines = []
    for suite, targets in sorted(metrics.items()):
        for target, hows in sorted(targets.items()):
            for how, m in hows.items():
                parts = [f"Spearman {s}" for s in [_metric(m.get("spearman"))] if s]
                parts += [f"accept AUROC {a}" for a in [_metric(m.get("auroc"))] if a]
                n = (m.get("spearman") or {}).get("n")
                lines.append(
                    f"  {suite}, {TARGET_WORDS.get(target, target)} ({HOW.get(how, how)}, "
                    f"n={n}): {', '.join(parts) or 'undefined'}"
                )
    return lines


def fit_lines(stored: StoredHead) -> list[str]:
    head = stored.head
    prov = head.provenance
    lines = [
        f"head {stored.head_id} ({stored.head_hash[:12]}) for {prov.get('prompt')} on "
        f"{prov.get('model')}: {head.kind} features, suites {', '.join(head.suites)}, "
        f"{head.split.k}-fold split (seed {head.split.seed}) over {len(head.split.folds)} papers",
        "held-out figures (95 % bootstrap intervals; no paper is scored by a head fitted on it):",
    ]
    lines += metric_lines(head.metrics)
    for name, t in sorted(head.targets.items()):
        lines.append(f"  {TARGET_WORDS.get(name, name)}: ridge alpha {t.model.alpha:g}, {t.n_train} labelled papers")
    return lines
