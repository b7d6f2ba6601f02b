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

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from annotator.biblio import snapshots as S
from annotator.biblio.hindex import h_index_from
from annotator.db.derived import LINKS_CHANGED
from annotator.db.engine import writer

SOURCES = {  # watermark name -> SQL giving its current value
    "judgments": "SELECT MAX(id) FROM judgments",
    "papers": "SELECT MAX(id) FROM papers",
    "author_metrics": "SELECT MAX(id) FROM author_metrics",
    "paper_metrics": "SELECT MAX(id) FROM paper_metrics",
    "author_papers": "SELECT COUNT(*) FROM author_papers",
    "links_seen": f"SELECT MAX(value) FROM agg_marks WHERE name = '{LINKS_CHANGED}'",
}
LOCKED = ("judgments", "papers", "authorships", "author_papers", "paper_affiliations",
          "author_metrics", "paper_metrics")
ADVISORY_KEY = 7262
AGG_TABLES = ("agg_author_scores", "agg_author_stats", "agg_affiliation_scores",
              "agg_affiliation_stats")
NOT_EVAL = f"NOT IN ({S.EVAL_PAPERS_SQL})"


@dataclass
class RefreshReport:
    """What a refresh did: ``mode`` is "full", "incremental" or "current" (nothing to do)."""

    mode: str
    seconds: float = 0.0
    why: str = ""
    marks: dict[str, int] = field(default_factory=dict)


def current_marks(conn: Connection) -> dict[str, int]:
    """The watermark as the database stands now (one round trip)."""
    sql = "SELECT " + ", ".join(f"({q}) AS {name}" for name, q in SOURCES.items())
    row = conn.execute(text(sql)).mappings().one()
    return {name: int(row[name] or 0) for name in SOURCES}


def stored_marks(conn: Connection) -> dict[str, int]:
    return {name: int(value) for name, value in conn.execute(text("SELECT name, value FROM agg_marks"))}


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
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})
            conn.execute(text(f"LOCK TABLE {', '.join(LOCKED)} IN SHARE MODE"))
        stored, now = stored_marks(conn), current_marks(conn)
        why = _rebuild_reason(stored, now, full)
        if why:
            for table in AGG_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
            base = {k: 0 for k in now}
            mode = "full"
        elif all(stored.get(k) == v for k, v in now.items()):
            return RefreshReport("current", time.perf_counter() - t0, marks=now)
        else:
            base, mode = stored, "incremental"
        _add_judgments(conn, base["judgments"], now["judgments"])
        _add_papers(conn, base["papers"], now["papers"])
        if now["author_metrics"] > base["author_metrics"]:
            _author_metrics(conn, base["author_metrics"])
        if now["paper_metrics"] > base["paper_metrics"] or mode == "full":
            _affiliation_stats(conn, base["paper_metrics"], everything=mode == "full")
        _write_marks(conn, now, stored)
        if mode == "full" and conn.dialect.name == "postgresql":
            for table in AGG_TABLES:  # the planner's statistics of tables that were empty
                conn.execute(text(f"ANALYZE {table}"))
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
    behind = [k for k in ("judgments", "papers", "author_metrics", "paper_metrics")
              if now[k] < stored.get(k, 0)]
    return f"rows removed from {', '.join(behind)}" if behind else ""


def _write_marks(conn: Connection, now: dict[str, int], stored: dict[str, int]) -> None:
    if LINKS_CHANGED not in stored:
        conn.execute(text("INSERT INTO agg_marks (name, value) VALUES (:n, 0)"), {"n": LINKS_CHANGED})
    for name, value in now.items():
        if name in stored:
            conn.execute(text("UPDATE agg_marks SET value = :v WHERE name = :n"), {"n": name, "v": value})
        else:
            conn.execute(text("INSERT INTO agg_marks (name, value) VALUES (:n, :v)"), {"n": name, "v": value})


