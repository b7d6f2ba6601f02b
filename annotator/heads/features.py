"""Feature matrices for heads.

- ``embedding-head`` prompt versions: the embedding of the text the template renders.
- chat methods: what a stored judgment measured: ``ai_score``, ``novelty``, their spreads,
  and from ``details_json`` the rubric ``subscores`` and the ``expected`` values.
  Missing values are NaN (the head fills them with the training mean).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

from annotator.db.queries import judgments
from annotator.evaluation.suite_types import EvalItem
from annotator.judge.embeddings import EmbeddingsClient, text_hash
from annotator.prompts.files import Prompt

from .text import prompt_text

COLUMNS = ("ai_score", "novelty", "ai_score_spread", "novelty_spread")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def detail_features(details_json: str | None) -> dict[str, float]:
    """``subscores.<name>`` and ``expected.<key>`` from a judgment's details (read defensively:
    anything that is not a finite number is left out)."""
    try:
        details = json.loads(details_json) if details_json else {}
    except ValueError:
        return {}
    if not isinstance(details, Mapping):
        return {}
    out: dict[str, float] = {}
    for group in ("subscores", "expected"):
        values = details.get(group)
        if isinstance(values, Mapping):
            for name, value in values.items():
                number = _number(value)
                if number is not None:
                    out[f"{group}.{name}"] = number
    return out


def judgment_rows(
    engine: Engine, prompt_version_id: int, model: str, paper_ids: Sequence[int]
) -> dict[int, dict[str, float]]:
    """Paper id -> feature name -> value, for papers with a judgment of this version and model."""
    out: dict[int, dict[str, float]] = {}
    with engine.connect() as conn:
        rows = judgments.judgment_features(conn, prompt_version_id, model, paper_ids)
    for row in rows:
        feats = {name: v for name, raw in zip(COLUMNS, row[1:5]) if (v := _number(raw)) is not None}
        feats.update(detail_features(row[5]))
        out[int(row[0])] = feats
    return out


def feature_names(rows: Mapping[Any, Mapping[str, float]]) -> list[str]:
    """Every feature some row has, columns first, then details in name order."""
    seen = {name for feats in rows.values() for name in feats}
    return [c for c in COLUMNS if c in seen] + sorted(seen - set(COLUMNS))


def matrix(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> np.ndarray:
    return np.array([[feats.get(n, np.nan) for n in names] for feats in rows], np.float64).reshape(
        len(rows), len(names)
    )


def item_texts(prompt: Prompt, items: Sequence[EvalItem], max_chars: int = 12_000) -> list[str]:
    return [prompt_text(prompt, it.title, it.abstract, max_chars) for it in items]


def embed_items(
    client: EmbeddingsClient, prompt: Prompt, items: Sequence[EvalItem], max_chars: int = 12_000
) -> tuple[np.ndarray, list[str]]:
    """(one embedding row per item, the text hash of each)."""
    texts = item_texts(prompt, items, max_chars)
    return client.embed(texts), [text_hash(t) for t in texts]
