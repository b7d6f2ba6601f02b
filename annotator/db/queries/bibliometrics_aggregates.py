"""The leaderboards' aggregates (``agg_*`` tables): their watermark, the steps of a refresh,
and the boards read from them. ``annotator.biblio.aggregates`` decides when and how much
to refresh and pages through a large affiliation's candidates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from annotator.db.derived import LINKS_CHANGED
from annotator.db.queries import sql
from annotator.db.queries.bibliometrics import (
    EVAL_PAPERS_SQL,
    LATEST_PAPER_CITATIONS_SQL,
    authors_tagged_sql,
    latest_author_metrics_sql,
)

SOURCES = {  # watermark name -> SQL giving its current value
    "judgments": "SELECT MAX(id) FROM judgments",
    "papers": "SELECT MAX(id) FROM papers",
    "author_metrics": "SELECT MAX(id) FROM author_metrics",
    "paper_metrics": "SELECT MAX(id) FROM paper_metrics",
    "author_papers": "SELECT COUNT(*) FROM author_papers",
    "links_seen": f"SELECT MAX(value) FROM agg_marks WHERE name = '{LINKS_CHANGED}'",
}
LOCKED = (
    "judgments",
    "papers",
    "authorships",
    "author_papers",
    "paper_affiliations",
    "author_metrics",
    "paper_metrics",
)
ADVISORY_KEY = 7262
AGG_TABLES = ("agg_author_scores", "agg_author_stats", "agg_affiliation_scores", "agg_affiliation_stats")
NOT_EVAL = f"NOT IN ({EVAL_PAPERS_SQL})"


# -- the watermark -------------------------------------------------------------------
def current_marks(conn: Connection) -> dict[str, int]:
    """The watermark as the database stands now (one round trip)."""
    query = "SELECT " + ", ".join(f"({q}) AS {name}" for name, q in SOURCES.items())
    row = conn.execute(text(query)).mappings().one()
    return {name: int(row[name] or 0) for name in SOURCES}


def stored_marks(conn: Connection) -> dict[str, int]:
    """The watermark the aggregates were last refreshed to (empty before the first refresh)."""
    return {name: int(value) for name, value in conn.execute(text("SELECT name, value FROM agg_marks"))}


def write_marks(conn: Connection, now: dict[str, int], stored: dict[str, int]) -> None:
    """Store the watermark ``now`` over ``stored``."""
    if LINKS_CHANGED not in stored:
        conn.execute(text("INSERT INTO agg_marks (name, value) VALUES (:n, 0)"), {"n": LINKS_CHANGED})
    for name, value in now.items():
        if name in stored:
            conn.execute(text("UPDATE agg_marks SET value = :v WHERE name = :n"), {"n": name, "v": value})
        else:
            conn.execute(text("INSERT INTO agg_marks (name, value) VALUES (:n, :v)"), {"n": name, "v": value})


# -- a refresh's steps ---------------------------------------------------------------
def lock_for_refresh(conn: Connection) -> None:
    """On PostgreSQL: one refresh at a time, and no writer to the tables read while it runs."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})
        conn.execute(text(f"LOCK TABLE {', '.join(LOCKED)} IN SHARE MODE"))


def clear_aggregates(conn: Connection) -> None:
    """Empty every aggregate table."""
    for table in AGG_TABLES:
        conn.execute(text(f"DELETE FROM {table}"))


