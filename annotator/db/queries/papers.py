"""Papers, their authors and affiliations: what ingest and imports write, what exports,
profiles and pages read (papers with their judgments included).

Authors and affiliations are read in position order, so a paper's list is the one its
source printed. Functions taking ``ids`` bind them as one list parameter (:func:`sql`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row, RowMapping

from annotator.db.queries import sql

# -- papers --------------------------------------------------------------------------


def paper_ids(conn: Connection, include_eval: bool) -> list[int]:
    """Ids of the stored papers in id order (eval-suite papers only with ``include_eval``)."""
    return [
        r[0]
        for r in conn.execute(
            text("SELECT id FROM papers" + ("" if include_eval else " WHERE is_eval = :f") + " ORDER BY id"),
            {"f": False},
        )
    ]


def papers_by_id(conn: Connection, ids: Sequence[int]) -> list[RowMapping]:
    """The export's columns of these papers, in id order."""
    return list(
        conn.execute(
            sql(
                "SELECT id, key, title, abstract, categories, category, published, has_code, "
                "authors_truncated FROM papers WHERE id IN :ids ORDER BY id",
                "ids",
            ),
            {"ids": list(ids)},
        ).mappings()
    )


def paper_abstracts(conn: Connection, ids: Sequence[int]) -> list[Row[int, str, str | None]]:
    """(id, key, abstract) of these papers."""
    return list(conn.execute(sql("SELECT id, key, abstract FROM papers WHERE id IN :ids", "ids"), {"ids": list(ids)}))


def eval_paper_keys(conn: Connection) -> list[Row[int, str | None, str | None, str]]:
    """(id, external_id, key, norm_title) of every eval-suite paper."""
    return list(
        conn.execute(text("SELECT id, external_id, key, norm_title FROM papers WHERE is_eval = :t"), {"t": True})
    )


# how a stored paper is found by one of its ids (the value binds as :v)
PAPER_BY = {
    "doi": "SELECT id FROM papers WHERE doi = :v OR key = 'doi:' || :v",
    "arxiv": "SELECT id FROM papers WHERE arxiv_id = :v",
    "openalex": "SELECT id FROM papers WHERE openalex_id = :v",
    "s2": "SELECT id FROM papers WHERE external_id = :v OR external_id = 's2:' || :v",
    "external_id": "SELECT id FROM papers WHERE external_id = :v OR key = 'ext:' || :v",
}


def paper_ids_by(conn: Connection, by: str, value: str) -> list[int]:
    """Ids (sorted, once each) of the papers whose id ``by`` (a key of ``PAPER_BY``) is ``value``."""
    return sorted({r[0] for r in conn.execute(text(PAPER_BY[by]), {"v": value})})


def paper_ids_titled(conn: Connection, norm_title: str) -> list[int]:
    """Ids (sorted) of the papers with this normalised title."""
    return sorted({r[0] for r in conn.execute(text("SELECT id FROM papers WHERE norm_title = :t"), {"t": norm_title})})


def published_dates(conn: Connection, ids: Sequence[int]) -> dict[int, object]:
    """{paper id: publication date} of these papers."""
    return {
        pid: y
        for pid, y in conn.execute(sql("SELECT id, published FROM papers WHERE id IN :ids", "ids"), {"ids": list(ids)})
    }


def first_author_names(conn: Connection, ids: Sequence[int]) -> list[Row[int, str]]:
    """(paper id, normalised name of its first author) of these papers."""
    return list(
        conn.execute(
            sql(
                "SELECT s.paper_id, a.norm_name FROM authorships s JOIN authors a ON a.id = s.author_id "
                "WHERE s.position = 0 AND s.paper_id IN :ids",
                "ids",
            ),
            {"ids": list(ids)},
        )
    )


def reserve_sequence_ids(conn: Connection, table: str, count: int) -> list[int]:
    """``count`` ids from ``table``'s id sequence (PostgreSQL)."""
    return list(
        conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": count},
        ).scalars()
    )


# -- authors and affiliations ----------------------------------------------------------


def paper_authors(conn: Connection, ids: Sequence[int]) -> list[Row[int, str, int]]:
    """(paper id, author name, author id) of these papers' authors, each paper's in order."""
    return list(
        conn.execute(
            sql(
                "SELECT a.paper_id, au.name, au.id FROM authorships a JOIN authors au ON au.id = a.author_id "
                "WHERE a.paper_id IN :ids ORDER BY a.paper_id, a.position",
                "ids",
            ),
            {"ids": list(ids)},
        )
    )


def paper_affiliations(conn: Connection, ids: Sequence[int]) -> list[Row[int, str]]:
    """(paper id, affiliation name) of these papers, each paper's in order."""
    return list(
        conn.execute(
            sql(
                "SELECT pa.paper_id, af.name FROM paper_affiliations pa JOIN affiliations af "
                "ON af.id = pa.affiliation_id WHERE pa.paper_id IN :ids ORDER BY pa.paper_id, pa.position",
                "ids",
            ),
            {"ids": list(ids)},
        )
    )


