"""Storage and queue behaviour, the same code against SQLite and PostgreSQL.

Every test taking ``db_url`` runs twice: on a SQLite file and on a fresh
PostgreSQL database (marked ``postgres``; needs ``ANNOTATOR_TEST_PG_URL``).
"""

from __future__ import annotations

import threading
import time

import pytest
from _pg import db_url, fetch, ingest, paper_row, pg_server_url, pg_url, snapshot, write_jsonl, write_papers  # noqa: F401
from sqlalchemy import text

from annotator.db import open_db
from annotator.db.engine import database_url, writer
from annotator.db.migrations import MIGRATIONS, applied_migrations, migrate
from annotator.jobs import queue
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.prompts.schema import JudgmentReply
from annotator.settings import get_settings


def _queue(db: str, n: int, tmp_path) -> int:
    """Ingest ``n`` papers and queue them for one prompt version; returns its id."""
    ingest(db, write_papers(tmp_path / "papers.jsonl", n))
    engine = open_db(db)
    with writer(engine).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO prompt_versions (name, version, content_hash, text, params_json, active, "
                "created_at) VALUES ('t', '1', 'h', 'x', '{}', :f, CURRENT_TIMESTAMP)"
            ),
            {"f": False},
        )
        pv = conn.execute(text("SELECT id FROM prompt_versions WHERE name = 't'")).scalar_one()
        assert queue.enqueue(conn, pv, "m") == n
        assert queue.enqueue(conn, pv, "m") == 0  # idempotent
    return pv


def test_postgres_urls_are_normalised():
    assert database_url("postgres://u:p@h:5/d") == "postgresql+psycopg://u:p@h:5/d"
    assert database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert database_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


@pytest.mark.postgres
def test_postgres_is_opened_and_migrated_through_its_url(pg_url):
    engine = open_db(pg_url)
    assert engine.dialect.name == "postgresql"
    assert engine.url.drivername == "postgresql+psycopg"
    assert applied_migrations(engine) == [name for name, _ in MIGRATIONS]
    assert migrate(engine) == []  # nothing left to apply
    # a bare "postgres://" URL (as hosting services print them) reaches the same database
    bare = "postgres://" + pg_url.split("://", 1)[1]
    assert fetch(bare, "SELECT COUNT(*) FROM _migrations")[0][0] == len(MIGRATIONS)


def test_ingest_round_trip_and_reingest_changes_nothing(db_url, tmp_path):
    rows = [paper_row(i) for i in range(30)]
    rows[0]["abstract"] = "Ünïcødé 🧪 and CJK 漢字; LaTeX $\\alpha < \\beta$ and 100% \\emph{tex}."
    rows[1]["abstract"] = "long " * 200_000  # 1 MB, stored whole
    path = write_jsonl(tmp_path / "papers.jsonl", rows)
    ingest(db_url, path)
    before = snapshot(db_url, ("papers", "authors", "authorships"))
    assert len(before["papers"]) == 30
    ingest(db_url, path)
    assert snapshot(db_url, ("papers", "authors", "authorships")) == before
    stored = dict(fetch(db_url, "SELECT external_id, abstract FROM papers"))
    assert stored["p000000"] == rows[0]["abstract"]
    assert len(stored["p000001"]) == len(rows[1]["abstract"].strip())


def test_claims_never_overlap_under_concurrency(db_url, tmp_path):
    pv = _queue(db_url, 240, tmp_path)
    engine = open_db(db_url)
    taken: list[list[int]] = [[] for _ in range(8)]
    errors: list[BaseException] = []
    # rounds in lockstep: every thread claims at once in each round, so all of them contend
    # (free-running, one thread could take all 240 before the others start on a busy machine)
    rounds = 240 // (8 * 7) + 2
    barrier = threading.Barrier(8, timeout=60)

    def worker(k: int) -> None:
        owner = f"test-owner-{k}"
        try:
            for _ in range(rounds):
                barrier.wait()
                batch = queue.claim(engine, owner, 7, 60.0, prompt_version_id=pv, model="m")
                taken[k].extend(t.id for t in batch)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    every = [i for ids in taken for i in ids]
    assert len(every) == len(set(every)) == 240
    assert all(taken), [len(ids) for ids in taken]  # every thread claimed in the first round
    owners = fetch(db_url, "SELECT lease_owner, COUNT(*) FROM tasks GROUP BY lease_owner")
    assert sum(n for _, n in owners) == 240 and all(o for o, _ in owners)


def test_leases_lapse_release_and_dead_owners_are_reclaimed(db_url, tmp_path):
    pv = _queue(db_url, 10, tmp_path)
    engine = open_db(db_url)
    b = queue.claim(engine, "b", 4, 60.0, prompt_version_id=pv, model="m")
    a = queue.claim(engine, "a", 4, 0.2, prompt_version_id=pv, model="m")
    assert {t.id for t in a}.isdisjoint(t.id for t in b)
    time.sleep(0.3)  # a's lease lapses; b's does not
    c = queue.claim(engine, "c", 10, 60.0, prompt_version_id=pv, model="m")
    assert {t.id for t in a} <= {t.id for t in c}
    assert {t.id for t in b}.isdisjoint(t.id for t in c)
    assert all(t.attempts == 2 for t in c if t.id in {x.id for x in a})
    assert queue.release(engine, "c") == len(c)
    assert queue.release(engine, "a") == 0  # a lost its lease: it gives nothing back
    # a process on this host that no longer exists
    import socket
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    dead_owner = f"{socket.gethostname()}:{gone}:deadbeef"
    d = queue.claim(engine, dead_owner, 3, 600.0, prompt_version_id=pv, model="m")
    assert d and queue.reclaim_dead(engine) == 1
    states = dict(fetch(db_url, "SELECT id, state FROM tasks"))
    assert all(states[t.id] == "pending" for t in d)
    assert all(states[t.id] == "running" for t in b)  # a live owner keeps its tasks
    assert queue.retry_failed(engine) == 0


def test_annotate_end_to_end_on_both_databases(db_url, tmp_path, fake_server):
    ingest(db_url, write_papers(tmp_path / "papers.jsonl", 40))
    fake_server.configure(fault_rates={"503": 0.1, "bad_json": 0.1})
    settings = get_settings(base_url=fake_server.base_url, api_key="sk-test", timeout_s=5.0)
    engine = open_db(db_url)
    first = annotate(engine, settings, AnnotateOptions(model="fake-model", concurrency=8))
    assert first.done == 40 and first.failed == 0
    rows = fetch(
        db_url, "SELECT paper_id, ai_score, novelty, rationale, abstract_truncated, prompt_tokens FROM judgments"
    )
    assert len({r[0] for r in rows}) == 40 == len(rows)
    for r in rows:
        JudgmentReply(ai_score=r[1], novelty=r[2], rationale=r[3])
        assert r[4] in (False, 0) and r[5] > 0
    calls = len(fake_server.chat_requests())
    again = annotate(engine, settings, AnnotateOptions(model="fake-model", concurrency=8))
    assert again.done == 0 and len(fake_server.chat_requests()) == calls
    states = fetch(db_url, "SELECT state, COUNT(*) FROM tasks GROUP BY state")
    assert states == [("done", 40)]
    calls_stored = fetch(db_url, "SELECT COUNT(*), SUM(prompt_tokens) FROM llm_calls")[0]
    assert calls_stored[0] == calls
    assert calls_stored[1] == sum(r[5] for r in rows)
