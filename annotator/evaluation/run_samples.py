"""Each eval paper's samples, read from its stored judgment, for the run-to-run figure.

A prompt version with ``samples: K`` stores its K replies in ``judgments.details_json``
(``samples``); the report's run-to-run figure (:mod:`.agreement`) is the mean absolute
difference between two of them. Replies on a small scale (``details.scale``, the
``expected`` method) are put on 0-100 by the same linear map as the stored score, so
for ``expected`` the figure is the spread of the sampled answers, not of the expected
values (those are not stored per sample).
"""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from annotator.db.queries import judgments

FIELDS = ("ai_score", "novelty")


def sample_values(details: dict) -> dict[str, list[float]]:
    """``{field: [0-100 value of each sample]}`` of one judgment's details (empty without samples)."""
    samples = details.get("samples") or []
    scale = details.get("scale")
    out: dict[str, list[float]] = {}
    for name in FIELDS:
        values = [float(s[name]) for s in samples if isinstance(s, dict) and isinstance(s.get(name), (int, float))]
        if scale and len(scale) == 2 and scale[1] > scale[0]:
            lo, hi = float(scale[0]), float(scale[1])
            values = [(v - lo) / (hi - lo) * 100.0 for v in values]
        if len(values) > 1:
            out[name] = values
    return out


def attach_samples(
    engine: Engine, suite_name: str, prompt_name: str, prompt_version: str, model: str, preds: dict[str, dict]
) -> int:
    """Add ``samples`` to the predictions of papers whose judgment holds several; returns how many."""
    with engine.connect() as conn:
        rows = judgments.suite_judgment_details(conn, suite_name, prompt_name, prompt_version, model)
    n = 0
    for ext_id, raw in rows:
        if ext_id not in preds or not isinstance(preds[ext_id], dict):
            continue
        found = sample_values(json.loads(raw))
        if found:
            preds[ext_id]["samples"] = found
            n += 1
    return n