def author_exists(conn: Connection, author_id: int) -> bool:
    """Whether an author has this id."""
    return conn.execute(text("SELECT 1 FROM authors WHERE id = :i"), {"i": author_id}).first() is not None


AUTHOR_ID_COLUMNS = ("openalex_id", "orcid", "s2_id")


def author_ids_by(conn: Connection, column: str, value: str) -> list[int]:
    """Ids (sorted) of the authors whose ``column`` (one of ``AUTHOR_ID_COLUMNS``) is ``value``."""
    if column not in AUTHOR_ID_COLUMNS:
        raise ValueError(f"not an author id column: {column}")
    return sorted({r[0] for r in conn.execute(text(f"SELECT id FROM authors WHERE {column} = :v"), {"v": value})})


def authors_named(conn: Connection, norm_name: str) -> list[Row[Any]]:
    """(id, name, openalex_id, s2_id, orcid) of the authors with this normalised name, by id."""
    return list(
        conn.execute(
            text("SELECT id, name, openalex_id, s2_id, orcid FROM authors WHERE norm_name = :n ORDER BY id"),
            {"n": norm_name},
        )
    )


def author_names_from(conn: Connection, prefix: str, limit: int) -> list[str]:
    """Names of the first ``limit`` authors whose normalised name starts with ``prefix``."""
    return [
        r[0]
        for r in conn.execute(
            text("SELECT name FROM authors WHERE norm_name >= :lo AND norm_name < :hi ORDER BY norm_name LIMIT :k"),
            {"lo": prefix, "hi": prefix + "\uffff", "k": limit},
        )
    ]


def author_names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """{author id: name} of these authors."""
    return dict(conn.execute(sql("SELECT id, name FROM authors WHERE id IN :ids", "ids"), {"ids": list(ids)}).all())


def authors_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, Row[Any]]:
    """{author id: (id, name, primary_category)} of these authors."""
    return {
        r.id: r
        for r in conn.execute(
            sql("SELECT id, name, primary_category FROM authors WHERE id IN :authors", "authors"),
            {"authors": list(ids)},
        )
    }


def author_row(conn: Connection, author_id: int) -> RowMapping:
    """id, name and primary_category of one author."""
    return (
        conn.execute(text("SELECT id, name, primary_category FROM authors WHERE id = :a"), {"a": author_id})
        .mappings()
        .one()
    )


def authorship_counts(conn: Connection, author_ids: Sequence[int]) -> dict[int, int]:
    """{author id: papers they are listed on} of these authors (absent: none)."""
    return dict(
        conn.execute(
            sql("SELECT author_id, COUNT(*) FROM authorships WHERE author_id IN :ids GROUP BY author_id", "ids"),
            {"ids": list(author_ids)},
        ).all()
    )


def papers_written(conn: Connection, author_ids: Sequence[int], paper_ids: Sequence[int]) -> dict[int, int]:
    """{author id: how many of ``paper_ids`` are theirs (listed or linked)}."""
    return dict(
        conn.execute(
            sql(
                "SELECT author_id, COUNT(*) FROM (SELECT author_id, paper_id FROM authorships "
                "WHERE author_id IN :authors AND paper_id IN :papers UNION "
                "SELECT author_id, paper_id FROM author_papers WHERE author_id IN :authors "
                "AND paper_id IN :papers) x GROUP BY author_id",
                "authors",
                "papers",
            ),
            {"authors": list(author_ids), "papers": list(paper_ids)},
        ).all()
    )


def authors_with_papers(conn: Connection, min_papers: int) -> list[Row[int, int]]:
    """(author id, non-eval papers) of the authors with at least ``min_papers`` (listed or linked)."""
    return list(
        conn.execute(
            text(
                "SELECT x.author_id, COUNT(DISTINCT x.paper_id) AS n FROM (SELECT author_id, paper_id "
                "FROM authorships UNION ALL SELECT author_id, paper_id FROM author_papers) x "
                "WHERE x.paper_id NOT IN (SELECT id FROM papers WHERE is_eval = :t) "
                "GROUP BY x.author_id HAVING COUNT(DISTINCT x.paper_id) >= :min"
            ),
            {"t": True, "min": min_papers},
        ).all()
    )


def author_paper_linked(conn: Connection, author_id: int, paper_id: int) -> bool:
    """Whether a profile source already links this author to this paper."""
    return (
        conn.execute(
            text("SELECT 1 FROM author_papers WHERE author_id = :a AND paper_id = :p"), {"a": author_id, "p": paper_id}
        ).first()
        is not None
    )


def set_primary_category(conn: Connection, author_id: int, category: str, overwrite: bool) -> None:
    """Set an author's primary category (only where it has none, unless ``overwrite``)."""
    conn.execute(
        text(
            "UPDATE authors SET primary_category = :c WHERE id = :i"
            + ("" if overwrite else " AND primary_category IS NULL")
        ),
        {"c": category, "i": author_id},
    )


# -- ids an import fills in ------------------------------------------------------------
FILLABLE = {"authors": ("openalex_id", "s2_id", "orcid"), "papers": ("doi", "arxiv_id", "openalex_id")}


