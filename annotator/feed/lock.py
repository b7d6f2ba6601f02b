"""One fetch of a query, and one feed run, at a time: a lease on a ``fetch_cursors`` row.

Why a row lease rather than a file lock plus an advisory lock: the same code works
on SQLite and PostgreSQL, and on PostgreSQL it also keeps apart runs on different
machines (two scheduled CI jobs sharing one database), which a file lock cannot.
Taking it is one conditional ``UPDATE`` (free, lapsed, or held by a dead process on
this host); a thread renews it every third of ``lease_s``, so a run killed with
``kill -9`` on another host blocks the next one for at most ``lease_s``, and one on
this host not at all. The holder's saves check the lease (``cursors.save_cursor``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine

from annotator.db.clock import epoch_now
from annotator.db.engine import writer
from annotator.errors import AnnotatorError
from annotator.feed.cursors import CURSORS, ensure_row
from annotator.jobs.queue import local_pid, new_owner, process_alive


class FeedLocked(AnnotatorError):
    """Another fetch or feed run holds the lease."""

    exit_code = 6


def _dead_here(holder: str | None) -> bool:
    """True when ``holder`` ("host:pid:tag") is a process of this host that has ended."""
    pid = local_pid(holder)
    return pid is not None and not process_alive(pid)


class Lease:
    """``with Lease(engine, "feed", "default"):`` holds the row's lease, or raises ``FeedLocked``.

    ``wait_s`` > 0 waits that long for the holder to finish before giving up.
    """

    def __init__(self, engine: Engine, source: str, query: str, *, lease_s: float = 600.0,
                 wait_s: float = 0.0, poll_s: float = 1.0):
        self.engine, self.source, self.query = engine, source, query
        self.lease_s, self.wait_s, self.poll_s = lease_s, wait_s, poll_s
        self.holder = new_owner()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _where(self):
        return and_(CURSORS.c.source == self.source, CURSORS.c.query == self.query)

    def try_acquire(self) -> str | None:
        """Take the lease; None when taken, else who holds it."""
        now = epoch_now(self.engine.dialect.name)
        with writer(self.engine).begin() as conn:
            ensure_row(conn, self.source, self.query)
            current = conn.execute(select(CURSORS.c.holder, CURSORS.c.lease_expires)
                                   .where(self._where())).one()
            free = or_(CURSORS.c.holder.is_(None), CURSORS.c.lease_expires <= now)
            if _dead_here(current.holder):
                free = or_(free, CURSORS.c.holder == current.holder)
            taken = conn.execute(update(CURSORS).where(self._where(), free).values(
                holder=self.holder, lease_expires=now + float(self.lease_s),
                updated_at=datetime.now(UTC))).rowcount
        return None if taken else current.holder

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait_s
        while (holder := self.try_acquire()) is not None:
            if time.monotonic() >= deadline:
                raise FeedLocked(f"{self.source} {self.query!r} is held by {holder} "
                                 "(another run is going on; --wait waits for it)")
            time.sleep(self.poll_s)
        self._thread = threading.Thread(target=self._beat, name="feed-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            with writer(self.engine).begin() as conn:
                kept = conn.execute(update(CURSORS).where(
                    self._where(), CURSORS.c.holder == self.holder
                ).values(lease_expires=epoch_now(self.engine.dialect.name)
                         + float(self.lease_s))).rowcount
            if not kept:
                self.lost.set()
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with writer(self.engine).begin() as conn:
            conn.execute(update(CURSORS).where(self._where(), CURSORS.c.holder == self.holder)
                         .values(holder=None, lease_expires=None))

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
