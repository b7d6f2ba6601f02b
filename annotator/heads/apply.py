"""Fitted scores for stored judgments: what exports, profiles and leaderboards show beside
the raw score when a head exists for the judgments' prompt version and model.

- chat judgments: the newest head fitted on their features (``annotator eval fit``)
  gives 0-100 scores (percentiles of the labelled papers it was fitted on);
- ``embedding-head`` judgments: their stored scores already come from a head.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from annotator.db.queries import judgments

from .features import judgment_rows, matrix
from .head_store import latest_head

Fitted = tuple[float | None, float | None]


def _own_scores(engine: Engine, prompt_version_id: int, model: str, paper_ids: Sequence[int]) -> dict[int, Fitted]:
    with engine.connect() as conn:
        rows = judgments.embedding_head_scores(conn, prompt_version_id, model, paper_ids)
    return {int(pid): (None if ai is None else float(ai), None if nov is None else float(nov)) for pid, ai, nov in rows}


def fitted_scores(engine: Engine, prompt_version_id: int, model: str, paper_ids: Sequence[int]) -> dict[int, Fitted]:
    """Paper id -> (fitted AI score, fitted novelty), each 0-100 or None, for the papers
    judged by this prompt version and model that a head can score. Empty without a head."""
    own = _own_scores(engine, prompt_version_id, model, paper_ids)
    if own:
        return own
    stored = latest_head(engine, prompt_version_id, model)
    if stored is None or stored.head.kind != "judgment":
        return {}
    head = stored.head
    rows = judgment_rows(engine, prompt_version_id, model, paper_ids)
    ids = sorted(rows)
    if not ids:
        return {}
    scores = head.scores(matrix([rows[i] for i in ids], head.feature_names))
    ai, nov = scores.get("ai"), scores.get("novelty")
    return {
        pid: (None if ai is None else round(float(ai[k]), 1), None if nov is None else round(float(nov[k]), 1))
        for k, pid in enumerate(ids)
    }