def _fillable(table: str, columns: Sequence[str]) -> None:
    if table not in FILLABLE or not set(columns) <= set(FILLABLE[table]):
        raise ValueError(f"not fillable: {table}.{', '.join(columns)}")


def stored_ids(conn: Connection, table: str, row_id: int, columns: Sequence[str]) -> RowMapping:
    """The id columns ``columns`` of one row of ``table`` (``authors`` or ``papers``)."""
    _fillable(table, columns)
    return conn.execute(text(f"SELECT {', '.join(columns)} FROM {table} WHERE id = :i"), {"i": row_id}).mappings().one()


def id_taken(conn: Connection, table: str, column: str, value: str) -> bool:
    """Whether a row of ``table`` already has ``value`` in ``column``."""
    _fillable(table, [column])
    return conn.execute(text(f"SELECT 1 FROM {table} WHERE {column} = :v LIMIT 1"), {"v": value}).first() is not None


def set_id(conn: Connection, table: str, row_id: int, column: str, value: str) -> None:
    """Set ``column`` of one row of ``table`` to ``value``."""
    _fillable(table, [column])
    conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :i"), {"v": value, "i": row_id})


# -- papers with their judgments ------------------------------------------------------


def judgments_of_papers(
    conn: Connection, ids: Sequence[int], prompt: str | None, model: str | None
) -> list[Row[*tuple[Any, ...]]]:
    """The judgments of these papers in (paper, id) order, as the export shows them;
    ``prompt`` (NAME or NAME@VERSION) and ``model`` narrow them.

    Columns: paper_id, prompt_name, prompt_version, prompt_hash, model, ai_score, novelty,
    rationale, created_at, demo_quality, prompt_version_id, method, ai_score_spread,
    novelty_spread, details_json."""
    jsql = (
        "SELECT paper_id, prompt_name, prompt_version, prompt_hash, model, ai_score, novelty, "
        "rationale, created_at, demo_quality, prompt_version_id, method, ai_score_spread, novelty_spread, "
        "details_json FROM judgments WHERE paper_id IN :ids"
    )
    params: dict[str, object] = {"ids": list(ids)}
    if prompt:
        name, _, version = prompt.partition("@")
        jsql += " AND prompt_name = :pn" + (" AND prompt_version = :pver" if version else "")
        params.update(pn=name, pver=version.lstrip("v"))
    if model:
        jsql += " AND model = :model"
        params["model"] = model
    return list(conn.execute(sql(jsql + " ORDER BY paper_id, id", "ids"), params))


def judged_column(conn: Connection, column: str, pv: int, model: str, ids: Sequence[int]) -> dict[int, Any]:
    """{paper id: ``column`` (``ai_score`` or ``rationale``)} of these papers' judgments under
    prompt version ``pv`` and ``model``."""
    if column not in ("ai_score", "rationale"):
        raise ValueError(f"not a judgment column read here: {column}")
    return dict(
        conn.execute(
            sql(
                f"SELECT paper_id, {column} FROM judgments WHERE prompt_version_id = :pv "
                "AND model = :m AND paper_id IN :ids",
                "ids",
            ),
            {"pv": pv, "m": model, "ids": list(ids)},
        ).all()
    )


# -- texts, eval ids and authors by paper ------------------------------------------------
# the reads of the heads, the methods and the feed
CHUNK = 500  # ids bound per statement


def paper_texts(conn: Connection, paper_ids: Sequence[int]) -> list[Row]:
    """(id, title, abstract) of the papers with these ids."""
    query = sql("SELECT id, title, abstract FROM papers WHERE id IN :ids", "ids")
    rows: list[Row] = []
    for k in range(0, len(paper_ids), CHUNK):
        rows += conn.execute(query, {"ids": list(paper_ids[k : k + CHUNK])}).all()
    return rows


def all_paper_texts(conn: Connection) -> Sequence[Row]:
    """(id, title, abstract, published) of every paper, in id order."""
    return conn.execute(text("SELECT id, title, abstract, published FROM papers ORDER BY id")).all()


def eval_paper_ids(conn: Connection) -> dict[str, int]:
    """External id -> paper id of the eval papers that have an external id."""
    return dict(
        conn.execute(text("SELECT external_id, id FROM papers WHERE is_eval AND external_id IS NOT NULL")).all()
    )


def suite_paper_ids(conn: Connection) -> dict[tuple[str, str], int]:
    """(suite, external id) -> paper id of every paper of an eval suite."""
    return {
        (s, ext): pid
        for pid, ext, s in conn.execute(
            text("SELECT id, external_id, eval_suite FROM papers WHERE eval_suite IS NOT NULL")
        )
    }


def authors_of_papers(conn: Connection, paper_ids: Sequence[int]) -> Sequence[Row]:
    """(id, name, openalex_id, orcid) of the authors of these papers, each once, by id."""
    return conn.execute(
        sql(
            "SELECT DISTINCT a.id, a.name, a.openalex_id, a.orcid FROM authorships s "
            "JOIN authors a ON a.id = s.author_id WHERE s.paper_id IN :ids ORDER BY a.id",
            "ids",
        ),
        {"ids": list(paper_ids)},
    ).all()
