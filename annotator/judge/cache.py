"""Answers from stored calls: an identical request is not paid for twice."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from annotator.db.queries.judgments import cached_reply


def make_cache_lookup(engine: Engine) -> Callable[[str], str | None]:
    """A function from request hash to the last valid stored reply, or None.

    It blocks on the database, so async callers run it in a thread
    (``ModelClient`` does): on the event loop, every lookup would stall every worker.
    """

    def lookup(request_hash: str) -> str | None:
        with engine.connect() as conn:
            return cached_reply(conn, request_hash)

    return lookup
