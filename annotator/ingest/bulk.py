"""Many rows in one statement: the inserts an ingest batch makes.

Both helpers work on SQLite and PostgreSQL alike. ``insert_plain`` hands an
executemany straight to the driver: the INSERT is compiled once per table and
column list, and only the columns whose type needs converting for the driver
(dates and datetimes on SQLite) go through the dialect's bind processor, so a
row costs a tuple and nothing else. ``insert_many`` also returns the new ids in
order; ``reserve_ids`` hands out ids before the rows are written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection

from annotator.db.queries.papers import reserve_sequence_ids

# (dialect, table, columns) -> (SQL, positions of the columns in it or None for named
# placeholders, converters by position in ``columns``); None: SQLAlchemy fills defaults
_Compiled = tuple[str, list[int] | None, list[tuple[int, Callable]]]
_COMPILED: dict[tuple[str, str, tuple[str, ...]], _Compiled | None] = {}


def _compiled(conn: Connection, table: Table, columns: tuple[str, ...]) -> _Compiled | None:
    slot = (conn.dialect.name, table.name, columns)
    if slot not in _COMPILED:
        compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
        names = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
        convert = [
            (i, proc)
            for i, name in enumerate(columns)
            if (proc := table.c[name].type._cached_bind_processor(conn.dialect))
        ]
        _COMPILED[slot] = (
            None
            if sorted(names) != sorted(columns)
            else (str(compiled), [columns.index(n) for n in names] if compiled.positional else None, convert)
        )
    return _COMPILED[slot]


def insert_plain(conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert ``rows`` (values in ``columns`` order) with one executemany."""
    if not rows:
        return
    found = _compiled(conn, table, columns)
    if found is None:  # a column default to fill: leave it to SQLAlchemy
        conn.execute(insert(table), [dict(zip(columns, r)) for r in rows])
        return
    sql, order, convert = found
    positions = list(range(len(columns))) if order is None else order
    if convert or positions != sorted(positions):  # column by column, at C speed
        by_column = list(zip(*rows))
        for i, proc in convert:  # a batch repeats its dates and its timestamp
            memo: dict[Any, Any] = {None: None}
            by_column[i] = tuple([memo[v] if v in memo else memo.setdefault(v, proc(v)) for v in by_column[i]])
        rows = list(zip(*(by_column[i] for i in positions)))
    if order is None:  # named placeholders (psycopg)
        conn.exec_driver_sql(sql, [dict(zip(columns, r)) for r in rows])
        return
    conn.exec_driver_sql(sql, rows)


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` ids no other writer will use for ``table``. On SQLite the transaction
    holds the write lock, so they are the ones above the current maximum; on
    PostgreSQL they come from the table's sequence (one query)."""
    if count <= 0:
        return []
    if conn.dialect.name == "sqlite":
        start = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        return list(range(start, start + count))
    return reserve_sequence_ids(conn, table.name, count)


def insert_many(conn: Connection, table: Table, rows: list[dict], check: str) -> list[int]:
    """Insert rows (all with the same keys), returning their ids in order. On SQLite
    the transaction holds the write lock, so the new rows are the ones above the old
    maximum id: one executemany and one read instead of a statement per row."""
    if conn.dialect.name != "sqlite":
        query = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(conn.execute(query, rows).scalars())
    before = conn.execute(select(func.max(table.c.id))).scalar() or 0
    columns = tuple(rows[0])
    insert_plain(conn, table, columns, [tuple(r[c] for c in columns) for r in rows])
    got = conn.execute(select(table.c.id, table.c[check]).where(table.c.id > before).order_by(table.c.id)).all()
    if [r[1] for r in got] != [r[check] for r in rows]:
        raise RuntimeError(f"{table.name}: new rows are not the ones inserted")
    return [r[0] for r in got]