def _upsert_sums(conn: Connection, table: str, key: str, delta_sql: str, params: dict) -> None:
    """Add (pv, model, key, n, sum_ai, sum_novelty) rows from ``delta_sql`` to ``table``."""
    mean = "CAST({s} AS FLOAT) / ({n})"
    conn.execute(text(
        f"INSERT INTO {table} (prompt_version_id, model, {key}, n, sum_ai, sum_novelty, mean_ai, "
        f"mean_novelty) SELECT d.pv, d.model, d.k, d.n, d.sa, d.sn, {mean.format(s='d.sa', n='d.n')}, "
        f"{mean.format(s='d.sn', n='d.n')} FROM ({delta_sql}) d WHERE 1 = 1 "
        f"ON CONFLICT (prompt_version_id, model, {key}) DO UPDATE SET n = {table}.n + excluded.n, "
        f"sum_ai = {table}.sum_ai + excluded.sum_ai, "
        f"sum_novelty = {table}.sum_novelty + excluded.sum_novelty, "
        f"mean_ai = {mean.format(s=f'{table}.sum_ai + excluded.sum_ai', n=f'{table}.n + excluded.n')}, "
        f"mean_novelty = {mean.format(s=f'{table}.sum_novelty + excluded.sum_novelty', n=f'{table}.n + excluded.n')}"),
        params)


def _add_judgments(conn: Connection, lo: int, hi: int) -> None:
    """Judgments with ids in (lo, hi] into the author and affiliation score sums."""
    if hi <= lo:
        return
    params = {"lo": lo, "hi": hi, "is_eval_true": True}
    new = "j.id > :lo AND j.id <= :hi"
    # each judged author-paper pair once: the first listing on the paper, else a profile link
    pairs = (
        "SELECT j.prompt_version_id AS pv, j.model, s.author_id AS k, j.ai_score, j.novelty "
        f"FROM judgments j JOIN authorships s ON s.paper_id = j.paper_id WHERE {new} "
        f"AND j.paper_id {NOT_EVAL} AND NOT EXISTS (SELECT 1 FROM authorships s3 "
        "WHERE s3.paper_id = s.paper_id AND s3.author_id = s.author_id AND s3.position < s.position) "
        "UNION ALL SELECT j.prompt_version_id, j.model, c.author_id, j.ai_score, j.novelty "
        f"FROM judgments j JOIN author_papers c ON c.paper_id = j.paper_id WHERE {new} "
        f"AND j.paper_id {NOT_EVAL} AND NOT EXISTS (SELECT 1 FROM authorships s2 "
        "WHERE s2.paper_id = c.paper_id AND s2.author_id = c.author_id)")
    grouped = ("SELECT x.pv, x.model, x.k, COUNT(*) AS n, SUM(x.ai_score) AS sa, SUM(x.novelty) AS sn "
               f"FROM ({pairs}) x GROUP BY x.pv, x.model, x.k")
    _upsert_sums(conn, "agg_author_scores", "author_id", grouped, params)
    by_aff = ("SELECT j.prompt_version_id AS pv, j.model, pa.affiliation_id AS k, COUNT(*) AS n, "
              "SUM(j.ai_score) AS sa, SUM(j.novelty) AS sn FROM judgments j "
              f"JOIN paper_affiliations pa ON pa.paper_id = j.paper_id WHERE {new} "
              f"AND j.paper_id {NOT_EVAL} GROUP BY j.prompt_version_id, j.model, pa.affiliation_id")
    _upsert_sums(conn, "agg_affiliation_scores", "affiliation_id", by_aff, params)


def _add_papers(conn: Connection, lo: int, hi: int) -> None:
    """Papers with ids in (lo, hi] into their authors' stored-paper counts."""
    if hi <= lo:
        return
    conn.execute(text(
        "INSERT INTO agg_author_stats (author_id, papers_stored) SELECT x.author_id, COUNT(*) FROM "
        "(SELECT s.author_id, s.paper_id FROM authorships s WHERE s.paper_id > :lo AND s.paper_id <= :hi "
        "UNION SELECT c.author_id, c.paper_id FROM author_papers c WHERE c.paper_id > :lo "
        f"AND c.paper_id <= :hi) x WHERE x.paper_id {NOT_EVAL} GROUP BY x.author_id "
        "ON CONFLICT (author_id) DO UPDATE SET "
        "papers_stored = agg_author_stats.papers_stored + excluded.papers_stored"),
        {"lo": lo, "hi": hi, "is_eval_true": True})


def _author_metrics(conn: Connection, lo: int) -> None:
    """The h-index and citations that count, again, for authors with snapshots above ``lo``."""
    touched = "SELECT DISTINCT author_id FROM author_metrics WHERE id > :lo"
    h = S.latest_author_metrics_sql("h_index", None) + f" AND m.author_id IN ({touched})"
    c = S.latest_author_metrics_sql("citations", None) + f" AND m.author_id IN ({touched})"
    conn.execute(text(
        "INSERT INTO agg_author_stats (author_id, papers_stored, h_index, citations) "
        f"SELECT t.author_id, 0, h.value, c.value FROM ({touched}) t "
        f"LEFT JOIN ({h}) h ON h.author_id = t.author_id LEFT JOIN ({c}) c ON c.author_id = t.author_id "
        "WHERE 1 = 1 ON CONFLICT (author_id) DO UPDATE SET h_index = excluded.h_index, "
        "citations = excluded.citations"), {"lo": lo})


