"""Named queries on derived tables: the aggregates' marks, calibrations and fitted heads.

(The embedding cache, ``annotator/heads/vector_store.py``, and the feed's cursors and run
lease are written with SQLAlchemy Core statements, not text.) At the end, in a section of
its own, the queries on papers and authors that the heads, the methods and the feed make.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row

from . import sql


def raise_mark(conn: Connection, name: str) -> None:
    """Add one to the aggregates' mark ``name`` (the aggregates read it to know they are stale)."""
    conn.execute(text("UPDATE agg_marks SET value = value + 1 WHERE name = :n"), {"n": name})


def replace_calibration(conn: Connection, *, prompt_version_id: int, model: str, suite: str,
                        label: str, pred_key: str, scale_low: float, scale_high: float,
                        map_json: str, n_train: int) -> None:
    """Store a label's isotonic map for this prompt version, model and suite, in place of
    the one stored before."""
    params = {"pv": prompt_version_id, "m": model, "s": suite, "l": label}
    conn.execute(text("DELETE FROM calibrations WHERE prompt_version_id = :pv AND model = :m "
                      "AND suite = :s AND label = :l"), params)
    conn.execute(text(
        "INSERT INTO calibrations (prompt_version_id, model, suite, label, pred_key, scale_low, "
        "scale_high, map_json, n_train, created_at) VALUES (:pv, :m, :s, :l, :k, :lo, :hi, :j, "
        ":n, CURRENT_TIMESTAMP)"),
        {**params, "k": pred_key, "lo": scale_low, "hi": scale_high, "j": map_json, "n": n_train})


def insert_head(conn: Connection, *, prompt_version_id: int, model: str, kind: str, suites: str,
                data_hash: str, head_hash: str, code_version: str, split_json: str,
                metrics_json: str, head_json: str, created_at: datetime) -> int:
    """Store a fitted head; returns its id."""
    return int(conn.execute(text(
        "INSERT INTO fitted_heads (prompt_version_id, model, kind, suites, data_hash, head_hash, "
        "code_version, split_json, metrics_json, head_json, created_at) VALUES (:pv, :m, :k, :s, "
        ":d, :h, :c, :split, :metrics, :body, :now) RETURNING id"),
        {"pv": prompt_version_id, "m": model, "k": kind, "s": suites, "d": data_hash,
         "h": head_hash, "c": code_version, "split": split_json, "metrics": metrics_json,
         "body": head_json, "now": created_at}).scalar_one())


def latest_head_row(conn: Connection, prompt_version_id: int, model: str) -> Row | None:
    """(id, head_hash, head_json) of the newest head fitted for this prompt version and
    model, or None."""
    return conn.execute(text(
        "SELECT id, head_hash, head_json FROM fitted_heads WHERE prompt_version_id = :pv "
        "AND model = :m ORDER BY id DESC LIMIT 1"), {"pv": prompt_version_id, "m": model}).first()


# -- papers and authors -------------------------------------------------------------------
# Papers' own queries live in papers.py; these are the reads the heads, the methods and the
# feed make, kept here until they move there.
CHUNK = 500  # ids bound per statement


def paper_texts(conn: Connection, paper_ids: Sequence[int]) -> list[Row]:
    """(id, title, abstract) of the papers with these ids."""
    query = sql("SELECT id, title, abstract FROM papers WHERE id IN :ids", "ids")
    rows: list[Row] = []
    for k in range(0, len(paper_ids), CHUNK):
        rows += conn.execute(query, {"ids": list(paper_ids[k:k + CHUNK])}).all()
    return rows


def all_paper_texts(conn: Connection) -> Sequence[Row]:
    """(id, title, abstract, published) of every paper, in id order."""
    return conn.execute(text("SELECT id, title, abstract, published FROM papers ORDER BY id")).all()


def eval_paper_ids(conn: Connection) -> dict[str, int]:
    """External id -> paper id of the eval papers that have an external id."""
    return dict(conn.execute(text("SELECT external_id, id FROM papers WHERE is_eval AND "
                                  "external_id IS NOT NULL")).all())


def suite_paper_ids(conn: Connection) -> dict[tuple[str, str], int]:
    """(suite, external id) -> paper id of every paper of an eval suite."""
    return {(s, ext): pid for pid, ext, s in conn.execute(text(
        "SELECT id, external_id, eval_suite FROM papers WHERE eval_suite IS NOT NULL"))}


def authors_of_papers(conn: Connection, paper_ids: Sequence[int]) -> Sequence[Row]:
    """(id, name, openalex_id, orcid) of the authors of these papers, each once, by id."""
    return conn.execute(sql(
        "SELECT DISTINCT a.id, a.name, a.openalex_id, a.orcid FROM authorships s "
        "JOIN authors a ON a.id = s.author_id WHERE s.paper_id IN :ids ORDER BY a.id", "ids"),
        {"ids": list(paper_ids)}).all()
