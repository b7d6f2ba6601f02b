"""Judgments counted per prompt version (the prompt versions themselves are queried in
``annotator.prompts.registry``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row


def judgments_per_version_and_model(conn: Connection) -> list[Row[int, str, int]]:
    """(prompt version id, model, judgments) for every pair with judgments, by model."""
    return list(conn.execute(text(
        "SELECT prompt_version_id, model, COUNT(*) FROM judgments "
        "GROUP BY prompt_version_id, model ORDER BY model")))
