"""Migrations on a blank database (the oldest schema: tests/test_schema.py)."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from annotator.db.engine import database_url, make_engine
from annotator.db.migrations import MIGRATIONS, applied_migrations, migrate


def _tables(engine):
    return set(inspect(engine).get_table_names())


def test_blank_database_gets_every_migration_in_order(tmp_path):
    engine = make_engine(database_url(str(tmp_path / "blank.db")))
    applied = migrate(engine)
    assert applied == [name for name, _ in MIGRATIONS]
    assert applied == sorted(applied)
    assert set(SQLModel.metadata.tables) <= _tables(engine)
    assert migrate(engine) == []  # a second open applies nothing


def test_sqlite_runs_in_wal_mode(engine):
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000
