"""Crash safety: ``annotator annotate`` killed with SIGKILL mid-run, and several at once.

The annotate runs are real subprocesses of the command line against a fake
server in its own process, so a kill -9 lands wherever it lands: during
start-up, between claims, with requests in flight or in the middle of a
write.
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections import Counter

import pytest
from _pg import cli_env, db_url, fetch, ingest, pg_server_url, pg_url, popen_cli, run_cli, write_papers  # noqa: F401

from annotator.testing.fakeserver import FakeServerProcess

N_PAPERS = 300
KILLS = 6


def _count(db: str, sql: str) -> int:
    try:
        return fetch(db, sql)[0][0]
    except Exception:  # the file may not have its tables yet
        return 0


def _check_complete(db: str, n: int) -> None:
    per_paper = Counter(p for (p,) in fetch(db, "SELECT paper_id FROM judgments"))
    assert len(per_paper) == n, f"{len(per_paper)} of {n} papers judged"
    assert set(per_paper.values()) == {1}, "a paper has more than one judgment"
    states = Counter(s for (s,) in fetch(db, "SELECT state FROM tasks"))
    assert states == Counter({"done": n}), states
    assert fetch(db, "SELECT COUNT(*) FROM tasks t JOIN judgments j ON j.task_id = t.id")[0][0] == n


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(tmp_path):
    db = str(tmp_path / "crash.db")
    ingest(db, write_papers(tmp_path / "papers.jsonl", N_PAPERS))
    rng = random.Random(20240501)
    args = ["annotate", "--model", "fake-model", "--concurrency", "4", "--no-cache"]
    kills, with_leases = [], 0
    with FakeServerProcess(latency_s=0.1) as fs:
        env = cli_env(db=db, base_url=fs.base_url, api_key="sk-test-crash")
        deadline = time.monotonic() + 120
        while len(kills) < KILLS and time.monotonic() < deadline:
            before = _count(db, "SELECT COUNT(*) FROM judgments")
            proc = popen_cli(args, env)
            if not kills:  # the first one dies early, maybe before it has claimed anything
                time.sleep(rng.uniform(0.05, 1.0))
            else:  # the others once they have made some progress, at a random moment
                goal = before + rng.randint(3, 30)
                while proc.poll() is None and _count(db, "SELECT COUNT(*) FROM judgments") < goal:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.25))
            if proc.poll() is not None:  # it finished first: not a crash
                out, err = proc.communicate()
                assert proc.returncode == 0, err
                break
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            assert proc.returncode == -signal.SIGKILL
            leased = _count(db, "SELECT COUNT(*) FROM tasks WHERE state = 'running'")
            with_leases += leased > 0
            kills.append((before, _count(db, "SELECT COUNT(*) FROM judgments"), leased))
        assert len(kills) >= 5, f"only {len(kills)} kills landed: {kills}"
        assert with_leases >= 3, f"too few kills caught tasks in flight: {kills}"
        assert _count(db, "SELECT COUNT(*) FROM judgments") < N_PAPERS
        done = run_cli(args, env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    _check_complete(db, N_PAPERS)
    # a kill never costs a paper a take: nothing was failed as a poison pill
    assert fetch(db, "SELECT MAX(attempts) FROM tasks")[0][0] <= 5


def _done_count(stdout: str) -> int:
    match = re.search(r"done (\d+), failed (\d+)", stdout)
    assert match, stdout
    assert match.group(2) == "0", stdout
    return int(match.group(1))


def test_four_annotate_processes_share_one_database(db_url, tmp_path):
    """Four processes on one queue (SQLite file or PostgreSQL): each paper judged once."""
    ingest(db_url, write_papers(tmp_path / "papers.jsonl", N_PAPERS))
    args = ["annotate", "--model", "fake-model", "--concurrency", "8", "--no-cache"]
    # 100 ms replies: one process alone would need ~4 s, so all four get a share
    with FakeServerProcess(latency_s=0.1) as fs:
        env = cli_env(db=db_url, base_url=fs.base_url, api_key="sk-test-four")
        procs = [popen_cli(args, env) for _ in range(4)]
        outs = [p.communicate(timeout=180) for p in procs]
        served = len(fs.chat_requests())
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        for text in (out, err):
            assert "locked" not in text.lower() and "Traceback" not in text, text
    per_process = [_done_count(out) for out, _ in outs]
    assert sum(per_process) == N_PAPERS, per_process
    assert sum(1 for n in per_process if n > 0) >= 2, f"the work was not shared: {per_process}"
    _check_complete(db_url, N_PAPERS)
    # nothing was sent to the model twice
    assert served == N_PAPERS
    assert fetch(db_url, "SELECT COUNT(*) FROM llm_calls")[0][0] == N_PAPERS
    assert fetch(db_url, "SELECT COUNT(*) FROM llm_calls WHERE outcome <> 'ok'")[0][0] == 0
    assert fetch(db_url, "SELECT COUNT(*) FROM tasks WHERE last_error IS NOT NULL")[0][0] == 0