def analyze_aggregates(conn: Connection) -> None:
    """Refresh the planner's statistics of the aggregate tables (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        for table in AGG_TABLES:
            conn.execute(text(f"ANALYZE {table}"))


def _upsert_sums(conn: Connection, table: str, key: str, delta_sql: str, params: dict) -> None:
    """Add (pv, model, key, n, sum_ai, sum_novelty) rows from ``delta_sql`` to ``table``."""
    mean = "CAST({s} AS FLOAT) / ({n})"
    total = f"{table}.n + excluded.n"
    conn.execute(
        text(
            f"INSERT INTO {table} (prompt_version_id, model, {key}, n, sum_ai, sum_novelty, mean_ai, "
            f"mean_novelty) SELECT d.pv, d.model, d.k, d.n, d.sa, d.sn, {mean.format(s='d.sa', n='d.n')}, "
            f"{mean.format(s='d.sn', n='d.n')} FROM ({delta_sql}) d WHERE 1 = 1 "
            f"ON CONFLICT (prompt_version_id, model, {key}) DO UPDATE SET n = {table}.n + excluded.n, "
            f"sum_ai = {table}.sum_ai + excluded.sum_ai, "
            f"sum_novelty = {table}.sum_novelty + excluded.sum_novelty, "
            f"mean_ai = {mean.format(s=f'{table}.sum_ai + excluded.sum_ai', n=total)}, "
            f"mean_novelty = {mean.format(s=f'{table}.sum_novelty + excluded.sum_novelty', n=total)}"
        ),
        params,
    )


def add_judgments(conn: Connection, lo: int, hi: int) -> None:
    """Judgments with ids in (lo, hi] into the author and affiliation score sums."""
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
        "WHERE s2.paper_id = c.paper_id AND s2.author_id = c.author_id)"
    )
    grouped = (
        "SELECT x.pv, x.model, x.k, COUNT(*) AS n, SUM(x.ai_score) AS sa, SUM(x.novelty) AS sn "
        f"FROM ({pairs}) x GROUP BY x.pv, x.model, x.k"
    )
    _upsert_sums(conn, "agg_author_scores", "author_id", grouped, params)
    by_aff = (
        "SELECT j.prompt_version_id AS pv, j.model, pa.affiliation_id AS k, COUNT(*) AS n, "
        "SUM(j.ai_score) AS sa, SUM(j.novelty) AS sn FROM judgments j "
        f"JOIN paper_affiliations pa ON pa.paper_id = j.paper_id WHERE {new} "
        f"AND j.paper_id {NOT_EVAL} GROUP BY j.prompt_version_id, j.model, pa.affiliation_id"
    )
    _upsert_sums(conn, "agg_affiliation_scores", "affiliation_id", by_aff, params)


def add_papers(conn: Connection, lo: int, hi: int) -> None:
    """Papers with ids in (lo, hi] into their authors' stored-paper counts."""
    conn.execute(
        text(
            "INSERT INTO agg_author_stats (author_id, papers_stored) SELECT x.author_id, COUNT(*) FROM "
            "(SELECT s.author_id, s.paper_id FROM authorships s WHERE s.paper_id > :lo AND s.paper_id <= :hi "
            "UNION SELECT c.author_id, c.paper_id FROM author_papers c WHERE c.paper_id > :lo "
            f"AND c.paper_id <= :hi) x WHERE x.paper_id {NOT_EVAL} GROUP BY x.author_id "
            "ON CONFLICT (author_id) DO UPDATE SET "
            "papers_stored = agg_author_stats.papers_stored + excluded.papers_stored"
        ),
        {"lo": lo, "hi": hi, "is_eval_true": True},
    )


def renew_author_metrics(conn: Connection, lo: int) -> None:
    """The h-index and citations that count, again, for authors with snapshots above ``lo``."""
    touched = "SELECT DISTINCT author_id FROM author_metrics WHERE id > :lo"
    h = latest_author_metrics_sql("h_index", None) + f" AND m.author_id IN ({touched})"
    c = latest_author_metrics_sql("citations", None) + f" AND m.author_id IN ({touched})"
    conn.execute(
        text(
            "INSERT INTO agg_author_stats (author_id, papers_stored, h_index, citations) "
            f"SELECT t.author_id, 0, h.value, c.value FROM ({touched}) t "
            f"LEFT JOIN ({h}) h ON h.author_id = t.author_id LEFT JOIN ({c}) c ON c.author_id = t.author_id "
            "WHERE 1 = 1 ON CONFLICT (author_id) DO UPDATE SET h_index = excluded.h_index, "
            "citations = excluded.citations"
        ),
        {"lo": lo},
    )


def affiliations_with_new_citations(conn: Connection, lo: int) -> list[int]:
    """Ids of the affiliations with a paper that has a citation snapshot above ``lo``."""
    return [
        r[0]
        for r in conn.execute(
            text(
                "SELECT DISTINCT pa.affiliation_id FROM paper_metrics m JOIN paper_affiliations pa "
                "ON pa.paper_id = m.paper_id WHERE m.id > :lo"
            ),
            {"lo": lo},
        )
    ]


