"""The feed lock's heartbeat survives a failed renewal, and says so when the lease is gone.

A renewal that fails (the database briefly unreachable) is tried again until the
lease would lapse; a lease kept through a short outage stays its holder's, and one
that could not be renewed in time is marked lost before another run can take it,
so the run stops at its next step. The outage is the lease's own way to the
database failing (``Lease(connect=...)``, on SQLite and PostgreSQL), or, on
PostgreSQL, the database refusing every connection for a while.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager

import pytest
from _pg import _admin_url, db_url, pg_server_url, pg_url  # noqa: F401
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from annotator.db import open_db
from annotator.db.engine import writer
from annotator.feed.feedrun import FeedSummary, _Steps
from annotator.feed.lock import Lease


class Outage:
    """Transactions of ``engine``, except that from the first one opened after ``arm()``
    every one fails with ``OperationalError`` for ``seconds`` (forever: ``None``)."""

    def __init__(self, engine: Engine, seconds: float | None):
        self.engine, self.seconds = engine, seconds
        self.armed, self.started, self.refused = False, 0.0, 0
        self._lock = threading.Lock()

    def arm(self) -> None:
        self.armed = True

    def __call__(self) -> AbstractContextManager[Connection]:
        with self._lock:
            if self.armed:
                if not self.started:
                    self.started = time.monotonic()
                if self.seconds is None or time.monotonic() - self.started < self.seconds:
                    self.refused += 1
                    raise OperationalError("BEGIN", {}, ConnectionError("database unreachable"))
        return writer(self.engine).begin()


def test_a_renewal_that_fails_for_half_a_second_keeps_the_lease(db_url):
    engine = open_db(db_url)
    outage = Outage(engine, 0.5)
    lease = Lease(engine, "feed", "default", lease_s=3.0, connect=outage)
    lease.acquire()
    try:
        outage.arm()  # the next renewal, a third of the lease later, meets the outage
        deadline = time.monotonic() + 30
        while not outage.started:
            assert time.monotonic() < deadline, "no renewal was attempted"
            time.sleep(0.05)
        time.sleep(0.5 + lease.lease_s + 0.5)  # past the outage, and past a lease's length
        assert outage.refused >= 1
        assert not lease.lost.is_set()
        assert Lease(engine, "feed", "default").try_acquire() == lease.holder
    finally:
        lease.release()
    assert Lease(engine, "feed", "default").try_acquire() is None


def test_a_lease_that_cannot_be_renewed_is_lost_before_another_run_takes_it(db_url):
    engine = open_db(db_url)
    outage = Outage(engine, None)
    lease = Lease(engine, "feed", "default", lease_s=1.5, connect=outage)
    lease.acquire()
    outage.arm()
    other = Lease(engine, "feed", "default")
    deadline = time.monotonic() + 30
    while other.try_acquire() is not None:  # the moment another run can take it...
        assert time.monotonic() < deadline, "the lease never lapsed"
        time.sleep(0.02)
    assert lease.lost.is_set()  # ...the holder already knows it lost it
    assert outage.refused >= 2  # the renewal was tried again before giving up
    steps = _Steps(FeedSummary())
    steps.lease = lease
    assert steps.run("biblio", lambda: 1 / 0) is None  # the run stops at the next step
    assert steps.summary.errors == ["biblio: not started, the run lost its lease"]
    outage.seconds = 0.0  # the database is back: release gives back nothing of another's
    lease.release()
    assert Lease(engine, "feed", "default").try_acquire() == other.holder


@pytest.mark.postgres
def test_the_lease_outlives_postgres_refusing_connections(pg_url, pg_server_url, caplog):  # noqa: F811
    """The database refuses every connection, and those open are ended, for about a
    renewal period: the renewal fails (the pool cannot reconnect), is tried again
    once the database is back, and the lease stays its holder's."""
    import psycopg

    engine = open_db(pg_url)
    name = pg_url.rsplit("/", 1)[1].split("?", 1)[0]
    lease = Lease(engine, "feed", "default", lease_s=3.0)
    with caplog.at_level(logging.WARNING, logger="annotator"):
        lease.acquire()
        try:
            with psycopg.connect(_admin_url(pg_server_url), autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                time.sleep(lease.lease_s / 3 * 1.5)  # a renewal falls in the outage
                admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            time.sleep(lease.lease_s)
            assert not lease.lost.is_set()
            assert Lease(engine, "feed", "default").try_acquire() == lease.holder
        finally:
            lease.release()
    assert any("could not renew" in r.getMessage() for r in caplog.records), caplog.text
