"""Fitted scores for stored judgments: what exports, profiles and leaderboards show beside
the raw score when a head exists for the judgments' prompt version and model.

- chat judgments: the newest head fitted on their features (``annotator eval fit``)
  gives 0-100 scores (percentiles of the labelled papers it was fitted on);
- ``embedding-head`` judgments: their stored scores already come from a head.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from .features import judgment_rows, matrix
from .head_store import latest_head

Fitted = tuple[float | None, float | None]


def _own_scores(engine: Engine, prompt_version_id: int, model: str,
                paper_ids: Sequence[int]) -> dict[int, Fitted]:
    query = text("SELECT paper_id, ai_score, novelty FROM judgments WHERE prompt_version_id = :pv "
                 "AND model = :m AND method = 'embedding-head' AND paper_id IN :ids"
                 ).bindparams(bindparam("ids", expanding=True))
    out: dict[int, Fitted] = {}
    with engine.connect() as conn:
        for i in range(0, len(paper_ids), 500):
            chunk = [int(p) for p in paper_ids[i:i + 500]]
            for pid, ai, nov in conn.execute(query, {"pv": prompt_version_id, "m": model, "ids": chunk}):
                out[int(pid)] = (None if ai is None else float(ai), None if nov is None else float(nov))
    return out


def fitted_scores(engine: Engine, prompt_version_id: int, model: str,
                  paper_ids: Sequence[int]) -> dict[int, Fitted]:
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
    return {pid: (None if ai is None else round(float(ai[k]), 1),
                  None if nov is None else round(float(nov[k]), 1)) for k, pid in enumerate(ids)}