def affiliation_paper_citations(conn: Connection, affs: Sequence[int] | None) -> list[tuple[int, int]]:
    """(affiliation id, citations that count) of each tagged non-eval paper with a count;
    only of the affiliations ``affs`` unless None."""
    only = "" if affs is None else " AND pa.affiliation_id IN :affs"
    query = (
        "SELECT pa.affiliation_id, lc.citations FROM paper_affiliations pa "
        f"JOIN ({LATEST_PAPER_CITATIONS_SQL}) lc ON lc.paper_id = pa.paper_id "
        f"WHERE pa.paper_id {NOT_EVAL}{only}"
    )
    params: dict[str, object] = {"is_eval_true": True}
    if affs is not None:
        params["affs"] = list(affs)
    return [(a, c) for a, c in conn.execute(sql(query, "affs") if affs is not None else text(query), params)]


def replace_affiliation_stats(conn: Connection, affs: Sequence[int] | None, rows: list[dict]) -> None:
    """Delete the stats of ``affs`` (None: none) and insert ``rows`` ({a, n, c, h})."""
    if affs is not None:
        conn.execute(
            sql("DELETE FROM agg_affiliation_stats WHERE affiliation_id IN :affs", "affs"), {"affs": list(affs)}
        )
    if rows:
        conn.execute(
            text(
                "INSERT INTO agg_affiliation_stats (affiliation_id, papers_with_citations, "
                "citations, h_index) VALUES (:a, :n, :c, :h)"
            ),
            rows,
        )


# -- reading the boards ------------------------------------------------------------
AFFILIATION_IDS = "SELECT id FROM affiliations WHERE lower(name) = lower(:aff)"
TAGGED_AMONG = (  # which of the authors :ids have a non-eval paper tagged with one of :affs
    "SELECT s.author_id FROM authorships s WHERE s.author_id IN :ids AND EXISTS (SELECT 1 FROM "
    "paper_affiliations pa WHERE pa.paper_id = s.paper_id AND pa.affiliation_id IN :affs) "
    f"AND s.paper_id {NOT_EVAL} UNION SELECT c.author_id FROM author_papers c WHERE c.author_id IN :ids "
    "AND EXISTS (SELECT 1 FROM paper_affiliations pa WHERE pa.paper_id = c.paper_id "
    f"AND pa.affiliation_id IN :affs) AND c.paper_id {NOT_EVAL}"
)


@dataclass(frozen=True)
class Ranking:
    """Author ids of an aggregate table (as ``g``) matching ``where``, in ``order``."""

    table: str
    where: str
    order: str
    params: dict[str, object] = field(default_factory=dict)


def scored_ranking(pv: int, model: str, by: str, min_papers: int) -> Ranking:
    """Authors by mean score (then judged papers, then id), as the raw-table board ranks them."""
    mean = "mean_ai" if by == "ai_score" else "mean_novelty"
    return Ranking(
        "agg_author_scores",
        "g.prompt_version_id = :pv AND g.model = :m AND g.n >= :min",
        f"g.{mean} DESC, g.n DESC, g.author_id",
        {"pv": pv, "m": model, "min": max(1, min_papers)},
    )


def metric_ranking(by: str, min_papers: int) -> Ranking:
    """Authors by the h-index or citations that count (any source), then id."""
    column = "h_index" if by == "h_index" else "citations"
    enough = " AND g.papers_stored >= :min" if min_papers > 0 else ""
    return Ranking(
        "agg_author_stats", f"g.{column} IS NOT NULL{enough}", f"g.{column} DESC, g.author_id", {"min": min_papers}
    )


def ranked_authors(conn: Connection, ranking: Ranking, limit: int, offset: int | None = None) -> list[int]:
    """The ``limit`` author ids of ``ranking`` (from ``offset``, when given)."""
    page = " OFFSET :offset" if offset is not None else ""
    return list(
        conn.execute(
            text(
                f"SELECT g.author_id FROM {ranking.table} g WHERE {ranking.where} ORDER BY {ranking.order} "
                f"LIMIT :limit{page}"
            ),
            {**ranking.params, "is_eval_true": True, "limit": limit, "offset": offset},
        ).scalars()
    )