def _affiliation_stats(conn: Connection, lo: int, everything: bool) -> None:
    """Papers with citations, their sum and h-index, again, for affiliations with a paper
    that has a snapshot above ``lo`` (every affiliation when ``everything``)."""
    touched = None if everything else [r[0] for r in conn.execute(text(
        "SELECT DISTINCT pa.affiliation_id FROM paper_metrics m JOIN paper_affiliations pa "
        "ON pa.paper_id = m.paper_id WHERE m.id > :lo"), {"lo": lo})]
    if touched == []:
        return
    only = "" if touched is None else " AND pa.affiliation_id IN :affs"
    sql = ("SELECT pa.affiliation_id, lc.citations FROM paper_affiliations pa "
           f"JOIN ({S.LATEST_PAPER_CITATIONS_SQL}) lc ON lc.paper_id = pa.paper_id "
           f"WHERE pa.paper_id {NOT_EVAL}{only}")
    params: dict[str, object] = {"is_eval_true": True}
    if touched is not None:
        params["affs"] = touched
    cites: dict[int, list[int]] = defaultdict(list)
    for aff, count in conn.execute(S.with_lists(sql, "affs") if touched is not None else text(sql), params):
        cites[aff].append(count)
    if touched is not None:
        conn.execute(S.with_lists("DELETE FROM agg_affiliation_stats WHERE affiliation_id IN :affs",
                                  "affs"), {"affs": touched})
    rows = []
    for aff, values in cites.items():
        h, n = h_index_from(values)
        rows.append({"a": aff, "n": n, "c": sum(values), "h": h})
    if rows:
        conn.execute(text("INSERT INTO agg_affiliation_stats (affiliation_id, papers_with_citations, "
                          "citations, h_index) VALUES (:a, :n, :c, :h)"), rows)


# -- reading the boards ------------------------------------------------------------
AFFILIATION_IDS = "SELECT id FROM affiliations WHERE lower(name) = lower(:aff)"
SMALL_AFFILIATION = 5000  # papers: below this, list the affiliation's authors up front
FIRST_PAGE = 0  # ranked candidates checked at once for a large affiliation (0: twice the limit)
TAGGED_AMONG = (  # which of the authors :ids have a non-eval paper tagged with one of :affs
    "SELECT s.author_id FROM authorships s WHERE s.author_id IN :ids AND EXISTS (SELECT 1 FROM "
    "paper_affiliations pa WHERE pa.paper_id = s.paper_id AND pa.affiliation_id IN :affs) "
    f"AND s.paper_id {NOT_EVAL} UNION SELECT c.author_id FROM author_papers c WHERE c.author_id IN :ids "
    "AND EXISTS (SELECT 1 FROM paper_affiliations pa WHERE pa.paper_id = c.paper_id "
    f"AND pa.affiliation_id IN :affs) AND c.paper_id {NOT_EVAL}")


def _ranked(conn: Connection, table: str, where: str, order: str, params: dict, limit: int,
            affiliation: str | None) -> list[int]:
    """The first ``limit`` author ids of ``table`` (as ``g``) matching ``where`` in ``order``;
    with ``affiliation``, only authors with a non-eval paper tagged so.

    A small affiliation's authors are listed first and looked up in the table; for a large
    one the ranked candidates are read a page at a time and checked together, so the work
    stops once ``limit`` are found whatever plan the database would pick for a filter."""
    select = f"SELECT g.author_id FROM {table} g WHERE {where}"
    base = {**params, "aff": affiliation, "is_eval_true": True}
    if not affiliation:
        return list(conn.execute(text(f"{select} ORDER BY {order} LIMIT :limit"),
                                 {**base, "limit": limit}).scalars())
    papers = conn.execute(text(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM paper_affiliations WHERE affiliation_id IN ({AFFILIATION_IDS}) "
        "LIMIT :cap) t"), {"aff": affiliation, "cap": SMALL_AFFILIATION}).scalar_one()
    if papers < SMALL_AFFILIATION:
        return list(conn.execute(text(
            f"SELECT g.author_id FROM ({S.authors_tagged_sql()}) t JOIN {table} g "
            f"ON g.author_id = t.author_id WHERE {where} ORDER BY {order} LIMIT :limit"),
            {**base, "limit": limit}).scalars())
    chosen: list[int] = []
    affs = list(conn.execute(text(AFFILIATION_IDS), {"aff": affiliation}).scalars())
    offset, page = 0, FIRST_PAGE or 2 * limit
    query = text(f"{select} ORDER BY {order} LIMIT :limit OFFSET :offset")
    while len(chosen) < limit:
        ids = list(conn.execute(query, {**base, "limit": page, "offset": offset}).scalars())
        if not ids:
            break
        tagged = set(conn.execute(S.with_lists(TAGGED_AMONG, "ids", "affs"),
                                  {**base, "ids": ids, "affs": affs}).scalars())
        chosen += [a for a in ids if a in tagged][:limit - len(chosen)]
        offset, page = offset + page, page * 2
    return chosen


