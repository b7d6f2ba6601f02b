"""Leases follow the database's clock, never a worker's.

Workers on several machines share one database; their clocks differ. A worker
whose clock runs ten minutes ahead must not take another's live task, and one
whose clock runs ten minutes behind must take a dead worker's task once its
lease has lapsed by the database's time (and its own leases must look live to
everyone else). Each test runs on a SQLite file and on PostgreSQL.

A skewed worker is the whole process with its wall clock moved: ``time.time``
shifted in this process (the queue and lock calls made here), or a worker
subprocess started through ``_skewed_clock.py``. The database's clock is untouched.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from _pg import cli_env, db_url, fetch, ingest, pg_server_url, pg_url, run_cli, write_papers  # noqa: F401
from sqlalchemy import text

from annotator.db import open_db
from annotator.db.engine import writer
from annotator.feed.lock import Lease
from annotator.jobs import queue
from annotator.testing.fakeserver import FakeServerProcess

SKEW_S = 600.0  # ten minutes
LAUNCHER = Path(__file__).with_name("_skewed_clock.py")


@pytest.fixture
def clock(monkeypatch):
    """``clock(seconds)``: from now on this process's wall clock is off by ``seconds``."""
    real = time.time

    def shift(seconds: float) -> None:
        monkeypatch.setattr(time, "time", lambda: real() + seconds)

    return shift


def _queue(db: str, n: int, tmp_path) -> int:
    """``n`` papers queued for one prompt version and the model "m"; the version's id."""
    ingest(db, write_papers(tmp_path / "papers.jsonl", n))
    with writer(open_db(db)).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO prompt_versions (name, version, content_hash, text, params_json, active, "
                "created_at) VALUES ('t', '1', 'h', 'x', '{}', :f, CURRENT_TIMESTAMP)"
            ),
            {"f": False},
        )
        pv = conn.execute(text("SELECT id FROM prompt_versions WHERE name = 't'")).scalar_one()
        assert queue.enqueue(conn, pv, "m") == n
    return pv


def _claim(engine, owner: str, n: int, lease_s: float, pv: int) -> set[int]:
    return {t.id for t in queue.claim(engine, owner, n, lease_s, prompt_version_id=pv, model="m")}


def _owners(db: str) -> dict[int, str | None]:
    return dict(fetch(db, "SELECT id, lease_owner FROM tasks"))


def test_a_clock_ahead_takes_no_live_task(db_url, tmp_path, clock):
    pv = _queue(db_url, 6, tmp_path)
    engine = open_db(db_url)
    live = _claim(engine, "elsewhere:1:live", 3, 300.0, pv)  # a live worker, clock right
    clock(SKEW_S)
    assert queue.runnable(engine, pv, "m") == 3  # only the pending ones
    ahead = _claim(engine, "ahead:2:a", 10, 120.0, pv)
    assert len(ahead) == 3 and not ahead & live
    assert queue.runnable(engine, pv, "m") == 0
    owners = _owners(db_url)
    assert all(owners[i] == "elsewhere:1:live" for i in live)


def test_a_clock_behind_takes_a_lapsed_task_and_its_own_leases_stay_live(db_url, tmp_path, clock):
    pv = _queue(db_url, 6, tmp_path)
    engine = open_db(db_url)
    dead = _claim(engine, "elsewhere:1:dead", 3, 0.3, pv)  # a worker that died
    time.sleep(0.5)  # its lease has lapsed, by any clock that runs right
    clock(-SKEW_S)
    assert queue.runnable(engine, pv, "m") == 6
    behind = _claim(engine, "behind:2:b", 10, 120.0, pv)
    assert behind >= dead and len(behind) == 6
    queue.renew(engine, "behind:2:b", sorted(behind), 120.0)
    with writer(engine).begin() as conn:
        assert queue.hand_over(conn, sorted(dead), "behind:2:b", "behind:2:c", 120.0) == 3
    clock(0.0)  # a worker whose clock runs right sees all of them leased
    assert queue.runnable(engine, pv, "m") == 0
    assert _claim(engine, "right:3:r", 10, 120.0, pv) == set()
    owners = _owners(db_url)
    assert Counter(owners.values()) == Counter({"behind:2:b": 3, "behind:2:c": 3})


def test_the_feed_lock_follows_the_database_clock(db_url, clock):
    engine = open_db(db_url)
    live = Lease(engine, "feed", "live", lease_s=300.0)
    assert live.try_acquire() is None
    dead = Lease(engine, "feed", "dead", lease_s=0.3)
    assert dead.try_acquire() is None
    time.sleep(0.5)
    clock(SKEW_S)  # ahead: the live lease stays its holder's
    assert Lease(engine, "feed", "live").try_acquire() == live.holder
    clock(-SKEW_S)  # behind: the lapsed lease is taken, and held for its full length
    behind = Lease(engine, "feed", "dead", lease_s=300.0)
    assert behind.try_acquire() is None
    clock(0.0)
    assert Lease(engine, "feed", "dead").try_acquire() == behind.holder


def _worker(skew: float, env: dict) -> subprocess.Popen:
    args = ["worker", "--poll", "0.1", "--concurrency", "4", "--no-cache", "--exit-when-idle"]
    return subprocess.Popen(
        [sys.executable, str(LAUNCHER), str(skew), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_workers_ten_minutes_apart_judge_each_paper_once(db_url, tmp_path):
    """Worker processes with clocks 10 minutes ahead and 10 minutes behind, on one queue
    with a live worker's tasks and a dead worker's: the live tasks stay with their
    holder, the dead worker's are judged, every other paper once, by one call each."""
    n = 40
    ingest(db_url, write_papers(tmp_path / "papers.jsonl", n))
    with FakeServerProcess(latency_s=0.2) as fs:
        env = cli_env(db=db_url, base_url=fs.base_url, api_key="sk-test-skew")
        assert run_cli(["annotate", "--limit", "0"], env).returncode == 0
        engine = open_db(db_url)
        ((pv, model),) = fetch(db_url, "SELECT DISTINCT prompt_version_id, model FROM tasks")
        live = {t.id for t in queue.claim(engine, "elsewhere:1:live", 4, 600.0, prompt_version_id=pv, model=model)}
        dead = {t.id for t in queue.claim(engine, "elsewhere:2:dead", 4, 0.5, prompt_version_id=pv, model=model)}
        time.sleep(0.7)  # the dead worker's lease lapses (by the database's clock too)
        procs = [_worker(SKEW_S, env), _worker(-SKEW_S, env)]
        outs = [p.communicate(timeout=180) for p in procs]
        chats = len(fs.chat_requests())
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "Traceback" not in err, err
        assert set(re.findall(r"lost (\d+)", err)) <= {"0"}, err  # no result thrown away
    rows = {i: (state, owner) for i, state, owner in fetch(db_url, "SELECT id, state, lease_owner FROM tasks")}
    assert all(rows[i] == ("running", "elsewhere:1:live") for i in live), rows
    assert all(rows[i] == ("done", None) for i in rows if i not in live), rows
    judged = Counter(t for (t,) in fetch(db_url, "SELECT task_id FROM judgments"))
    assert set(judged) == set(rows) - live and set(judged.values()) == {1}
    assert dead <= set(judged)
    assert chats == n - len(live)  # one call per paper judged: nothing judged twice
    assert fetch(db_url, "SELECT COUNT(*) FROM llm_calls")[0][0] == n - len(live)