def ranked_tagged_authors(conn: Connection, ranking: Ranking, affiliation: str, limit: int) -> list[int]:
    """The first ``limit`` author ids of ``ranking`` with a non-eval paper tagged ``affiliation``,
    from the affiliation's authors listed up front."""
    return list(
        conn.execute(
            text(
                f"SELECT g.author_id FROM ({authors_tagged_sql()}) t JOIN {ranking.table} g "
                f"ON g.author_id = t.author_id WHERE {ranking.where} ORDER BY {ranking.order} LIMIT :limit"
            ),
            {**ranking.params, "aff": affiliation, "is_eval_true": True, "limit": limit},
        ).scalars()
    )


def affiliation_paper_count(conn: Connection, affiliation: str, cap: int) -> int:
    """How many papers are tagged with ``affiliation`` (counting stops at ``cap``)."""
    return conn.execute(
        text(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM paper_affiliations WHERE affiliation_id IN ({AFFILIATION_IDS}) "
            "LIMIT :cap) t"
        ),
        {"aff": affiliation, "cap": cap},
    ).scalar_one()


def affiliation_ids(conn: Connection, affiliation: str) -> list[int]:
    """Ids of the affiliations named ``affiliation`` (case-insensitive)."""
    return list(conn.execute(text(AFFILIATION_IDS), {"aff": affiliation}).scalars())


def tagged_among(conn: Connection, author_ids: Sequence[int], affs: Sequence[int]) -> set[int]:
    """Which of ``author_ids`` have a non-eval paper tagged with one of the affiliations ``affs``."""
    return set(
        conn.execute(
            sql(TAGGED_AMONG, "ids", "affs"), {"is_eval_true": True, "ids": list(author_ids), "affs": list(affs)}
        ).scalars()
    )


def papers_stored(conn: Connection, author_ids: Sequence[int]) -> dict[int, int]:
    """{author_id: stored non-eval papers} of these authors."""
    return {
        a: n
        for a, n in conn.execute(
            sql("SELECT author_id, papers_stored FROM agg_author_stats WHERE author_id IN :ids", "ids"),
            {"ids": list(author_ids)},
        )
    }


def author_sums(conn: Connection, pv: int, model: str, author_ids: Sequence[int]) -> dict[int, tuple[int, int, int]]:
    """{author_id: (judged papers, sum of AI scores, sum of novelty)} under ``pv``/``model``."""
    return {
        a: (n, int(sa), int(sn))
        for a, n, sa, sn in conn.execute(
            sql(
                "SELECT author_id, n, sum_ai, sum_novelty FROM agg_author_scores WHERE prompt_version_id = :pv "
                "AND model = :m AND author_id IN :ids",
                "ids",
            ),
            {"pv": pv, "m": model, "ids": list(author_ids)},
        )
    }


def affiliation_scores(
    conn: Connection, pv: int, model: str, by: str, min_papers: int, limit: int, affiliation: str | None
) -> list[tuple[str, int, float, float]]:
    """(name, judged papers, mean AI score, mean novelty) of the top affiliations."""
    mean = "g.mean_ai" if by == "ai_score" else "g.mean_novelty"
    only = " AND lower(af.name) = lower(:aff)" if affiliation else ""
    return [
        (r[0], r[1], r[2], r[3])
        for r in conn.execute(
            text(
                "SELECT af.name, g.n, g.mean_ai, g.mean_novelty FROM agg_affiliation_scores g "
                "JOIN affiliations af ON af.id = g.affiliation_id WHERE g.prompt_version_id = :pv "
                f"AND g.model = :m AND g.n >= :min{only} ORDER BY {mean} DESC, g.n DESC, af.name LIMIT :limit"
            ),
            {"pv": pv, "m": model, "min": max(1, min_papers), "limit": limit, "aff": affiliation},
        )
    ]


def affiliation_stats(
    conn: Connection, min_papers: int, affiliation: str | None
) -> list[tuple[int | None, int, str, int]]:
    """(h-index, citations, name, papers with citations) of affiliations with enough such papers."""
    only = " AND lower(af.name) = lower(:aff)" if affiliation else ""
    return [
        (h, int(c), name, n)
        for h, c, name, n in conn.execute(
            text(
                "SELECT g.h_index, g.citations, af.name, g.papers_with_citations FROM agg_affiliation_stats g "
                f"JOIN affiliations af ON af.id = g.affiliation_id WHERE g.papers_with_citations >= :min{only}"
            ),
            {"min": max(1, min_papers), "aff": affiliation},
        )
    ]
