"""The durable queue: enqueue once, leases, release, reclaiming dead owners."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

from _pg import db_url, pg_server_url, pg_url  # noqa: F401
from sqlalchemy import text

from annotator.db import open_db
from annotator.db.engine import session_for, writer
from annotator.db.models import Paper
from annotator.jobs import queue
from annotator.prompts.files import load_prompt
from annotator.prompts.registry import register_prompt


def _papers(engine, n):
    with session_for(engine) as s:
        for i in range(n):
            s.add(Paper(key=f"k{i}", title=f"T{i}", norm_title=f"t{i}", abstract=f"A{i}"))
        s.add(Paper(key="eval", title="E", norm_title="e", abstract="E", is_eval=True, eval_suite="s"))
        s.commit()
    return register_prompt(engine, load_prompt("score@1")).id


def _enqueue(engine, pv, model="m", **kw):
    with writer(engine).begin() as conn:
        return queue.enqueue(conn, pv, model, **kw)


def _states(engine):
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT state, COUNT(*) FROM tasks GROUP BY state")).all())


def test_enqueue_is_idempotent_and_keeps_eval_papers_apart(engine):
    pv = _papers(engine, 5)
    assert _enqueue(engine, pv) == 5
    assert _enqueue(engine, pv) == 0
    assert _enqueue(engine, pv, model="other") == 5
    assert _enqueue(engine, pv, eval_suite="s") == 1


def test_claims_do_not_overlap_and_leases_lapse(engine):
    pv = _papers(engine, 6)
    _enqueue(engine, pv)
    a = queue.claim(engine, "host:1:a", 4, 60, prompt_version_id=pv, model="m")
    b = queue.claim(engine, "host:1:b", 4, 60, prompt_version_id=pv, model="m")
    assert len(a) == 4 and len(b) == 2
    assert not {t.id for t in a} & {t.id for t in b}
    assert queue.claim(engine, "c", 4, 60, prompt_version_id=pv, model="m") == []
    # a lapsed lease is claimable again
    queue.renew(engine, "host:1:a", [t.id for t in a], -1)
    again = queue.claim(engine, "c", 10, 60, prompt_version_id=pv, model="m")
    assert {t.id for t in again} == {t.id for t in a}


def test_release_gives_tasks_back(engine):
    pv = _papers(engine, 3)
    _enqueue(engine, pv)
    queue.claim(engine, "me", 3, 60, prompt_version_id=pv, model="m")
    assert _states(engine) == {"running": 3}
    assert queue.release(engine, "me") == 3
    assert _states(engine) == {"pending": 3}


def test_tasks_of_a_dead_process_are_reclaimed(engine):
    pv = _papers(engine, 2)
    _enqueue(engine, pv)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    owner = f"{socket.gethostname()}:{dead.pid}:x"
    queue.claim(engine, owner, 2, 3600, prompt_version_id=pv, model="m")
    assert queue.reclaim_dead(engine) == 1
    assert _states(engine) == {"pending": 2}


def test_a_task_taken_too_often_fails(engine):
    pv = _papers(engine, 1)
    _enqueue(engine, pv)
    for i in range(queue.MAX_TAKES):
        got = queue.claim(engine, f"w{i}", 1, -1, prompt_version_id=pv, model="m")
        assert len(got) == 1
    time.sleep(0.01)
    assert queue.claim(engine, "last", 1, 60, prompt_version_id=pv, model="m") == []
    assert _states(engine) == {"failed": 1}


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def _running(db_url: str) -> dict[str, int]:
    from _pg import fetch

    return dict(fetch(db_url, "SELECT lease_owner, COUNT(*) FROM tasks WHERE state = 'running' GROUP BY lease_owner"))


def test_reclaiming_reads_a_host_name_literally(db_url):  # noqa: F811
    """``_`` and ``%`` in this host's name are characters, not wildcards: tasks of a dead
    process here go back to the queue; those of another host whose name the pattern
    would have matched stay with their owner."""
    engine = open_db(db_url)
    pv = _papers(engine, 3)
    _enqueue(engine, pv)
    pid = _dead_pid()
    here, other, longer = f"node_1%:{pid}:a", f"nodeA1:{pid}:b", f"nodeA1-gpu:{pid}:c"
    for owner in (here, other, longer):
        assert len(queue.claim(engine, owner, 1, 3600, prompt_version_id=pv, model="m")) == 1
    assert queue.reclaim_dead(engine, host="node_1%") == 1
    assert _running(db_url) == {other: 1, longer: 1}
    assert _states(engine) == {"pending": 1, "running": 2}


def test_reclaiming_skips_an_owner_it_cannot_read_with_a_warning(db_url, caplog):  # noqa: F811
    engine = open_db(db_url)
    pv = _papers(engine, 3)
    _enqueue(engine, pv)
    dead = f"box:{_dead_pid()}:a"
    for owner in ("box:not-a-pid:x", "box:", dead):
        assert len(queue.claim(engine, owner, 1, 3600, prompt_version_id=pv, model="m")) == 1
    with caplog.at_level(logging.WARNING, logger="annotator"):
        assert queue.reclaim_dead(engine, host="box") == 1
    assert _running(db_url) == {"box:not-a-pid:x": 1, "box:": 1}
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "'box:not-a-pid:x'" in warned and "'box:'" in warned
