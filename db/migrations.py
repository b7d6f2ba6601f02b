"""Named, ordered migrations, recorded in the ``_migrations`` table.

Each migration is a function ``mNNN_description(conn)`` registered with
``@migration``; they run in name order, each in its own transaction together
with its record, so a failure leaves the database at the previous step.

Rule for new migrations: ``m001_initial`` builds tables from the current
models, so later steps must be idempotent (use ``add_column`` and
``create_tables``, which skip what already exists).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables)
from db.engine import writer

MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = []


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    MIGRATIONS.append((fn.__name__, fn))
    MIGRATIONS.sort(key=lambda item: item[0])
    return fn


def create_tables(conn: Connection, *names: str) -> None:
    tables = [SQLModel.metadata.tables[n] for n in names]
    SQLModel.metadata.create_all(conn, tables=tables, checkfirst=True)


def add_column(conn: Connection, table: str, column: str, ddl_type: str) -> None:
    """``ALTER TABLE ... ADD COLUMN`` unless the column is already there."""
    existing = {c["name"] for c in inspect(conn).get_columns(table)}
    if column not in existing:
        conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{column}" {ddl_type}'))


@migration
def m001_initial(conn: Connection) -> None:
    create_tables(
        conn,
        "papers", "authors", "authorships", "affiliations", "paper_affiliations",
        "author_metrics", "paper_metrics", "prompt_versions", "tasks",
        "llm_calls", "judgments",
    )


# Indexes for author profiles and leaderboards (annotator.biblio): covering indexes
# for "judgments of one prompt version and model" and for a paper's authors (so a
# leaderboard is one pass over the judgments), latest-snapshot look-ups for
# metrics, and papers by affiliation.
PROFILE_INDEXES = {
    "ix_judgments_pv_model_paper": "judgments (prompt_version_id, model, paper_id, ai_score, novelty)",
    "ix_authorships_paper_author": "authorships (paper_id, author_id, position)",
    "ix_author_metrics_latest": "author_metrics (author_id, as_of, id)",
    "ix_paper_metrics_latest": "paper_metrics (paper_id, as_of, id, citations)",
    "ix_paper_affiliations_affiliation": "paper_affiliations (affiliation_id, paper_id)",
}


@migration
def m002_profile_indexes(conn: Connection) -> None:
    for name, target in PROFILE_INDEXES.items():
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {target}"))


@migration
def m003_author_papers(conn: Connection) -> None:
    create_tables(conn, "author_papers")


@migration
def m004_batches(conn: Connection) -> None:
    """Batch API submissions (``annotator batch``) and which calls went through one."""
    create_tables(conn, "batches", "batch_items")
    add_column(conn, "llm_calls", "batch_id", "VARCHAR")
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_llm_calls_batch_id ON llm_calls (batch_id)"))


@migration
def m005_claim_index(conn: Connection) -> None:
    """Claiming tasks reads pending ones of one prompt version and model in id order."""
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_tasks_claim "
                      "ON tasks (prompt_version_id, model, state, id)"))


def _ensure_table(conn: Connection) -> None:
    conn.execute(text(
        "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
    ))


def applied_migrations(engine: Engine) -> list[str]:
    with writer(engine).begin() as conn:
        _ensure_table(conn)
        return [r[0] for r in conn.execute(text("SELECT name FROM _migrations ORDER BY name"))]


def migrate(engine: Engine) -> list[str]:
    """Apply pending migrations; returns the names applied now."""
    done = set(applied_migrations(engine))
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        # one migrator at a time across processes: SQLite's write lock is
        # taken at BEGIN (``writer``); PostgreSQL takes an advisory lock
        with writer(engine).begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(7261)"))
            already = conn.execute(
                text("SELECT 1 FROM _migrations WHERE name = :n"), {"n": name}
            ).first()
            if already:
                continue
            fn(conn)
            conn.execute(
                text("INSERT INTO _migrations (name, applied_at) VALUES (:n, :t)"),
                {"n": name, "t": datetime.now(timezone.utc).isoformat()},
            )
        applied.append(name)
    return applied


@migration
def m006_calibrations(conn: Connection) -> None:
    create_tables(conn, "calibrations")
