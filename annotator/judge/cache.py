"""Answers from stored calls: an identical request is not paid for twice."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine


def make_cache_lookup(engine: Engine) -> Callable[[str], str | None]:
    """A function from request hash to the last valid stored reply, or None.

    It blocks on the database, so async callers run it in a thread
    (``ModelClient`` does): on the event loop, every lookup would stall every worker.
    """
    sql = text("SELECT response_text FROM llm_calls WHERE request_hash = :h "
               "AND outcome IN ('ok', 'cached') ORDER BY id DESC LIMIT 1")

    def lookup(request_hash: str) -> str | None:
        with engine.connect() as conn:
            row = conn.execute(sql, {"h": request_hash}).first()
        return row[0] if row else None

    return lookup
