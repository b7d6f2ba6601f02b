"""Which predicted score is checked against which gold label.

- ``ai``: predicted ``ai_score`` (0-100) against the suite's AI gold (e.g. mean rating 1-10).
- ``novelty``: predicted ``novelty`` (0-100) against the novelty gold (e.g. technical novelty 1-4).
- ``citations``: predicted ``ai_score`` against ln(1 + citations); correlations only.
  A count of 0 is treated as missing by default (mostly failed look-ups).

Metric names are ``<kind>_<label>``, e.g. ``spearman_ai``, ``auroc_ai``, ``mae_novelty``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .metrics import CORRELATIONS, KINDS
from .suite_types import EvalItem, Suite

_NO_AUROC = tuple(k for k in KINDS if k != "auroc")


@dataclass(frozen=True)
class LabelSpec:
    name: str
    pred_key: str
    gold_field: str
    scale: tuple[float, float] | None
    reviewers_field: str | None
    kinds: tuple[str, ...]
    get_gold: Callable[[EvalItem], float | None]
    get_reviewers: Callable[[EvalItem], tuple[float, ...]]

    def gold(self, item: EvalItem) -> float | None:
        return self.get_gold(item)

    def reviewers(self, item: EvalItem) -> tuple[float, ...]:
        return self.get_reviewers(item)

    def metric_names(self) -> list[str]:
        return [f"{kind}_{self.name}" for kind in self.kinds]


def _citation_getter(zero_is_missing: bool) -> Callable[[EvalItem], float | None]:
    def get(item: EvalItem) -> float | None:
        c = item.citations
        if c is None or c < 0 or (zero_is_missing and c == 0):
            return None
        return math.log1p(c)

    return get


def _ai(gold_field: str, scale, reviewers_field, kinds) -> LabelSpec:
    return LabelSpec(
        "ai", "ai_score", gold_field, scale, reviewers_field, kinds, lambda it: it.gold_ai, lambda it: it.ai_reviewers
    )


def _novelty(gold_field: str, scale, reviewers_field, kinds) -> LabelSpec:
    return LabelSpec(
        "novelty",
        "novelty",
        gold_field,
        scale,
        reviewers_field,
        kinds,
        lambda it: it.gold_novelty,
        lambda it: it.novelty_reviewers,
    )


def _citations(field: str, zero_is_missing: bool) -> LabelSpec:
    return LabelSpec(
        "citations",
        "ai_score",
        f"log1p({field})",
        None,
        None,
        CORRELATIONS,
        _citation_getter(zero_is_missing),
        lambda it: (),
    )


def label_specs_for_suite(suite: Suite) -> list[LabelSpec]:
    kinds = KINDS if suite.fields.decision else _NO_AUROC
    specs = [_ai(suite.ai.gold, tuple(suite.ai.scale), suite.ai.reviewers, kinds)]
    if suite.novelty is not None:
        nov = suite.novelty
        specs.append(_novelty(nov.gold, tuple(nov.scale), nov.reviewers, kinds))
    if suite.citations is not None:
        specs.append(_citations(suite.citations.field, suite.citations.zero_is_missing))
    return specs


def known_thresholds(suite: Suite) -> list[str]:
    """Every threshold name the suite may set: its metrics, and ``max_missing_rate``."""
    return [name for spec in label_specs_for_suite(suite) for name in spec.metric_names()] + ["max_missing_rate"]


def _range(values: list[float]) -> tuple[float, float] | None:
    return (min(values), max(values)) if values and min(values) < max(values) else None


def label_specs_for_items(items: Sequence[EvalItem]) -> list[LabelSpec]:
    """Labels to use without a suite: whichever gold values the items carry."""
    kinds = KINDS if any(it.accepted is not None for it in items) else _NO_AUROC
    ai = [it.gold_ai for it in items if it.gold_ai is not None]
    nov = [it.gold_novelty for it in items if it.gold_novelty is not None]
    specs = [_ai("gold_ai", _range(ai), "ai_reviewers", kinds)]
    if nov:
        specs.append(_novelty("gold_novelty", _range(nov), "novelty_reviewers", kinds))
    if any(it.citations for it in items):
        specs.append(_citations("citations", True))
    return specs
