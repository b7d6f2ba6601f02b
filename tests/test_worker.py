"""``annotator worker``: long-running workers that claim tasks as a producer queues them.

Workers are real subprocesses of the command line against a fake server in its
own process; the producer ingests papers in batches and queues them with
``annotate --limit 0`` while the workers run. Stopping is by SIGTERM.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections import Counter
from pathlib import Path

from _pg import cli_env, db_url, fetch, ingest, pg_server_url, pg_url, popen_cli, run_cli, write_papers  # noqa: F401

from annotator.testing.fakeserver import FakeServerProcess

WORKER = ["worker", "--poll", "0.1", "--concurrency", "4", "--no-cache"]


def _count(db: str, sql: str) -> int:
    return fetch(db, sql)[0][0]


def _wait_until(check, what: str, timeout: float = 180) -> None:
    """A failure guard, not a measurement: give up after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _stop(procs) -> list[tuple[str, str]]:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "Traceback" not in err and "locked" not in (out + err).lower(), err
    return outs


def _done(out: str) -> int:
    match = re.search(r"^done (\d+), failed 0;", out, re.M)
    assert match, out
    return int(match.group(1))


def _produce(db: str, env: dict, tmp: Path, batches: int, size: int, errors: list) -> None:
    """Ingest ``batches`` files of ``size`` papers one after another, each queued by the CLI."""
    try:
        for b in range(batches):
            ingest(db, write_papers(tmp / f"batch{b}.jsonl", size, start=b * size))
            result = run_cli(["annotate", "--limit", "0"], env)
            assert result.returncode == 0, result.stderr
    except BaseException as exc:  # reported by the test thread
        errors.append(exc)


def test_four_workers_and_a_producer_judge_each_paper_once(db_url, tmp_path):
    """Four worker processes, a producer queueing papers while they run (SQLite file and
    PostgreSQL): every paper judged once, one model call each, no lease left behind."""
    n_batches, size = (4, 50) if db_url.startswith("postgresql") else (2, 30)  # SQLite: quick
    n = n_batches * size
    with FakeServerProcess(latency_s=0.05) as fs:
        env = cli_env(db=db_url, base_url=fs.base_url, api_key="sk-test-workers")
        assert _count(db_url, "SELECT COUNT(*) FROM papers") == 0  # opening it made the schema
        workers = [popen_cli(WORKER, env) for _ in range(4)]
        errors: list[BaseException] = []
        producer = threading.Thread(target=_produce, args=(db_url, env, tmp_path, n_batches, size, errors))
        producer.start()
        producer.join(timeout=240)
        assert not producer.is_alive() and not errors, errors
        _wait_until(
            lambda: _count(db_url, "SELECT COUNT(*) FROM tasks WHERE state = 'done'") == n, "the queue to drain"
        )
        outs = _stop(workers)
        chats = fs.chat_requests()
    per_worker = [_done(out) for out, _ in outs]
    assert sum(per_worker) == n, per_worker
    assert sum(1 for k in per_worker if k > 0) >= 2, f"the work was not shared: {per_worker}"
    assert all("stopped: SIGTERM" in out for out, _ in outs), outs
    per_paper = Counter(p for (p,) in fetch(db_url, "SELECT paper_id FROM judgments"))
    assert len(per_paper) == n and set(per_paper.values()) == {1}
    keys = fetch(
        db_url,
        "SELECT paper_id, prompt_version_id, model, COUNT(*) FROM judgments "
        "GROUP BY paper_id, prompt_version_id, model HAVING COUNT(*) > 1",
    )
    assert keys == []
    assert Counter(s for (s,) in fetch(db_url, "SELECT state FROM tasks")) == Counter({"done": n})
    assert _count(db_url, "SELECT COUNT(*) FROM tasks WHERE lease_owner IS NOT NULL") == 0
    # one request per paper reached the model: nothing was judged twice
    assert len(chats) == n
    assert _count(db_url, "SELECT COUNT(*) FROM llm_calls") == n


def _queued_worker(db: str, tmp: Path, fs, n: int, *extra: str):
    env = cli_env(db=db, base_url=fs.base_url, api_key="sk-test-sigterm")
    ingest(db, write_papers(tmp / "papers.jsonl", n))
    assert run_cli(["annotate", "--limit", "0"], env).returncode == 0
    worker = popen_cli([*WORKER, *extra], env)
    _wait_until(lambda: len(fs.chat_requests()) > 0, "a call in flight", timeout=60)
    return worker


def test_sigterm_with_calls_in_flight_finishes_them_and_gives_back_the_rest(db_url, tmp_path):
    """SIGTERM while the worker waits on the model: what was sent is stored, what was
    claimed but not sent goes back to pending, and the worker exits 0."""
    with FakeServerProcess(latency_s=1.5) as fs:
        worker = _queued_worker(db_url, tmp_path, fs, 20, "--grace", "60")
        ((out, err),) = _stop([worker])
        sent = len(fs.chat_requests())
    assert "stopped: SIGTERM" in out and "abandoned" not in out, out
    states = Counter(s for (s,) in fetch(db_url, "SELECT state FROM tasks"))
    assert set(states) <= {"done", "pending"}, states
    assert states["done"] == sent == _count(db_url, "SELECT COUNT(*) FROM judgments")
    assert states["pending"] == 20 - sent > 0
    assert _count(db_url, "SELECT COUNT(*) FROM tasks WHERE lease_owner IS NOT NULL") == 0
    assert _count(db_url, "SELECT COUNT(*) FROM tasks WHERE state = 'pending' AND attempts <> 0") == 0


def test_sigterm_past_the_grace_period_gives_the_calls_in_flight_back(tmp_path):
    """Replies slower than the grace period: the calls are abandoned, every task is
    pending again (as never taken), and the worker still exits 0."""
    db = str(tmp_path / "grace.db")
    with FakeServerProcess(latency_s=600) as fs:
        worker = _queued_worker(db, tmp_path, fs, 6, "--grace", "0.5")
        ((out, _err),) = _stop([worker])
    assert "stopped: SIGTERM; calls in flight abandoned, their tasks given back" in out, out
    assert fetch(db, "SELECT state, attempts, lease_owner FROM tasks") == [("pending", 0, None)] * 6
    assert _count(db, "SELECT COUNT(*) FROM judgments") == 0


def test_exit_when_idle_on_an_empty_queue(tmp_path):
    """--exit-when-idle with nothing queued: no round, exit 0."""
    db = str(tmp_path / "idle.db")
    assert _count(db, "SELECT COUNT(*) FROM papers") == 0  # opening it made the schema
    with FakeServerProcess(latency_s=0) as fs:
        env = cli_env(db=db, base_url=fs.base_url, api_key="sk-test-idle")
        result = run_cli([*WORKER, "--exit-when-idle"], env)
        assert fs.chat_requests() == []
    assert result.returncode == 0, result.stderr
    assert "0 round(s); stopped: idle" in result.stdout
