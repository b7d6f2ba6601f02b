"""Named queries on derived tables: the aggregates' marks, calibrations and fitted heads.

(The embedding cache, ``annotator/heads/vector_store.py``, and the feed's cursors and run
lease are written with SQLAlchemy Core statements, not text.) At the end, in a section of
its own, the queries on papers and authors that the heads, the methods and the feed make.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row


def raise_mark(conn: Connection, name: str) -> None:
    """Add one to the aggregates' mark ``name`` (the aggregates read it to know they are stale)."""
    conn.execute(text("UPDATE agg_marks SET value = value + 1 WHERE name = :n"), {"n": name})


def replace_calibration(
    conn: Connection,
    *,
    prompt_version_id: int,
    model: str,
    suite: str,
    label: str,
    pred_key: str,
    scale_low: float,
    scale_high: float,
    map_json: str,
    n_train: int,
) -> None:
    """Store a label's isotonic map for this prompt version, model and suite, in place of
    the one stored before."""
    params = {"pv": prompt_version_id, "m": model, "s": suite, "l": label}
    conn.execute(
        text("DELETE FROM calibrations WHERE prompt_version_id = :pv AND model = :m AND suite = :s AND label = :l"),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO calibrations (prompt_version_id, model, suite, label, pred_key, scale_low, "
            "scale_high, map_json, n_train, created_at) VALUES (:pv, :m, :s, :l, :k, :lo, :hi, :j, "
            ":n, CURRENT_TIMESTAMP)"
        ),
        {**params, "k": pred_key, "lo": scale_low, "hi": scale_high, "j": map_json, "n": n_train},
    )


def insert_head(
    conn: Connection,
    *,
    prompt_version_id: int,
    model: str,
    kind: str,
    suites: str,
    data_hash: str,
    head_hash: str,
    code_version: str,
    split_json: str,
    metrics_json: str,
    head_json: str,
    created_at: datetime,
) -> int:
    """Store a fitted head; returns its id."""
    return int(
        conn.execute(
            text(
                "INSERT INTO fitted_heads (prompt_version_id, model, kind, suites, data_hash, head_hash, "
                "code_version, split_json, metrics_json, head_json, created_at) VALUES (:pv, :m, :k, :s, "
                ":d, :h, :c, :split, :metrics, :body, :now) RETURNING id"
            ),
            {
                "pv": prompt_version_id,
                "m": model,
                "k": kind,
                "s": suites,
                "d": data_hash,
                "h": head_hash,
                "c": code_version,
                "split": split_json,
                "metrics": metrics_json,
                "body": head_json,
                "now": created_at,
            },
        ).scalar_one()
    )


def latest_head_row(conn: Connection, prompt_version_id: int, model: str) -> Row | None:
    """(id, head_hash, head_json) of the newest head fitted for this prompt version and
    model, or None."""
    return conn.execute(
        text(
            "SELECT id, head_hash, head_json FROM fitted_heads WHERE prompt_version_id = :pv "
            "AND model = :m ORDER BY id DESC LIMIT 1"
        ),
        {"pv": prompt_version_id, "m": model},
    ).first()
