"""Copy every table from one database to another (SQLite to PostgreSQL and back).

``copy_database(src, dst)`` opens both with the migrations applied (the source
is brought forward too, and the report names what that applied), then copies
the models' tables in foreign-key order (``SQLModel.metadata.sorted_tables``,
so a new table is never forgotten). Rows keep their primary keys; on
PostgreSQL each table's id sequence is then set past the largest id.

The source is read in one snapshot, so a copy of a database that workers are
writing to is that database as it was at one moment (a task copied as pending
never arrives with the judgment a worker wrote later): one read transaction on
SQLite (WAL mode, so writers go on; the WAL cannot be checkpointed past the
snapshot until the copy ends), ``REPEATABLE READ, READ ONLY`` on PostgreSQL
(what pg_dump does; it holds back vacuum on the source while it lasts). The
``progress`` callback runs between tables, inside that snapshot. Writes to the
destination are separate transactions.

Rows go in key order, in chunks, each chunk in its own transaction, so an
interrupted copy leaves every table holding a prefix of the source's rows. A
re-run reads the destination's rows of each table next to the source's, in key
order: the same rows are skipped and the copy goes on after the last of them;
any other row (changed, missing or extra) stops the copy with an error naming
the table and the row's key, before anything is written to that table.

Key order must be the same on both sides. Integers sort alike everywhere, but
text keys (``embedding_cache``, ``agg_author_scores``, ``agg_affiliation_scores``,
``agg_marks``) sort by the database's collation on PostgreSQL: en_US.UTF-8 in
the official image folds case and skips punctuation, where SQLite compares
bytes. So every text key column is ordered in byte order explicitly: ``COLLATE
"C"`` on PostgreSQL, ``COLLATE BINARY`` on SQLite (its default, stated so a
column declared otherwise cannot change it). Both compare UTF-8 bytes, which is
code point order. On PostgreSQL that order cannot come from a primary key index
built with another collation, so those tables are sorted by the server.

At the end both sides are counted and hashed the same way (values normalised:
datetimes as ISO UTC, dates ISO, booleans as 0/1, floats by ``repr``); the
source's hash is taken from the rows as they stream past, the destination's by
reading it back.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, String, Table, TypeDecorator, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import SQLModel

import annotator.db.models  # noqa: F401  (registers the tables)
from annotator.db import open_db
from annotator.db.engine import database_url, writer
from annotator.db.migrations import migrate
from annotator.errors import AnnotatorError
from annotator.redact import redact_url

CHUNK_ROWS = 5_000
BYTE_ORDER = {"postgresql": "C", "sqlite": "BINARY"}  # the collation comparing UTF-8 bytes


class CopyError(AnnotatorError):
    """The copy was refused (a destination holding other data) or did not match at the end."""

    exit_code = 8


@dataclass
class TableCopy:
    table: str
    source_rows: int = 0
    dest_rows: int = 0
    already: int = 0  # rows the destination held before (an earlier, interrupted copy)
    copied: int = 0
    source_checksum: str = ""
    dest_checksum: str = ""
    ok: bool = False


@dataclass
class CopyReport:
    source: str
    dest: str
    source_migrated: list[str] = field(default_factory=list)
    tables: list[TableCopy] = field(default_factory=list)
    seconds: float = 0.0
    ok: bool = False

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)


Normaliser = Callable[[Any], Any]
Rows = Iterator[Sequence[Any]]


def _utc_iso(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def _normaliser(column_type: Any) -> Normaliser | None:
    if isinstance(column_type, DateTime):
        return _utc_iso
    if isinstance(column_type, Date):
        return date.isoformat
    if isinstance(column_type, Boolean):
        return int
    if isinstance(column_type, Float):
        return lambda v: repr(float(v))
    return None  # strings, integers: as they are


def _row_normaliser(table: Table) -> Callable[[Sequence[Any]], tuple]:
    special = [(i, fn) for i, c in enumerate(table.columns) if (fn := _normaliser(c.type))]

    def norm(row: Sequence[Any]) -> tuple:
        values = list(row)
        for i, fn in special:
            if values[i] is not None:
                values[i] = fn(values[i])
        return tuple(values)

    return norm


def _hash(digest: Any, norm: Callable[[Sequence[Any]], tuple], rows: Sequence[Sequence[Any]]) -> None:
    """One line per row, so the hash does not depend on how the rows were chunked."""
    digest.update("".join(f"{norm(row)!r}\n" for row in rows).encode())


def _ordered(table: Table, dialect: str) -> Any:
    """``table`` in key order, text keys in byte order (the same on every database)."""
    collation = BYTE_ORDER.get(dialect)
    keys = [c.collate(collation) if collation and _is_text(c) else c for c in table.primary_key.columns]
    return select(table).order_by(*keys)


def _is_text(column: Any) -> bool:
    """A string column, sqlmodel's ``AutoString`` (a decorator around ``String``) included."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    return isinstance(kind, String)


def _stream(conn: Connection, table: Table, chunk: int) -> Generator[Sequence[Any], None, None]:
    """Every row of ``table`` in key order, fetched ``chunk`` at a time."""
    result = conn.execution_options(yield_per=chunk).execute(_ordered(table, conn.dialect.name))
    with closing(result):
        for part in result.partitions():
            yield from part


