"""Copy every table from one database to another (SQLite to PostgreSQL and back).

``copy_database(src, dst)`` opens both with the migrations applied (the source
is brought forward too, and the report names what that applied), then copies
the models' tables in foreign-key order (``SQLModel.metadata.sorted_tables``,
so a new table is never forgotten). Rows keep their primary keys; on
PostgreSQL each table's id sequence is then set past the largest id.

Rows go in key order, in chunks, each chunk in its own transaction, so an
interrupted copy leaves every table holding a prefix of the source's rows. A
re-run reads the destination's rows of each table next to the source's, in key
order: the same rows are skipped and the copy goes on after the last of them;
any other row (changed, missing or extra) stops the copy with an error naming
the table and the row's key, before anything is written to that table. All
primary keys are integers, so key order is the same on both databases.

At the end both sides are counted and hashed the same way (values normalised:
datetimes as ISO UTC, dates ISO, booleans as 0/1, floats by ``repr``); the
source's hash is taken from the rows as they stream past, the destination's by
reading it back.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Table, insert, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

import annotator.db.models  # noqa: F401  (registers the tables)
from annotator.errors import AnnotatorError
from annotator.db import open_db
from annotator.db.engine import database_url, writer
from annotator.db.migrations import migrate

CHUNK_ROWS = 5_000


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


def _ordered(table: Table) -> Any:
    return select(table).order_by(*table.primary_key.columns)


def _stream(engine: Engine, table: Table, chunk: int) -> Generator[Sequence[Any], None, None]:
    """Every row of ``table`` in key order, fetched ``chunk`` at a time."""
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(_ordered(table))
        for part in result.partitions():
            yield from part


def _key(table: Table, row: Sequence[Any]) -> str:
    names = [c.name for c in table.columns]
    return ", ".join(f"{c.name}={row[names.index(c.name)]!r}" for c in table.primary_key.columns)


def _skip_same_prefix(dst: Engine, table: Table, source: Rows,
                      norm: Callable[[Sequence[Any]], tuple], digest: Any, chunk: int) -> int:
    """Match the destination's rows against the source's first rows; their number."""
    n = 0
    for theirs in _stream(dst, table, chunk):
        ours = next(source, None)
        if ours is None:
            raise CopyError(f"{table.name}: the destination holds a row the source does not "
                            f"({_key(table, theirs)}); refusing to copy into it")
        row = norm(ours)
        if row != norm(theirs):
            raise CopyError(f"{table.name}: the destination's row {_key(table, theirs)} differs "
                            f"from the source's row {_key(table, ours)}; refusing to copy into it")
        digest.update(f"{row!r}\n".encode())
        n += 1
    return n


def _reset_sequence(conn: Any, table: Table) -> None:
    """PostgreSQL: the next id of a serial key comes after the largest copied one."""
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or not keys[0].autoincrement:
        return
    name, key = table.name, keys[0].name
    conn.execute(text(
        f"SELECT setval(pg_get_serial_sequence('{name}', '{key}'), COALESCE(MAX({key}), 1), "
        f"MAX({key}) IS NOT NULL) FROM {name} HAVING pg_get_serial_sequence('{name}', '{key}') "
        "IS NOT NULL"))


def checksum(engine: Engine, table: Table, chunk: int = CHUNK_ROWS) -> tuple[int, str]:
    """The rows of ``table`` and a hash over them in key order, normalised."""
    norm, digest, n = _row_normaliser(table), hashlib.sha256(), 0
    rows = _stream(engine, table, chunk)
    while part := list(islice(rows, chunk)):
        _hash(digest, norm, part)
        n += len(part)
    return n, digest.hexdigest()


def copy_table(src: Engine, dst: Engine, table: Table, chunk: int = CHUNK_ROWS) -> TableCopy:
    """Copy one table's rows the destination lacks (see the module's docstring)."""
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
    report.ok = (report.source_rows, report.source_checksum) == (report.dest_rows,
                                                                 report.dest_checksum)
    return report


def _open_source(value: str) -> tuple[Engine, list[str]]:
    url = database_url(value)
    if url.startswith("sqlite") and not Path(make_url(url).database or "").is_file():
        raise CopyError(f"source database not found: {value}")
    engine = open_db(value, migrate_now=False)
    if not inspect(engine).has_table("papers"):
        raise CopyError(f"the source is not an annotator database (no papers table): {value}")
    return engine, migrate(engine)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def copy_database(src: str, dst: str, *, chunk: int = CHUNK_ROWS,
                  progress: Callable[[TableCopy], None] | None = None) -> CopyReport:
    """Copy every table from ``src`` to ``dst`` (paths or URLs); resumable; see the module."""
    if database_url(src) == database_url(dst):
        raise CopyError(f"source and destination are the same database: {_shown(database_url(src))}")
    started = time.perf_counter()
    source, migrated = _open_source(src)
    dest = open_db(dst)
    report = CopyReport(_shown(database_url(src)), _shown(database_url(dst)), migrated)
    for table in SQLModel.metadata.sorted_tables:
        done = copy_table(source, dest, table, chunk)
        report.tables.append(done)
        if progress is not None:
            progress(done)
    report.seconds = time.perf_counter() - started
    report.ok = all(t.ok for t in report.tables)
    return report
