"""The metric snapshot that counts (its SQL: ``annotator.db.queries.bibliometrics``).

Precedence: ``author_metrics`` and ``paper_metrics`` hold dated snapshots from
several sources (``feedpage``, ``openalex``, ``semanticscholar``, ``csv``). Each
value -- h-index, citations, works count, a paper's citations -- comes from the
most recent snapshot that has it: latest ``as_of`` first, then the one stored
last (highest id). No source outranks another; pass ``source`` to use only one.
A field a newer snapshot lacks is taken from an older one, and the answer says
which source and date each value came from.

The feed page's own scores (its Novelty % and AI Score) are never mixed with
ours: ``reported`` is the most recent snapshot that carries them, shown whole.

An author's papers are the papers they are listed on (``authorships``) plus the
papers a profile source links to them (``author_papers``: the feed page's list,
an OpenAlex author's works), without eval-suite papers.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from annotator.db.queries.bibliometrics import author_snapshots

AUTHOR_FIELDS = ("h_index", "citations", "works_count")


def _iso(value) -> str | None:
    return None if value is None else str(value)[:10]


def author_metrics(conn: Connection, author_id: int, source: str | None = None) -> dict:
    """``{"h_index": {"value", "source", "as_of"} | None, ..., "reported": {...} | None}``."""
    return authors_metrics(conn, [author_id], source)[author_id]


def authors_metrics(conn: Connection, author_ids: list[int], source: str | None = None) -> dict[int, dict]:
    """``author_metrics`` of several authors, read in one query."""
    rows: dict[int, list] = {a: [] for a in author_ids}
    for row in author_snapshots(conn, author_ids, source):
        rows[row["author_id"]].append(row)
    return {a: _chosen(found) for a, found in rows.items()}


def _chosen(rows: list) -> dict:
    """The values that count from one author's snapshots, newest first."""
    out: dict = {}
    for field in AUTHOR_FIELDS:
        row = next((r for r in rows if r[field] is not None), None)
        out[field] = (
            None if row is None else {"value": row[field], "source": row["source"], "as_of": _iso(row["as_of"])}
        )
    row = next((r for r in rows if r["reported_ai_score"] is not None or r["reported_novelty"] is not None), None)
    out["reported"] = (
        None
        if row is None
        else {
            "ai_score": row["reported_ai_score"],
            "novelty": row["reported_novelty"],
            "h_index": row["h_index"],
            "citations": row["citations"],
            "papers": row["works_count"],
            "source": row["source"],
            "as_of": _iso(row["as_of"]),
        }
    )
    return out
