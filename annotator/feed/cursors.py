"""Where each recurring fetch stands: one ``fetch_cursors`` row per (source, query).

A fetch reads its row, works through a window page by page and saves the row
after each stored page, so a crash or Ctrl-C costs at most the page in flight
(stored again next time: ingest is idempotent). Saving checks the lease (see
``lock``): a fetch that lost its lease stops instead of moving the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Integer, Table, cast, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import annotator.db.models  # noqa: F401  (registers the tables)
from annotator.db.engine import writer
from annotator.errors import AnnotatorError

CURSORS: Table = SQLModel.metadata.tables["fetch_cursors"]


class LeaseLost(AnnotatorError):
    """Another process took the lease of a fetch or feed run (it had lapsed)."""

    exit_code = 6


@dataclass
class Cursor:
    source: str
    query: str
    through: str | None = None
    window_from: str | None = None
    window_to: str | None = None
    position: str | None = None
    pages: int = 0
    entries: int = 0
    holder: str | None = None  # read only: leases are taken and given back by ``lock``

    @property
    def in_window(self) -> bool:
        """A window was started and not finished: the next fetch resumes it."""
        return self.window_from is not None


def ensure_row(conn: Connection, source: str, query: str) -> None:
    """Create the row for (source, query) unless it exists (safe when two processes race)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(CURSORS)
        .values(source=source, query=query, pages=0, entries=0, updated_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["source", "query"])
    )


def read_cursor(engine: Engine, source: str, query: str) -> Cursor:
    with engine.connect() as conn:
        row = (
            conn.execute(select(CURSORS).where(CURSORS.c.source == source, CURSORS.c.query == query)).mappings().first()
        )
    if row is None:
        return Cursor(source, query)
    return Cursor(**{k: row[k] for k in Cursor.__dataclass_fields__})


def save_cursor(engine: Engine, cursor: Cursor, holder: str) -> None:
    """Store ``cursor`` if ``holder`` still holds the row's lease."""
    values = {k: getattr(cursor, k) for k in Cursor.__dataclass_fields__ if k not in ("source", "query", "holder")}
    with writer(engine).begin() as conn:
        done = conn.execute(
            update(CURSORS)
            .where(CURSORS.c.source == cursor.source, CURSORS.c.query == cursor.query, CURSORS.c.holder == holder)
            .values(**values, updated_at=datetime.now(UTC))
        ).rowcount
    if not done:
        raise LeaseLost(
            f"the lease on {cursor.source} {cursor.query!r} passed to another "
            "process; this fetch stops without moving the cursor"
        )


def all_cursors(engine: Engine) -> list[Cursor]:
    with engine.connect() as conn:
        rows = conn.execute(select(CURSORS).order_by(CURSORS.c.source, CURSORS.c.query)).mappings().all()
    return [Cursor(**{k: r[k] for k in Cursor.__dataclass_fields__}) for r in rows]


def stamp_many(engine: Engine, source: str, stamps: dict[str, str]) -> None:
    """Set ``through`` of many rows of ``source`` (created when missing), leases aside."""
    if not stamps:
        return
    with writer(engine).begin() as conn:
        for query, through in stamps.items():
            ensure_row(conn, source, query)
            conn.execute(
                update(CURSORS)
                .where(CURSORS.c.source == source, CURSORS.c.query == query)
                .values(through=through, updated_at=datetime.now(UTC))
            )


def stamps_of(engine: Engine, source: str) -> dict[str, str]:
    """``query -> through`` for every row of ``source``."""
    with engine.connect() as conn:
        return {
            q: t
            for q, t in conn.execute(select(CURSORS.c.query, CURSORS.c.through).where(CURSORS.c.source == source))
            if t
        }


def versions_of(engine: Engine, source: str, keys: list[str]) -> dict[str, int]:
    """The version stored for each of ``keys`` (rows of ``source``: key -> ``position``)."""
    if not keys:
        return {}
    query = select(CURSORS.c.query, CURSORS.c.position).where(
        CURSORS.c.source == source, CURSORS.c.query.in_(sorted(set(keys)))
    )
    with engine.connect() as conn:
        return {k: int(v) for k, v in conn.execute(query) if v and v.isdigit()}


def raise_versions(engine: Engine, source: str, versions: dict[str, tuple[int, str]]) -> None:
    """Record ``key -> (version, updated)``; a row only ever moves to a higher version."""
    if not versions:
        return
    now = datetime.now(UTC)
    with writer(engine).begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(CURSORS)
        stmt = stmt.on_conflict_do_update(
            index_elements=["source", "query"],
            set_={"position": stmt.excluded.position, "through": stmt.excluded.through, "updated_at": now},
            where=cast(CURSORS.c.position, Integer) < cast(stmt.excluded.position, Integer),
        )
        conn.execute(
            stmt,
            [
                dict(source=source, query=k, position=str(v), through=t, pages=0, entries=0, updated_at=now)
                for k, (v, t) in versions.items()
            ],
        )