def _stream_new(engine: Engine, table: Table, chunk: int) -> Generator[Sequence[Any], None, None]:
    """``_stream`` on a connection of its own."""
    with engine.connect() as conn:
        yield from _stream(conn, table, chunk)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection reading ``engine``'s database as it is now, until the block ends."""
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.connect() as conn:
        conn = conn.execution_options(**options) if options else conn
        with conn.begin() as transaction:
            # the snapshot starts at the first read (BEGIN alone takes none)
            conn.execute(text("SELECT COUNT(*) FROM sqlite_master" if engine.dialect.name == "sqlite" else "SELECT 1"))
            yield conn
            transaction.rollback()  # it only read


def _key(table: Table, row: Sequence[Any]) -> str:
    names = [c.name for c in table.columns]
    return ", ".join(f"{c.name}={row[names.index(c.name)]!r}" for c in table.primary_key.columns)


def _skip_same_prefix(
    dst: Engine, table: Table, source: Rows, norm: Callable[[Sequence[Any]], tuple], digest: Any, chunk: int
) -> int:
    """Match the destination's rows against the source's first rows; their number."""
    n = 0
    for theirs in _stream_new(dst, table, chunk):
        ours = next(source, None)
        if ours is None:
            raise CopyError(
                f"{table.name}: the destination holds a row the source does not "
                f"({_key(table, theirs)}); refusing to copy into it"
            )
        row = norm(ours)
        if row != norm(theirs):
            raise CopyError(
                f"{table.name}: the destination's row {_key(table, theirs)} differs "
                f"from the source's row {_key(table, ours)}; refusing to copy into it"
            )
        digest.update(f"{row!r}\n".encode())
        n += 1
    return n


def _reset_sequence(conn: Any, table: Table) -> None:
    """PostgreSQL: the next id of a serial key comes after the largest copied one."""
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or not keys[0].autoincrement:
        return
    name, key = table.name, keys[0].name
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{name}', '{key}'), COALESCE(MAX({key}), 1), "
            f"MAX({key}) IS NOT NULL) FROM {name} HAVING pg_get_serial_sequence('{name}', '{key}') "
            "IS NOT NULL"
        )
    )


def checksum(engine: Engine, table: Table, chunk: int = CHUNK_ROWS) -> tuple[int, str]:
    """The rows of ``table`` and a hash over them in key order, normalised."""
    norm, digest, n = _row_normaliser(table), hashlib.sha256(), 0
    rows = _stream_new(engine, table, chunk)
    while part := list(islice(rows, chunk)):
        _hash(digest, norm, part)
        n += len(part)
    return n, digest.hexdigest()


def copy_table(src: Engine | Connection, dst: Engine, table: Table, chunk: int = CHUNK_ROWS) -> TableCopy:
    """Copy one table's rows the destination lacks (see the module's docstring).

    ``src`` is a connection in the source's snapshot, or an engine (a snapshot of this
    table alone is then taken)."""
    if isinstance(src, Engine):
        with snapshot(src) as conn:
            return copy_table(conn, dst, table, chunk)
    norm, digest = _row_normaliser(table), hashlib.sha256()
    names = [c.name for c in table.columns]
    report = TableCopy(table.name)
    statement = insert(table)
    with closing(_stream(src, table, chunk)) as source:
        report.already = _skip_same_prefix(dst, table, source, norm, digest, chunk)
        while rows := list(islice(source, chunk)):
            _hash(digest, norm, rows)
            with writer(dst).begin() as conn:
                conn.execute(statement, [dict(zip(names, row)) for row in rows])
            report.copied += len(rows)
    if dst.dialect.name == "postgresql":
        with dst.begin() as conn:
            _reset_sequence(conn, table)
    report.source_rows = report.already + report.copied
    report.source_checksum = digest.hexdigest()
    report.dest_rows, report.dest_checksum = checksum(dst, table, chunk)
    report.ok = (report.source_rows, report.source_checksum) == (report.dest_rows, report.dest_checksum)
    return report


def _open_source(value: str) -> tuple[Engine, list[str]]:
    url = database_url(value)
    if url.startswith("sqlite") and not Path(make_url(url).database or "").is_file():
        raise CopyError(f"source database not found: {value}")
    engine = open_db(value, migrate_now=False)
    if not inspect(engine).has_table("papers"):
        raise CopyError(f"the source is not an annotator database (no papers table): {_shown(value)}")
    return engine, migrate(engine)


def _shown(url: str) -> str:
    return redact_url(url)


def copy_database(
    src: str, dst: str, *, chunk: int = CHUNK_ROWS, progress: Callable[[TableCopy], None] | None = None
) -> CopyReport:
    """Copy every table from ``src`` to ``dst`` (paths or URLs); resumable; see the module."""
    if database_url(src) == database_url(dst):
        raise CopyError(f"source and destination are the same database: {_shown(database_url(src))}")
    started = time.perf_counter()
    source, migrated = _open_source(src)
    dest = open_db(dst)
    report = CopyReport(_shown(database_url(src)), _shown(database_url(dst)), migrated)
    with snapshot(source) as reading:
        for table in SQLModel.metadata.sorted_tables:
            done = copy_table(reading, dest, table, chunk)
            report.tables.append(done)
            if progress is not None:
                progress(done)
    report.seconds = time.perf_counter() - started
    report.ok = all(t.ok for t in report.tables)
    return report
