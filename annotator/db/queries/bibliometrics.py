"""Bibliometrics: author and paper metric snapshots, an author's papers and their scores,
the figures of a profile and of the correlation report, and the judgment set they use.

Which snapshot counts (``annotator.biblio.snapshots`` explains the rule): the newest by
``as_of``, then the one stored last. An author's papers are the papers they are listed on
(``authorships``) plus those a profile source links to them (``author_papers``).
The leaderboards' queries are in ``bibliometrics_boards`` (from the raw tables) and
``bibliometrics_aggregates`` (from the ``agg_*`` tables).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row, RowMapping

from annotator.db.queries import sql


# -- shared fragments ---------------------------------------------------------------
def author_paper_ids_sql(author_param: str = ":author") -> str:
    """SQL selecting ``paper_id`` of the author's papers, once each (eval papers included;
    callers filter on ``papers.is_eval``)."""
    return (
        f"SELECT s.paper_id FROM authorships s WHERE s.author_id = {author_param} "
        f"UNION SELECT c.paper_id FROM author_papers c WHERE c.author_id = {author_param}"
    )


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

# (author_id, paper_id) of the authors in the list :authors (bind it with ``sql``),
# their non-eval papers, each pair once
AUTHOR_PAIRS_SQL = (
    "SELECT DISTINCT x.author_id, x.paper_id FROM (SELECT s.author_id, s.paper_id FROM authorships s "
    "WHERE s.author_id IN :authors UNION ALL SELECT c.author_id, c.paper_id "
    "FROM author_papers c WHERE c.author_id IN :authors) x "
    f"WHERE x.paper_id NOT IN ({EVAL_PAPERS_SQL})"
)


def authors_tagged_sql() -> str:
    """author_id of authors with a non-eval paper tagged with the affiliation :aff."""
    tagged = (
        "FROM paper_affiliations pa JOIN affiliations af ON af.id = pa.affiliation_id "
        f"WHERE lower(af.name) = lower(:aff) AND pa.paper_id NOT IN ({EVAL_PAPERS_SQL})"
    )
    return (
        f"SELECT s.author_id FROM authorships s WHERE s.paper_id IN (SELECT pa.paper_id {tagged}) "
        f"UNION SELECT c.author_id FROM author_papers c WHERE c.paper_id IN (SELECT pa.paper_id {tagged})"
    )


def latest_author_metrics_sql(field: str, source: str | None) -> str:
    """SQL (author_id, value, source, as_of) of the snapshot that counts for ``field``."""
    src = " AND m.source = :source" if source else ""
    src2 = " AND m2.source = :source" if source else ""
    return (
        f"SELECT m.author_id, m.{field} AS value, m.source, m.as_of FROM author_metrics m "
        f"WHERE m.{field} IS NOT NULL{src} AND NOT EXISTS (SELECT 1 FROM author_metrics m2 "
        f"WHERE m2.author_id = m.author_id AND m2.{field} IS NOT NULL{src2} AND "
        f"(m2.as_of > m.as_of OR (m2.as_of = m.as_of AND m2.id > m.id)))"
    )


LATEST_PAPER_CITATIONS_SQL = (
    "SELECT m.paper_id, m.citations FROM paper_metrics m WHERE m.citations IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM paper_metrics m2 WHERE m2.paper_id = m.paper_id "
    "AND m2.citations IS NOT NULL AND (m2.as_of > m.as_of OR (m2.as_of = m.as_of AND m2.id > m.id)))"
)


# -- snapshots -----------------------------------------------------------------------
def author_snapshots(conn: Connection, author_ids: Sequence[int], source: str | None) -> list[RowMapping]:
    """Every metric snapshot of these authors (of ``source`` only, when given), each
    author's newest first."""
    query = (
        "SELECT author_id, id, source, as_of, h_index, citations, works_count, reported_ai_score, "
        "reported_novelty FROM author_metrics WHERE author_id IN :ids"
        + (" AND source = :s" if source else "")
        + " ORDER BY author_id, as_of DESC, id DESC"
    )
    return list(conn.execute(sql(query, "ids"), {"ids": list(author_ids), "s": source}).mappings())


