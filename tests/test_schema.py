"""One schema: a database migrated from the oldest release equals a fresh one.

Each test builds two databases on the same server, one fresh from the models
(``migrate`` on a blank database) and one from the first release's frozen
schema brought forward by the migrations, then compares every table's columns
(name, type, nullability), primary key, foreign keys, indexes and unique
constraints as the database itself reports them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _pg import pg_server_url, pg_url  # noqa: F401  (fixtures)
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.engine import Engine

from annotator.db.engine import database_url, make_engine
from annotator.db.migrations import MIGRATIONS, applied_migrations, migrate

OLDEST_SQLITE = Path(__file__).parent / "fixtures" / "schema_m001_sqlite.sql"


def describe(engine: Engine) -> dict:
    """Every table's structure, normalised so that two databases compare with ==."""
    insp = inspect(engine)
    out = {}
    for table in insp.get_table_names():
        if table == "_migrations":
            continue
        out[table] = {
            "columns": {c["name"]: (str(c["type"]).upper(), bool(c["nullable"])) for c in insp.get_columns(table)},
            "primary_key": tuple(insp.get_pk_constraint(table)["constrained_columns"]),
            "foreign_keys": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                for fk in insp.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix["unique"])) for ix in insp.get_indexes(table)
            ),
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
        }
    return out


def freeze_oldest(engine: Engine) -> None:
    """The first release's schema, with its migration record, in ``engine``.

    The release is frozen as SQLite DDL. For PostgreSQL the same tables are
    reflected from a scratch SQLite database and created with generic types, as
    the first release's ``create_all`` did there.
    """
    scratch = create_engine("sqlite://")
    raw = scratch.raw_connection()
    raw.executescript(OLDEST_SQLITE.read_text())
    raw.close()
    old = MetaData()
    old.reflect(scratch)
    for table in old.tables.values():
        for column in table.columns:
            column.type = column.type.as_generic()
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(text("CREATE TABLE _migrations (name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"))
        conn.execute(text("INSERT INTO _migrations VALUES ('m001_initial', 'then')"))


def assert_same_schema(fresh: Engine, migrated: Engine) -> None:
    want, have = describe(fresh), describe(migrated)
    assert sorted(have) == sorted(want)
    for table in want:
        assert have[table] == want[table], table


def _both_ways(fresh: Engine, oldest: Engine) -> None:
    assert migrate(fresh) == [name for name, _ in MIGRATIONS]
    freeze_oldest(oldest)
    assert migrate(oldest) == [name for name, _ in MIGRATIONS if name != "m001_initial"]
    assert applied_migrations(oldest) == applied_migrations(fresh)
    assert_same_schema(fresh, oldest)


def test_sqlite_migrated_schema_equals_fresh(tmp_path):
    _both_ways(
        make_engine(database_url(str(tmp_path / "fresh.db"))), make_engine(database_url(str(tmp_path / "oldest.db")))
    )


@pytest.mark.postgres
def test_postgres_migrated_schema_equals_fresh(pg_url):  # noqa: F811
    base = database_url(pg_url)
    engines = {}
    for schema in ("fresh", "oldest"):
        with make_engine(base).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engines[schema] = create_engine(base, connect_args={"options": f"-csearch_path={schema}"})
    _both_ways(engines["fresh"], engines["oldest"])


def test_the_comparison_sees_a_missing_index(tmp_path):
    """The check itself can fail: drop one index from the migrated side."""
    fresh = make_engine(database_url(str(tmp_path / "fresh.db")))
    oldest = make_engine(database_url(str(tmp_path / "oldest.db")))
    migrate(fresh)
    freeze_oldest(oldest)
    migrate(oldest)
    with oldest.begin() as conn:
        conn.execute(text("DROP INDEX ix_tasks_claim"))
    with pytest.raises(AssertionError, match="tasks"):
        assert_same_schema(fresh, oldest)
