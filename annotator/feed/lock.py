"""One fetch of a query, and one feed run, at a time: a lease on a ``fetch_cursors`` row.

Why a row lease rather than a file lock plus an advisory lock: the same code works
on SQLite and PostgreSQL, and on PostgreSQL it also keeps apart runs on different
machines (two scheduled CI jobs sharing one database), which a file lock cannot.
Taking it is one conditional ``UPDATE`` (free, lapsed, or held by a dead process on
this host); a thread renews it every third of ``lease_s``, so a run killed with
``kill -9`` on another host blocks the next one for at most ``lease_s``, and one on
this host not at all. The holder's saves check the lease (``cursors.save_cursor``).

Expiries are the database's time (``db.clock``), so machines whose clocks disagree
agree on when a lease lapses. A renewal that fails (the database briefly out of
reach) is tried again until the lease would lapse; then ``lost`` is set, a little
before another run could take the row, and the run stops at its next step
(``feedrun``) or page (the fetches), as when another run took the row over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection, Engine

from annotator.db.clock import epoch_now
from annotator.db.engine import writer
from annotator.errors import AnnotatorError
from annotator.feed.cursors import CURSORS, ensure_row
from annotator.jobs.owners import local_pid, new_owner, process_alive

log = logging.getLogger("annotator")


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
    ``connect`` opens a write transaction (default ``writer(engine).begin``): the one
    way the lease reaches the database.
    """

    def __init__(
        self,
        engine: Engine,
        source: str,
        query: str,
        *,
        lease_s: float = 600.0,
        wait_s: float = 0.0,
        poll_s: float = 1.0,
        connect: Callable[[], AbstractContextManager[Connection]] | None = None,
    ):
        self.engine, self.source, self.query = engine, source, query
        self.connect = connect or writer(engine).begin
        self.lease_s, self.wait_s, self.poll_s = lease_s, wait_s, poll_s
        self.retry_s = min(lease_s / 10, 5.0)  # a failed renewal is tried again this often
        self.margin_s = min(lease_s / 10, 10.0)  # lost this long before the lease would lapse
        self._acquired = 0.0  # time.monotonic() when the acquiring statement was sent
        self.holder = new_owner()
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _where(self):
        return and_(CURSORS.c.source == self.source, CURSORS.c.query == self.query)

    def try_acquire(self) -> str | None:
        """Take the lease; None when taken, else who holds it."""
        now = epoch_now(self.engine.dialect.name)
        self._acquired = time.monotonic()
        with self.connect() as conn:
            ensure_row(conn, self.source, self.query)
            current = conn.execute(select(CURSORS.c.holder, CURSORS.c.lease_expires).where(self._where())).one()
            free = or_(CURSORS.c.holder.is_(None), CURSORS.c.lease_expires <= now)
            if _dead_here(current.holder):
                free = or_(free, CURSORS.c.holder == current.holder)
            taken = conn.execute(
                update(CURSORS)
                .where(self._where(), free)
                .values(holder=self.holder, lease_expires=now + float(self.lease_s), updated_at=datetime.now(UTC))
            ).rowcount
        return None if taken else current.holder

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait_s
        while (holder := self.try_acquire()) is not None:
            if time.monotonic() >= deadline:
                raise FeedLocked(
                    f"{self.source} {self.query!r} is held by {holder} (another run is going on; --wait waits for it)"
                )
            time.sleep(self.poll_s)
        self._thread = threading.Thread(target=self._beat, name="feed-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> bool:
        """One renewal; False when the row has another holder (or none) now."""
        with self.connect() as conn:
            return bool(
                conn.execute(
                    update(CURSORS)
                    .where(self._where(), CURSORS.c.holder == self.holder)
                    .values(lease_expires=epoch_now(self.engine.dialect.name) + float(self.lease_s))
                ).rowcount
            )

    def _beat(self) -> None:
        """Renew every third of ``lease_s``. A renewal that fails is tried again every
        ``retry_s`` until the lease would lapse (``lease_s`` after the last renewal that
        worked was sent, less a margin); then, or when another holds the row, ``lost``."""
        renewed = self._acquired
        wait, failing = self.lease_s / 3, False
        while not self._stop.wait(wait):
            lapses = renewed + self.lease_s - self.margin_s
            if time.monotonic() >= lapses:
                log.warning(
                    "the lease on %s %r was not renewed in time; the run stops at its next step",
                    self.source,
                    self.query,
                )
                self.lost.set()
                return
            sent = time.monotonic()
            try:
                kept = self._renew()
            except Exception as exc:  # the database, or the way to it, failed this time
                if not failing:
                    log.warning(
                        "could not renew the lease on %s %r (%s); trying again for %.0f s",
                        self.source,
                        self.query,
                        getattr(exc, "orig", None) or exc,
                        lapses - time.monotonic(),
                    )
                failing = True
                wait = max(0.0, min(self.retry_s, lapses - time.monotonic()))
                continue
            if not kept:
                self.lost.set()
                return
            renewed, wait, failing = sent, self.lease_s / 3, False

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self.connect() as conn:
            conn.execute(
                update(CURSORS)
                .where(self._where(), CURSORS.c.holder == self.holder)
                .values(holder=None, lease_expires=None)
            )

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