def papers_stored(conn: Connection, author_ids: list[int]) -> dict[int, int]:
    """{author_id: stored non-eval papers} of these authors."""
    return {a: n for a, n in conn.execute(S.with_lists(
        "SELECT author_id, papers_stored FROM agg_author_stats WHERE author_id IN :ids", "ids"),
        {"ids": author_ids})}


def author_sums(conn: Connection, pv: int, model: str,
                author_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """{author_id: (judged papers, sum of AI scores, sum of novelty)} under ``pv``/``model``."""
    return {a: (n, int(sa), int(sn)) for a, n, sa, sn in conn.execute(S.with_lists(
        "SELECT author_id, n, sum_ai, sum_novelty FROM agg_author_scores WHERE prompt_version_id = :pv "
        "AND model = :m AND author_id IN :ids", "ids"), {"pv": pv, "m": model, "ids": author_ids})}


def top_scored_authors(conn: Connection, pv: int, model: str, by: str, min_papers: int, limit: int,
                       affiliation: str | None) -> list[int]:
    """Author ids by mean score (then judged papers, then id), as the raw-table board ranks them."""
    mean = "mean_ai" if by == "ai_score" else "mean_novelty"
    return _ranked(conn, "agg_author_scores", "g.prompt_version_id = :pv AND g.model = :m AND g.n >= :min",
                   f"g.{mean} DESC, g.n DESC, g.author_id",
                   {"pv": pv, "m": model, "min": max(1, min_papers)}, limit, affiliation)


def top_metric_authors(conn: Connection, by: str, min_papers: int, limit: int,
                       affiliation: str | None) -> list[int]:
    """Author ids by the h-index or citations that count (any source), then id."""
    column = "h_index" if by == "h_index" else "citations"
    enough = " AND g.papers_stored >= :min" if min_papers > 0 else ""
    return _ranked(conn, "agg_author_stats", f"g.{column} IS NOT NULL{enough}",
                   f"g.{column} DESC, g.author_id", {"min": min_papers}, limit, affiliation)


def affiliation_scores(conn: Connection, pv: int, model: str, by: str, min_papers: int, limit: int,
                       affiliation: str | None) -> list[tuple[str, int, float, float]]:
    """(name, judged papers, mean AI score, mean novelty) of the top affiliations."""
    mean = "g.mean_ai" if by == "ai_score" else "g.mean_novelty"
    only = " AND lower(af.name) = lower(:aff)" if affiliation else ""
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(text(
        "SELECT af.name, g.n, g.mean_ai, g.mean_novelty FROM agg_affiliation_scores g "
        "JOIN affiliations af ON af.id = g.affiliation_id WHERE g.prompt_version_id = :pv "
        f"AND g.model = :m AND g.n >= :min{only} ORDER BY {mean} DESC, g.n DESC, af.name LIMIT :limit"),
        {"pv": pv, "m": model, "min": max(1, min_papers), "limit": limit, "aff": affiliation})]


def affiliation_stats(conn: Connection, min_papers: int,
                      affiliation: str | None) -> list[tuple[int | None, int, str, int]]:
    """(h-index, citations, name, papers with citations) of affiliations with enough such papers."""
    only = " AND lower(af.name) = lower(:aff)" if affiliation else ""
    return [(h, int(c), name, n) for h, c, name, n in conn.execute(text(
        "SELECT g.h_index, g.citations, af.name, g.papers_with_citations FROM agg_affiliation_stats g "
        f"JOIN affiliations af ON af.id = g.affiliation_id WHERE g.papers_with_citations >= :min{only}"),
        {"min": max(1, min_papers), "aff": affiliation})]
