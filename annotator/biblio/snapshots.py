"""The metric snapshot that counts, and the author's set of papers, as SQL.

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

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import TextClause

AUTHOR_FIELDS = ("h_index", "citations", "works_count")


def with_lists(sql: str, *names: str) -> TextClause:
    """``sql`` as a statement whose ``IN :name`` lists are bound as expanding parameters
    (pass a list of values for each; works on SQLite and PostgreSQL, an empty list too)."""
    return text(sql).bindparams(*(bindparam(name, expanding=True) for name in names))


def author_paper_ids_sql(author_param: str = ":author") -> str:
    """SQL selecting ``paper_id`` of the author's papers, once each (eval papers included;
    callers filter on ``papers.is_eval``)."""
    return (f"SELECT s.paper_id FROM authorships s WHERE s.author_id = {author_param} "
            f"UNION SELECT c.paper_id FROM author_papers c WHERE c.author_id = {author_param}")


EVAL_PAPERS_SQL = "SELECT id FROM papers WHERE is_eval = :is_eval_true"

# (author_id, paper_id, ai_score, novelty) for every author-paper pair judged under
# :pv / :m, each pair once, eval papers left out. It reads the judgments once in
# paper order and looks up each paper's authors in the covering index
# ix_authorships_paper_author (CROSS JOIN fixes that join order on SQLite); an
# author listed twice on one paper (two co-authors with one name) counts once.
JUDGED_PAIRS_SQL = (
    "SELECT s.author_id, j.paper_id, j.ai_score, j.novelty FROM judgments j CROSS JOIN authorships s "
    "WHERE s.paper_id = j.paper_id AND j.prompt_version_id = :pv AND j.model = :m "
    f"AND j.paper_id NOT IN ({EVAL_PAPERS_SQL}) AND NOT EXISTS (SELECT 1 FROM authorships s3 "
    "WHERE s3.paper_id = s.paper_id AND s3.author_id = s.author_id AND s3.position < s.position) "
    "UNION ALL SELECT c.author_id, j.paper_id, j.ai_score, j.novelty FROM author_papers c "
    "JOIN judgments j ON j.paper_id = c.paper_id AND j.prompt_version_id = :pv AND j.model = :m "
    f"WHERE j.paper_id NOT IN ({EVAL_PAPERS_SQL}) AND NOT EXISTS (SELECT 1 FROM authorships s2 "
    "WHERE s2.paper_id = c.paper_id AND s2.author_id = c.author_id)"
)


# (author_id, paper_id) of the authors in the list :authors (bind it with ``with_lists``),
# their non-eval papers, each pair once
AUTHOR_PAIRS_SQL = (
    "SELECT DISTINCT x.author_id, x.paper_id FROM (SELECT s.author_id, s.paper_id FROM authorships s "
    "WHERE s.author_id IN :authors UNION ALL SELECT c.author_id, c.paper_id "
    "FROM author_papers c WHERE c.author_id IN :authors) x "
    f"WHERE x.paper_id NOT IN ({EVAL_PAPERS_SQL})")


def authors_tagged_sql() -> str:
    """author_id of authors with a non-eval paper tagged with the affiliation :aff."""
    tagged = ("FROM paper_affiliations pa JOIN affiliations af ON af.id = pa.affiliation_id "
              f"WHERE lower(af.name) = lower(:aff) AND pa.paper_id NOT IN ({EVAL_PAPERS_SQL})")
    return (f"SELECT s.author_id FROM authorships s WHERE s.paper_id IN (SELECT pa.paper_id {tagged}) "
            f"UNION SELECT c.author_id FROM author_papers c WHERE c.paper_id IN (SELECT pa.paper_id {tagged})")


def latest_author_metrics_sql(field: str, source: str | None) -> str:
    """SQL (author_id, value, source, as_of) of the snapshot that counts for ``field``."""
    src = " AND m.source = :source" if source else ""
    src2 = " AND m2.source = :source" if source else ""
    return (
        f"SELECT m.author_id, m.{field} AS value, m.source, m.as_of FROM author_metrics m "
        f"WHERE m.{field} IS NOT NULL{src} AND NOT EXISTS (SELECT 1 FROM author_metrics m2 "
        f"WHERE m2.author_id = m.author_id AND m2.{field} IS NOT NULL{src2} AND "
        f"(m2.as_of > m.as_of OR (m2.as_of = m.as_of AND m2.id > m.id)))")


LATEST_PAPER_CITATIONS_SQL = (
    "SELECT m.paper_id, m.citations FROM paper_metrics m WHERE m.citations IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM paper_metrics m2 WHERE m2.paper_id = m.paper_id "
    "AND m2.citations IS NOT NULL AND (m2.as_of > m.as_of OR (m2.as_of = m.as_of AND m2.id > m.id)))"
)


def _iso(value) -> str | None:
    return None if value is None else str(value)[:10]


def author_metrics(conn: Connection, author_id: int, source: str | None = None) -> dict:
    """``{"h_index": {"value", "source", "as_of"} | None, ..., "reported": {...} | None}``."""
    return authors_metrics(conn, [author_id], source)[author_id]


def authors_metrics(conn: Connection, author_ids: list[int], source: str | None = None) -> dict[int, dict]:
    """``author_metrics`` of several authors, read in one query."""
    sql = ("SELECT author_id, id, source, as_of, h_index, citations, works_count, reported_ai_score, "
           "reported_novelty FROM author_metrics WHERE author_id IN :ids"
           + (" AND source = :s" if source else "") + " ORDER BY author_id, as_of DESC, id DESC")
    rows: dict[int, list] = {a: [] for a in author_ids}
    for row in conn.execute(with_lists(sql, "ids"), {"ids": author_ids, "s": source}).mappings():
        rows[row["author_id"]].append(row)
    return {a: _chosen(found) for a, found in rows.items()}


def _chosen(rows: list) -> dict:
    """The values that count from one author's snapshots, newest first."""
    out: dict = {}
    for field in AUTHOR_FIELDS:
        row = next((r for r in rows if r[field] is not None), None)
        out[field] = None if row is None else {"value": row[field], "source": row["source"],
                                               "as_of": _iso(row["as_of"])}
    row = next((r for r in rows if r["reported_ai_score"] is not None
                or r["reported_novelty"] is not None), None)
    out["reported"] = None if row is None else {
        "ai_score": row["reported_ai_score"], "novelty": row["reported_novelty"],
        "h_index": row["h_index"], "citations": row["citations"], "papers": row["works_count"],
        "source": row["source"], "as_of": _iso(row["as_of"])}
    return out


def latest_paper_citations(conn: Connection, papers_sql: str, params: dict) -> dict[int, int]:
    """{paper_id: citations} from the snapshot that counts, for the papers ``papers_sql`` selects."""
    rows = conn.execute(text(
        "SELECT paper_id, citations, as_of, id FROM paper_metrics WHERE citations IS NOT NULL "
        f"AND paper_id IN ({papers_sql})"), params).all()
    best: dict[int, tuple] = {}
    for pid, cites, as_of, mid in rows:
        key = (str(as_of), mid)
        if pid not in best or key > best[pid][0]:
            best[pid] = (key, cites)
    return {pid: v[1] for pid, v in best.items()}
