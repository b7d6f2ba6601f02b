"""Opening a database: a SQLAlchemy URL or a plain path, SQLite or PostgreSQL.

SQLite gets WAL mode, a busy timeout and foreign keys on every connection, so
several processes can share one file. ``db.open_db`` adds the
migrations on top (this module knows nothing of them).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from annotator.errors import ConfigError
from annotator.settings import DEFAULT_DB, current

BUSY_TIMEOUT_MS = 30_000

_engines: dict[str, Engine] = {}


def database_url(value: str | None = None) -> str:
    """Turn ``--db``/``ANNOTATOR_DB`` (a URL or a path) into a SQLAlchemy URL."""
    value = value or current().db or DEFAULT_DB
    if "://" in value:
        if value.startswith("postgres://"):
            value = "postgresql://" + value[len("postgres://") :]
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value
    path = Path(value).expanduser()
    if path.parent and not path.parent.exists():
        raise ConfigError(f"database folder does not exist: {path.parent}")
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn) -> None:
    # Writers (see ``writer``) take the write lock at BEGIN, so two writers
    # queue on the busy timeout instead of failing with "database is locked"
    # when a read turns into a write. Readers begin deferred and never block.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_conn, _record):  # let us issue BEGIN ourselves
            dbapi_conn.isolation_level = None

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except ModuleNotFoundError as exc:  # psycopg missing
        raise ConfigError(f"no driver for {url.split('://')[0]}: pip install 'annotator[postgres]' ({exc})") from exc


def cached_engine(url: str) -> tuple[Engine, bool]:
    """The engine for ``url``, made once per process; True when it was made now."""
    engine = _engines.get(url)
    if engine is not None:
        return engine, False
    engine = _engines[url] = make_engine(url)
    return engine, True


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the write lock up front on SQLite."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def session_for(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
