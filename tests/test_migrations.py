"""Migrations: a blank database and the oldest schema both reach the current one."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from pathlib import Path

from db.engine import make_engine, database_url
from db.migrations import MIGRATIONS, applied_migrations, migrate


def _tables(engine):
    return set(inspect(engine).get_table_names())


def test_blank_database_gets_every_migration_in_order(tmp_path):
    engine = make_engine(database_url(str(tmp_path / "blank.db")))
    applied = migrate(engine)
    assert applied == [name for name, _ in MIGRATIONS]
    assert applied == sorted(applied)
    assert set(SQLModel.metadata.tables) <= _tables(engine)
    assert migrate(engine) == []  # a second open applies nothing


def test_oldest_schema_is_brought_forward(tmp_path):
    engine = make_engine(database_url(str(tmp_path / "old.db")))
    # the schema as the first release wrote it, frozen as SQL
    frozen = (Path(__file__).parent / "fixtures" / "schema_m001_sqlite.sql").read_text()
    raw = engine.raw_connection()
    raw.executescript(frozen)
    raw.execute("CREATE TABLE _migrations (name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40))")
    raw.execute("INSERT INTO _migrations VALUES ('m001_initial', 'then')")
    raw.close()
    applied = migrate(engine)
    assert applied == [name for name, _ in MIGRATIONS if name != "m001_initial"]
    assert applied_migrations(engine) == [name for name, _ in MIGRATIONS]
    for table in SQLModel.metadata.tables.values():
        have = {c["name"] for c in inspect(engine).get_columns(table.name)}
        assert {c.name for c in table.columns} <= have, table.name


def test_sqlite_runs_in_wal_mode(engine):
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000
