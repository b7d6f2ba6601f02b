"""Named queries, one module per aggregate: the only place (with the migrations, the
``db copy`` command's table copier, the task queue and the prompt registry) where
SQL is written as text. Everything else calls these functions.

Each module owns the queries of one aggregate:

- ``papers``: papers, their authors and affiliations (what ingest writes, what pages read)
- ``judgments``: judgments and the model calls behind them
- ``batches``: the Batch API's batches and their requests
- ``bibliometrics``: author and paper metrics, their snapshots, leaderboards
  (``bibliometrics_boards`` from the raw tables, ``bibliometrics_aggregates`` from ``agg_*``)
- ``derived``: derived tables (aggregates, calibrations, heads, the embedding cache)
- prompt versions: ``annotator/prompts/registry.py`` (the prompt resolver reads them there)
- tasks: ``annotator/jobs/queue.py`` (the only code that changes a task's state)

:func:`sql` is the one helper for statements with list parameters.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.sql.elements import TextClause

__all__ = ["sql"]


def sql(statement: str, *lists: str) -> TextClause:
    """``statement`` as a text clause whose ``IN :name`` parameters named in ``lists`` take a
    list of values (expanded to ``IN (...)``; an empty list matches nothing, on SQLite and
    PostgreSQL alike)."""
    return text(statement).bindparams(*(bindparam(name, expanding=True) for name in lists))
