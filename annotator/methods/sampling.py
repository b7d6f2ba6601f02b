"""Combining K valid replies of one paper into the stored columns."""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

from pydantic import BaseModel

SCORE_FIELDS = ("ai_score", "novelty")


def round_half_up(x: float) -> int:
    """42.5 -> 43 (Python's ``round`` gives 42: it rounds halves to even)."""
    return math.floor(x + 0.5)


def combine_samples(
    replies: list[BaseModel], aggregate: str = "median", values: list[dict[str, float]] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(judgment columns, details) from K valid replies.

    ``values`` are the 0-100 scores of each reply when they are not the replies'
    own ``ai_score``/``novelty`` (a small scale rescaled, expected values). The
    stored score is the mean (``aggregate="mean"``) or the median of the K
    values, the spreads their population standard deviations; with K > 1 the
    details keep every sample and both the mean and the median.
    """
    if values is None:
        values = [{f: float(getattr(r, f)) for f in SCORE_FIELDS} for r in replies]
    per_field = {f: [v[f] for v in values] for f in SCORE_FIELDS}
    # one reply: its values as they are (statistics' exact arithmetic costs ~0.1 ms a call)
    pick = (lambda xs: xs[0]) if len(values) == 1 else statistics.mean if aggregate == "mean" else statistics.median
    # the rationale of the sample whose ai_score sits in the middle
    mid = sorted(range(len(replies)), key=lambda i: per_field["ai_score"][i])[len(replies) // 2]
    fields: dict[str, Any] = {f: round_half_up(pick(per_field[f])) for f in SCORE_FIELDS}
    fields["rationale"] = getattr(replies[mid], "rationale", "") or "(no rationale asked)"
    details: dict[str, Any] = {}
    if len(replies) > 1:
        fields["samples_json"] = json.dumps([r.model_dump() for r in replies])
        fields["ai_score_spread"] = statistics.pstdev(per_field["ai_score"])
        fields["novelty_spread"] = statistics.pstdev(per_field["novelty"])
        details["samples"] = [r.model_dump() for r in replies]
        details["aggregate"] = aggregate
        details["mean"] = {f: statistics.mean(per_field[f]) for f in SCORE_FIELDS}
        details["median"] = {f: statistics.median(per_field[f]) for f in SCORE_FIELDS}
    subscores = _subscores(replies)
    if subscores:
        details["subscores"] = subscores
    return fields, details


def _subscores(replies: list[BaseModel]) -> dict[str, float]:
    """Mean of every numeric reply field other than the two scores (rubric sub-scores)."""
    dumps = [r.model_dump() for r in replies]
    names = [
        k
        for k, v in dumps[0].items()
        if k not in SCORE_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    if len(dumps) == 1:
        return {k: float(dumps[0][k]) for k in names}
    return {k: statistics.mean(float(d[k]) for d in dumps) for k in names}
