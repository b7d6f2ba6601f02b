"""Author and affiliation aggregates behind the leaderboards, and keeping them current.

``authors top`` used to average every judged author-paper pair on each call (seconds at
a million papers). The tables ``agg_*`` (``db.models``) hold, per prompt version, model
and author (or affiliation), the judged papers and score sums, and per author the stored
papers and the h-index and citations that count; a board then reads a few index rows.

They are derived data, refreshed explicitly: ``ensure_fresh`` (called by the leaderboards)
compares a watermark with the database and runs ``refresh`` when they differ;
``annotator authors refresh`` runs it by hand. The watermark (``agg_marks``) is cheap
to read: the highest judgment, paper, author-snapshot and paper-snapshot ids (those
rows are only ever added), the number of author-paper links, and a counter that ingest
raises (``db.derived.bump_links``) when it rewrites a stored paper's authors,
affiliations or eval flag.

A refresh adds what is new since the watermark: judgments above the last id are
grouped per (prompt version, model, author/affiliation) and added to the sums; new
papers add to their authors' paper counts; authors with new snapshots get their
values again; affiliations whose papers have new citation snapshots are recomputed.
A change it cannot attribute (a paper's authors rewritten, author-paper links added)
rebuilds everything. The result equals the computation from the raw tables
(``leaderboard(..., use_aggregates=False)``; tests compare both on SQLite and
PostgreSQL).

Concurrency: the refresh runs in one write transaction. SQLite allows one writer at a
time; on PostgreSQL it takes an advisory lock (one refresh at a time) and SHARE locks on
the tables it reads, so transactions still adding judgments or papers finish first and
no row can commit below the watermark afterwards. Two refreshes at once: the second
reads the watermark only once it holds the lock, finds it current and does nothing, so
no judgment is added twice. Killed halfway: the transaction rolls back, the tables and
the watermark stay as they were (consistent with each other), and the next board
refreshes again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection, Engine

from annotator.biblio.hindex import h_index_from
from annotator.db.engine import writer
from annotator.db.queries import bibliometrics_aggregates as Q
from annotator.db.queries.bibliometrics_aggregates import (
    AGG_TABLES,
    Ranking,
    affiliation_scores,
    affiliation_stats,
    author_sums,
    current_marks,
    papers_stored,
    stored_marks,
)

__all__ = [
    "AGG_TABLES",
    "RefreshReport",
    "affiliation_scores",
    "affiliation_stats",
    "author_sums",
    "ensure_fresh",
    "is_stale",
    "papers_stored",
    "refresh",
    "top_metric_authors",
    "top_scored_authors",
]


@dataclass
class RefreshReport:
    """What a refresh did: ``mode`` is "full", "incremental" or "current" (nothing to do)."""

    mode: str
    seconds: float = 0.0
    why: str = ""
    marks: dict[str, int] = field(default_factory=dict)


def is_stale(conn: Connection) -> bool:
    stored = stored_marks(conn)
    return any(stored.get(k) != v for k, v in current_marks(conn).items())


def ensure_fresh(engine: Engine) -> RefreshReport | None:
    """Refresh the aggregates if the watermark says they are behind; None when current."""
    with engine.connect() as conn:
        if not is_stale(conn):
            return None
    return refresh(engine)


def refresh(engine: Engine, *, full: bool = False) -> RefreshReport:
    """Bring the aggregates up to the database (``full``: rebuild from nothing)."""
    t0 = time.perf_counter()
    with writer(engine).begin() as conn:
        Q.lock_for_refresh(conn)
        stored, now = stored_marks(conn), current_marks(conn)
        why = _rebuild_reason(stored, now, full)
        if why:
            Q.clear_aggregates(conn)
            base = {k: 0 for k in now}
            mode = "full"
        elif all(stored.get(k) == v for k, v in now.items()):
            return RefreshReport("current", time.perf_counter() - t0, marks=now)
        else:
            base, mode = stored, "incremental"
        if now["judgments"] > base["judgments"]:
            Q.add_judgments(conn, base["judgments"], now["judgments"])
        if now["papers"] > base["papers"]:
            Q.add_papers(conn, base["papers"], now["papers"])
        if now["author_metrics"] > base["author_metrics"]:
            Q.renew_author_metrics(conn, base["author_metrics"])
        if now["paper_metrics"] > base["paper_metrics"] or mode == "full":
            _affiliation_stats(conn, base["paper_metrics"], everything=mode == "full")
        Q.write_marks(conn, now, stored)
        if mode == "full":  # the planner's statistics of tables that were empty
            Q.analyze_aggregates(conn)
    return RefreshReport(mode, time.perf_counter() - t0, why, now)


def _rebuild_reason(stored: dict[str, int], now: dict[str, int], full: bool) -> str:
    if full:
        return "asked for"
    if not stored:
        return "first refresh"
    if stored.get("links_seen") != now["links_seen"]:
        return "stored papers' authors, affiliations or eval flags changed"
    if stored.get("author_papers") != now["author_papers"]:
        return "author-paper links changed"
    behind = [k for k in ("judgments", "papers", "author_metrics", "paper_metrics") if now[k] < stored.get(k, 0)]
    return f"rows removed from {', '.join(behind)}" if behind else ""


def _affiliation_stats(conn: Connection, lo: int, everything: bool) -> None:
    """Papers with citations, their sum and h-index, again, for affiliations with a paper
    that has a snapshot above ``lo`` (every affiliation when ``everything``)."""
    touched = None if everything else Q.affiliations_with_new_citations(conn, lo)
    if touched == []:
        return
    cites: dict[int, list[int]] = defaultdict(list)
    for aff, count in Q.affiliation_paper_citations(conn, touched):
        cites[aff].append(count)
    rows = []
    for aff, values in cites.items():
        h, n = h_index_from(values)
        rows.append({"a": aff, "n": n, "c": sum(values), "h": h})
    Q.replace_affiliation_stats(conn, touched, rows)


# -- reading the boards ------------------------------------------------------------
SMALL_AFFILIATION = 5000  # papers: below this, list the affiliation's authors up front
FIRST_PAGE = 0  # ranked candidates checked at once for a large affiliation (0: twice the limit)


def _ranked(conn: Connection, ranking: Ranking, limit: int, affiliation: str | None) -> list[int]:
    """The first ``limit`` author ids of ``ranking``; with ``affiliation``, only authors with
    a non-eval paper tagged so.

    A small affiliation's authors are listed first and looked up in the table; for a large
    one the ranked candidates are read a page at a time and checked together, so the work
    stops once ``limit`` are found whatever plan the database would pick for a filter."""
    if not affiliation:
        return Q.ranked_authors(conn, ranking, limit)
    if Q.affiliation_paper_count(conn, affiliation, SMALL_AFFILIATION) < SMALL_AFFILIATION:
        return Q.ranked_tagged_authors(conn, ranking, affiliation, limit)
    chosen: list[int] = []
    affs = Q.affiliation_ids(conn, affiliation)
    offset, page = 0, FIRST_PAGE or 2 * limit
    while len(chosen) < limit:
        ids = Q.ranked_authors(conn, ranking, page, offset)
        if not ids:
            break
        tagged = Q.tagged_among(conn, ids, affs)
        chosen += [a for a in ids if a in tagged][: limit - len(chosen)]
        offset, page = offset + page, page * 2
    return chosen


def top_scored_authors(
    conn: Connection, pv: int, model: str, by: str, min_papers: int, limit: int, affiliation: str | None
) -> list[int]:
    """Author ids by mean score (then judged papers, then id), as the raw-table board ranks them."""
    return _ranked(conn, Q.scored_ranking(pv, model, by, min_papers), limit, affiliation)


def top_metric_authors(conn: Connection, by: str, min_papers: int, limit: int, affiliation: str | None) -> list[int]:
    """Author ids by the h-index or citations that count (any source), then id."""
    return _ranked(conn, Q.metric_ranking(by, min_papers), limit, affiliation)
