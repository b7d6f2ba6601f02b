"""The clocks the tables use: timezone-aware UTC for records, the database's for leases.

Records (``created_at``, ``updated_at``) take ``utcnow()``: a worker's clock is good
enough for when something happened. Leases are not: workers on several machines
share one database and compare lease expiries (epoch seconds in ``tasks`` and
``fetch_cursors``), and a machine whose clock runs ten minutes ahead would take
others' live tasks while one that runs behind would leave dead ones alone. So
every lease is written and compared in SQL against the database's own clock,
``epoch_now_sql``; no lease code reads ``time.time()``.

- PostgreSQL: ``statement_timestamp()``, the server's time when the statement
  arrived. Not ``now()`` (the transaction's start, older in a long transaction)
  and not ``clock_timestamp()``: that one is volatile, so a comparison with it
  cannot use the ``(state, lease_expires)`` index.
- SQLite has no server: ``julianday('now')`` reads the system clock of the machine
  that runs the statement (millisecond resolution). Processes sharing a SQLite
  file share one machine, hence one clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Float, literal_column
from sqlalchemy.sql.elements import ColumnElement

from annotator.errors import ConfigError

EPOCH_NOW_SQL = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS DOUBLE PRECISION)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",  # 2440587.5: the Unix epoch
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def epoch_now_sql(dialect: str) -> str:
    """SQL for the database's time now, in epoch seconds (a float)."""
    try:
        return EPOCH_NOW_SQL[dialect]
    except KeyError:
        raise ConfigError(
            f"leases need the database's clock; no reading of it is known for "
            f"{dialect} (SQLite and PostgreSQL are supported)"
        ) from None


def epoch_now(dialect: str) -> ColumnElement[float]:
    """``epoch_now_sql`` as a column expression for SQLAlchemy Core statements."""
    return literal_column(epoch_now_sql(dialect), Float)
