"""Many rows in one statement: the inserts an ingest batch makes.

Both helpers work on SQLite and PostgreSQL alike. ``insert_plain`` hands an
executemany straight to the driver (the rows hold only integers, strings and
NULLs, so SQLAlchemy's per-row parameter processing has nothing to do);
``insert_many`` also returns the new ids in order.
"""

from __future__ import annotations

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection


def insert_plain(conn: Connection, table: Table, columns: tuple[str, ...],
                 rows: list[tuple]) -> None:
    """Insert ``rows`` (values in ``columns`` order) with one executemany."""
    if not rows:
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    names = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
    if sorted(names) != sorted(columns):  # a column default to fill: leave it to SQLAlchemy
        conn.execute(insert(table), [dict(zip(columns, r)) for r in rows])
    elif compiled.positional:
        order = [columns.index(n) for n in names]
        conn.exec_driver_sql(str(compiled), [tuple(r[i] for i in order) for r in rows])
    else:
        conn.exec_driver_sql(str(compiled), [dict(zip(columns, r)) for r in rows])


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
    got = conn.execute(select(table.c.id, table.c[check]).where(table.c.id > before)
                       .order_by(table.c.id)).all()
    if [r[1] for r in got] != [r[check] for r in rows]:
        raise RuntimeError(f"{table.name}: new rows are not the ones inserted")
    return [r[0] for r in got]