def latest_paper_citations(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    """{paper id: citations of the snapshot that counts} of these papers (absent: none)."""
    return dict(
        conn.execute(
            sql(f"SELECT paper_id, citations FROM ({LATEST_PAPER_CITATIONS_SQL}) latest WHERE paper_id IN :ids", "ids"),
            {"ids": list(ids)},
        ).all()
    )


def latest_author_h_index(conn: Connection, author_ids: Sequence[int]) -> dict[int, int]:
    """{author id: h-index of the snapshot that counts, any source} of these authors."""
    return dict(
        conn.execute(
            sql(
                f"SELECT author_id, value FROM ({latest_author_metrics_sql('h_index', None)}) latest "
                "WHERE author_id IN :ids",
                "ids",
            ),
            {"ids": list(author_ids)},
        ).all()
    )


# -- one author's papers ----------------------------------------------------------------
def author_papers(conn: Connection, author_id: int) -> list[RowMapping]:
    """id, title, category, published, has_code, authors_truncated of the author's non-eval papers."""
    return list(
        conn.execute(
            text(
                "SELECT id, title, category, published, has_code, authors_truncated FROM papers "
                f"WHERE id IN ({author_paper_ids_sql()}) AND is_eval = :f"
            ),
            {"author": author_id, "f": False},
        )
        .mappings()
        .all()
    )


def _mine(author_id: int) -> tuple[str, dict[str, object]]:
    """The author's non-eval paper ids as a subquery, and its parameters."""
    mine_sql = f"SELECT p.id FROM papers p WHERE p.id IN ({author_paper_ids_sql()}) AND p.is_eval = :f"
    return mine_sql, {"author": author_id, "f": False}


def author_paper_scores(conn: Connection, author_id: int, pv: int, model: str) -> dict[int, tuple[int, int]]:
    """{paper id: (ai_score, novelty)} of the author's non-eval papers judged under ``pv``/``model``."""
    mine_sql, mine_params = _mine(author_id)
    return {
        pid: (ai, nov)
        for pid, ai, nov in conn.execute(
            text(
                "SELECT paper_id, ai_score, novelty FROM judgments WHERE prompt_version_id = :pv "
                f"AND model = :m AND paper_id IN ({mine_sql})"
            ),
            {"pv": pv, "m": model, **mine_params},
        )
    }


def author_paper_citations(conn: Connection, author_id: int) -> dict[int, int]:
    """{paper id: citations} from the snapshot that counts, for the author's non-eval papers."""
    papers_sql, params = _mine(author_id)
    rows = conn.execute(
        text(
            "SELECT paper_id, citations, as_of, id FROM paper_metrics WHERE citations IS NOT NULL "
            f"AND paper_id IN ({papers_sql})"
        ),
        params,
    ).all()
    best: dict[int, tuple] = {}
    for pid, cites, as_of, mid in rows:
        key = (str(as_of), mid)
        if pid not in best or key > best[pid][0]:
            best[pid] = (key, cites)
    return {pid: v[1] for pid, v in best.items()}


def stored_paper_count(conn: Connection, author_id: int) -> int:
    """How many non-eval papers the author has."""
    return conn.execute(
        text(f"SELECT COUNT(*) FROM papers WHERE id IN ({author_paper_ids_sql()}) AND is_eval = :f"),
        {"author": author_id, "f": False},
    ).scalar_one()


# -- the correlation report -----------------------------------------------------------
def judged_paper_citations(conn: Connection, pv: int, model: str | None) -> list[Row[int, Any, int | None, int | None]]:
    """(paper id, published, ai_score, citations that count or None) of the non-eval papers
    judged under ``pv``/``model``."""
    return list(
        conn.execute(
            text(
                "SELECT p.id, p.published, j.ai_score, lc.citations FROM papers p "
                "JOIN judgments j ON j.paper_id = p.id AND j.prompt_version_id = :pv AND j.model = :m "
                f"LEFT JOIN ({LATEST_PAPER_CITATIONS_SQL}) lc ON lc.paper_id = p.id "
                "WHERE p.is_eval = :f"
            ),
            {"pv": pv, "m": model, "f": False},
        ).all()
    )


def author_scores_and_h_index(
    conn: Connection, pv: int, model: str | None, min_papers: int, source: str | None
) -> list[Row[int, str, int, float, int]]:
    """(author id, name, judged papers, mean AI score, h-index that counts) of the authors with
    at least ``min_papers`` papers judged under ``pv``/``model`` and an h-index, by author id."""
    query = (
        f"SELECT sc.author_id, a.name, sc.n, sc.ai, lm.value FROM ("
        f"SELECT x.author_id, COUNT(*) AS n, AVG(x.ai_score) AS ai FROM ({JUDGED_PAIRS_SQL}) x "
        "GROUP BY x.author_id HAVING COUNT(*) >= :min) sc "
        f"JOIN ({latest_author_metrics_sql('h_index', source)}) lm ON lm.author_id = sc.author_id "
        "JOIN authors a ON a.id = sc.author_id ORDER BY sc.author_id"
    )
    return list(
        conn.execute(
            text(query), {"pv": pv, "m": model, "is_eval_true": True, "min": min_papers, "source": source}
        ).all()
    )


# -- mapped scores -------------------------------------------------------------------
def calibration_maps(conn: Connection, pv: int, model: str) -> list[Row[str, str, str, float, float, str]]:
    """(suite, label, pred_key, scale_low, scale_high, map_json) of the isotonic maps stored
    for ``pv``/``model``, by suite and label."""
    return list(
        conn.execute(
            text(
                "SELECT suite, label, pred_key, scale_low, scale_high, map_json FROM calibrations "
                "WHERE prompt_version_id = :pv AND model = :m ORDER BY suite, label"
            ),
            {"pv": pv, "m": model},
        )
    )


def has_judgment_head(conn: Connection, pv: int, model: str) -> bool:
    """Whether a head was fitted on the judgment features of ``pv``/``model``."""
    return (
        conn.execute(
            text(
                "SELECT 1 FROM fitted_heads WHERE prompt_version_id = :pv AND model = :m AND kind = 'judgment' LIMIT 1"
            ),
            {"pv": pv, "m": model},
        ).first()
        is not None
    )


# -- the judgment set -----------------------------------------------------------------
def prompt_version_of_last_judgment(conn: Connection) -> int | None:
    """The prompt version id of the most recent judgment; None when nothing is judged."""
    last = conn.execute(text("SELECT prompt_version_id FROM judgments ORDER BY id DESC LIMIT 1")).first()
    return None if last is None else last[0]


def model_of_last_judgment(conn: Connection, pv: int) -> str | None:
    """The model of the most recent judgment under prompt version ``pv``."""
    found = conn.execute(
        text("SELECT model FROM judgments WHERE prompt_version_id = :pv ORDER BY id DESC LIMIT 1"), {"pv": pv}
    ).first()
    return found[0] if found else None


def method_of_last_judgment(conn: Connection, pv: int, model: str) -> str | None:
    """The method of the most recent judgment under ``pv``/``model``."""
    return conn.execute(
        text("SELECT method FROM judgments WHERE prompt_version_id = :pv AND model = :m ORDER BY id DESC LIMIT 1"),
        {"pv": pv, "m": model},
    ).scalar()
