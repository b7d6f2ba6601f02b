"""Persistence: tables (``models``), engines (``engine``) and ordered migrations."""

from sqlalchemy.engine import Engine

from annotator.db.engine import cached_engine, database_url, session_for, writer
from annotator.db.migrations import applied_migrations, migrate

__all__ = ["open_db", "session_for", "database_url", "migrate", "applied_migrations", "writer"]


def open_db(value: str | None = None, *, migrate_now: bool = True) -> Engine:
    """The engine for a database (a path or a URL), migrated to the current schema.

    Engines are cached per URL, so every caller in a process shares one pool.
    """
    engine, new = cached_engine(database_url(value))
    if new and migrate_now:
        migrate(engine)
    return engine
