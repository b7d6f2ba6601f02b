"""Leaderboards computed from the raw tables (``leaderboard(..., use_aggregates=False)``,
and boards from one metrics source); the ``agg_*`` tables' side is
``bibliometrics_aggregates``. Judged pairs count each author-paper pair once, without
eval-suite papers (``bibliometrics.JUDGED_PAIRS_SQL``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row

from annotator.db.queries import sql
from annotator.db.queries.bibliometrics import (
    AUTHOR_PAIRS_SQL,
    EVAL_PAPERS_SQL,
    JUDGED_PAIRS_SQL,
    LATEST_PAPER_CITATIONS_SQL,
    authors_tagged_sql,
    latest_author_metrics_sql,
    stored_paper_count,
)

_TAGGED = "FROM paper_affiliations pa JOIN affiliations af ON af.id = pa.affiliation_id "


def _aff_filter(affiliation: str | None, column: str) -> str:
    return f" AND {column} IN ({authors_tagged_sql()})" if affiliation else ""


def _aff_where(affiliation: str | None) -> str:
    return f"WHERE pa.paper_id NOT IN ({EVAL_PAPERS_SQL})" + (
        " AND lower(af.name) = lower(:aff)" if affiliation else ""
    )


def top_scored_authors(
    conn: Connection, pv: int, model: str, by: str, min_papers: int, limit: int, affiliation: str | None
) -> list[int]:
    """Author ids by mean ``by`` score of their judged papers (then judged papers, then id);
    with ``affiliation``, only authors with a non-eval paper tagged so."""
    query = (
        f"SELECT x.author_id, COUNT(*) AS n, AVG(x.ai_score) AS ai, AVG(x.novelty) AS nov "
        f"FROM ({JUDGED_PAIRS_SQL}) x WHERE 1 = 1{_aff_filter(affiliation, 'x.author_id')} "
        "GROUP BY x.author_id HAVING COUNT(*) >= :min "
        f"ORDER BY {'ai' if by == 'ai_score' else 'nov'} DESC, n DESC, x.author_id LIMIT :limit"
    )
    return [
        r[0]
        for r in conn.execute(
            text(query),
            {"pv": pv, "m": model, "is_eval_true": True, "min": max(1, min_papers), "limit": limit, "aff": affiliation},
        ).all()
    ]


def top_metric_authors(
    conn: Connection, field: str, source: str | None, min_papers: int, limit: int, affiliation: str | None
) -> list[int]:
    """Author ids by the ``field`` (h_index or citations) that counts (of ``source`` only, when
    given), then id; authors need ``min_papers`` non-eval papers."""
    query = (
        f"SELECT lm.author_id FROM ({latest_author_metrics_sql(field, source)}) lm "
        f"WHERE 1=1{_aff_filter(affiliation, 'lm.author_id')} ORDER BY lm.value DESC, lm.author_id"
    )
    chosen: list[int] = []
    result = conn.execute(text(query), {"is_eval_true": True, "source": source, "aff": affiliation})
    for (aid,) in result:
        if min_papers > 0 and stored_paper_count(conn, aid) < min_papers:
            continue
        chosen.append(aid)
        if len(chosen) >= limit:
            break
    result.close()
    return chosen


def author_pair_counts(conn: Connection, author_ids: Sequence[int]) -> dict[int, int]:
    """{author id: non-eval papers} of these authors (listed or linked, each once)."""
    return dict(
        conn.execute(
            sql(f"SELECT x.author_id, COUNT(*) FROM ({AUTHOR_PAIRS_SQL}) x GROUP BY x.author_id", "authors"),
            {"is_eval_true": True, "authors": list(author_ids)},
        ).all()
    )


def author_pair_scores(
    conn: Connection, pv: int | None, model: str, author_ids: Sequence[int]
) -> list[Row[int, int, int, int]]:
    """(author id, paper id, ai_score, novelty) of these authors' non-eval papers judged under
    ``pv``/``model``."""
    return list(
        conn.execute(
            sql(
                f"SELECT x.author_id, x.paper_id, j.ai_score, j.novelty FROM ({AUTHOR_PAIRS_SQL}) x "
                "JOIN judgments j ON j.paper_id = x.paper_id AND j.prompt_version_id = :pv AND j.model = :m",
                "authors",
            ),
            {"pv": pv, "m": model, "is_eval_true": True, "authors": list(author_ids)},
        )
    )


def affiliation_scores(
    conn: Connection, pv: int, model: str, by: str, min_papers: int, limit: int, affiliation: str | None
) -> list[Row[str, int, float, float]]:
    """(name, judged papers, mean AI score, mean novelty) of the top affiliations by ``by``."""
    col = "ai" if by == "ai_score" else "nov"
    return list(
        conn.execute(
            text(
                f"SELECT af.name, COUNT(*) AS n, AVG(j.ai_score) AS ai, AVG(j.novelty) AS nov {_TAGGED}"
                "JOIN judgments j ON j.paper_id = pa.paper_id AND j.prompt_version_id = :pv "
                f"AND j.model = :m {_aff_where(affiliation)} GROUP BY af.id, af.name HAVING COUNT(*) >= :min "
                f"ORDER BY {col} DESC, n DESC, af.name LIMIT :limit"
            ),
            {"pv": pv, "m": model, "is_eval_true": True, "aff": affiliation, "min": max(1, min_papers), "limit": limit},
        ).all()
    )


def affiliation_citations(conn: Connection, affiliation: str | None) -> list[Row[str, int]]:
    """(affiliation name, citations that count) of every non-eval paper tagged with an
    affiliation (only ``affiliation``, when given) that has a citation count."""
    return list(
        conn.execute(
            text(
                f"SELECT af.name, lc.citations {_TAGGED}"
                f"JOIN ({LATEST_PAPER_CITATIONS_SQL}) lc ON lc.paper_id = pa.paper_id {_aff_where(affiliation)}"
            ),
            {"is_eval_true": True, "aff": affiliation},
        )
    )
