"""The Batch API path against the fake server's /v1/files and /v1/batches."""

from __future__ import annotations

import json

import pytest
from _pg import db_url, pg_server_url, pg_url  # noqa: F401  (fixtures: SQLite and PostgreSQL)
from _rescore import annotate, cli_app, edit, ingest_papers, private_prompts, rows, scores, settings
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from annotator.jobs.batch_collect import collect_batches
from annotator.jobs.batch_submit import submit_batches
from annotator.jobs.batch_types import BatchOptions
from annotator.prompts.admin import new_version

MODEL = "gpt-4o-mini"


@pytest.fixture
def two_dbs(tmp_path, monkeypatch):
    """Two databases holding the same papers: one judged synchronously, one by batch."""
    from annotator.db import open_db

    private_prompts(tmp_path, monkeypatch)
    out = []
    for name in ("sync", "batch"):
        path = str(tmp_path / f"{name}.db")
        engine = open_db(path)
        ingest_papers(engine, tmp_path, 8)
        out.append((engine, path))
    return out


def _judgments(engine) -> dict[int, tuple]:
    return {
        r[0]: r[1:]
        for r in rows(
            engine,
            """
        SELECT paper_id, ai_score, novelty, rationale, abstract_truncated, injection_flag,
               samples_json, ai_score_spread, prompt_hash, prompt_version, model FROM judgments""",
        )
    }


def test_batch_run_ends_with_the_same_judgments_as_the_synchronous_path(two_dbs, fake_server):
    (sync_engine, sync_db), (engine, db) = two_dbs
    annotate(sync_engine, sync_db, fake_server, model=MODEL, samples=2)
    sync_calls = len(fake_server.chat_requests())
    assert sync_calls == 16

    s = submit_batches(engine, settings(db, fake_server), BatchOptions(model=MODEL, samples=2))
    assert (len(s.batches), s.tasks, s.requests, s.cached) == (1, 8, 16, 0)
    assert s.estimated_cost_usd > 0
    assert len(fake_server.chat_requests()) == sync_calls  # nothing sent one by one
    uploads = fake_server.requests(path="/v1/files")
    assert len(uploads) == 1 and uploads[0]["body"]["purpose"] == "batch"
    (created,) = fake_server.requests(path="/v1/batches")
    assert created["body"]["endpoint"] == "/v1/chat/completions"
    lines = [
        json.loads(x) for x in fake_server.state.files[created["body"]["input_file_id"]]["data"].decode().splitlines()
    ]
    task_ids = [t for (t,) in rows(engine, "SELECT id FROM tasks ORDER BY id")]
    assert sorted(ln["custom_id"] for ln in lines) == sorted(f"task-{t}-s{k}" for t in task_ids for k in range(2))
    assert all("_sample" not in ln["body"] for ln in lines)  # our keys never leave
    # the tasks are in the batch: running, leased to it, invisible to a synchronous run
    owner = f"batch:{s.batches[0]}"
    assert rows(engine, "SELECT DISTINCT state, lease_owner FROM tasks") == [("running", owner)]
    ((stored_ids,),) = rows(engine, "SELECT task_ids FROM batches")
    assert json.loads(stored_ids) == task_ids
    idle = annotate(engine, db, fake_server, model=MODEL)
    assert (idle.done, idle.calls) == (0, 0) and len(fake_server.chat_requests()) == sync_calls

    c = collect_batches(engine, settings(db, fake_server))
    assert (c.judged, c.requeued, c.open) == (8, 0, 0)
    assert _judgments(engine) == _judgments(sync_engine)
    assert scores(engine, "score@1") == scores(sync_engine, "score@1")
    assert rows(engine, "SELECT DISTINCT state, lease_owner FROM tasks") == [("done", None)]
    # the calls are stored like synchronous ones, with the same request hashes, at half price
    batch_calls = rows(
        engine,
        "SELECT request_hash, prompt_tokens, completion_tokens, cost_usd, "
        "outcome, batch_id FROM llm_calls ORDER BY request_hash",
    )
    sync_calls_rows = rows(
        sync_engine,
        "SELECT request_hash, prompt_tokens, completion_tokens, cost_usd FROM llm_calls ORDER BY request_hash",
    )
    assert [r[:3] for r in batch_calls] == [r[:3] for r in sync_calls_rows]
    for b, sy in zip(batch_calls, sync_calls_rows):
        assert b[3] == pytest.approx(sy[3] * 0.5) and b[3] > 0
        assert b[4:] == ("ok", s.batches[0])
    ((collected, succeeded, cost),) = rows(engine, "SELECT collected, succeeded, cost_usd FROM batches")
    assert (collected, succeeded) == (1, 8) and cost == pytest.approx(sum(r[3] for r in batch_calls))
    assert rows(engine, "SELECT COUNT(*) FROM batch_items") == [(0,)]
    # collecting again changes nothing
    assert collect_batches(engine, settings(db, fake_server)).batches == []
    assert len(rows(engine, "SELECT id FROM llm_calls")) == 16


def test_failed_and_invalid_lines_go_back_to_the_queue(two_dbs, fake_server):
    (sync_engine, sync_db), (engine, db) = two_dbs
    annotate(sync_engine, sync_db, fake_server, model=MODEL)
    fake_server.reset()
    s = submit_batches(engine, settings(db, fake_server), BatchOptions(model=MODEL))
    task_ids = [t for (t,) in rows(engine, "SELECT id FROM tasks ORDER BY id")]
    bad_json, http_500, refused = task_ids[1], task_ids[2], task_ids[3]
    # line 1 ok, line 2 an invalid reply, line 3 an HTTP 500, line 4 a failed line
    fake_server.configure(batch_apply_faults=True, batch_fail_ids=[f"task-{refused}"])
    fake_server.script([{"kind": "ok"}, {"kind": "bad_json"}, {"kind": "status", "status": 500}])

    c = collect_batches(engine, settings(db, fake_server))
    assert (c.judged, c.requeued) == (5, 3)
    states = dict(rows(engine, "SELECT id, state FROM tasks"))
    assert {t for t, st in states.items() if st == "pending"} == {bad_json, http_500, refused}
    errors = dict(rows(engine, "SELECT id, last_error FROM tasks WHERE state = 'pending'"))
    assert "invalid reply" in errors[bad_json] and s.batches[0] in errors[bad_json]
    assert "HTTP 500" in errors[http_500]
    assert "fake_failure" in errors[refused]
    assert rows(engine, "SELECT COUNT(*) FROM tasks WHERE lease_owner IS NOT NULL") == [(0,)]
    calls = dict(rows(engine, "SELECT task_id, outcome FROM llm_calls"))
    assert (calls[bad_json], calls[http_500], calls[refused]) == ("invalid", "http_error", "http_error")
    assert rows(engine, "SELECT status_code FROM llm_calls WHERE task_id = :t", t=http_500) == [(500,)]
    assert set(scores(engine, "score@1")) == set(scores(sync_engine, "score@1")) - {
        p for (p,) in rows(engine, f"SELECT paper_id FROM tasks WHERE id IN ({bad_json}, {http_500}, {refused})")
    }

    # the next run takes the three back, one request each, and the results match
    fake_server.reset()
    again = annotate(engine, db, fake_server, model=MODEL)
    assert (again.done, len(fake_server.chat_requests())) == (3, 3)
    assert scores(engine, "score@1") == scores(sync_engine, "score@1")


def test_collect_waits_for_a_batch_still_running(two_dbs, fake_server):
    _, (engine, db) = two_dbs
    fake_server.configure(batch_polls_to_complete=3)
    s = submit_batches(engine, settings(db, fake_server), BatchOptions(model=MODEL, limit=5))
    assert s.tasks == 5
    first = collect_batches(engine, settings(db, fake_server))
    assert first.open == 1 and first.judged == 0 and first.batches[0].status == "in_progress"
    assert rows(engine, "SELECT status, collected FROM batches") == [("in_progress", 0)]
    polls = []
    done = collect_batches(
        engine,
        settings(db, fake_server),
        wait=True,
        poll_s=0.0,
        on_poll=lambda results: polls.append([r.status for r in results]),
    )
    assert done.judged == 5 and done.open == 0 and polls[-1] == ["completed"]
    assert len(fake_server.requests(path=f"/v1/batches/{s.batches[0]}")) == 3
    # the three papers outside the limit were never claimed
    assert rows(engine, "SELECT state, COUNT(*) FROM tasks GROUP BY state ORDER BY 1") == [("done", 5), ("pending", 3)]


def test_requests_answered_in_stored_calls_are_not_sent(tmp_path, monkeypatch, engine, db_path, fake_server):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 6)
    annotate(engine, db_path, fake_server, prompt="score@1", model=MODEL, limit=4)
    # v2 only relabels the prompt: its requests are v1's
    edit(new_version("score"), "description: AI score", "description: Relabelled. AI score")
    s = submit_batches(engine, settings(db_path, fake_server), BatchOptions(prompt="score@2", model=MODEL))
    assert (s.cached, s.tasks, s.requests) == (4, 2, 2)
    (created,) = fake_server.requests(path="/v1/batches")
    data = fake_server.state.files[created["body"]["input_file_id"]]["data"].decode()
    assert len(data.splitlines()) == 2
    collect_batches(engine, settings(db_path, fake_server))
    v1, v2 = scores(engine, "score@1"), scores(engine, "score@2")
    assert len(v2) == 6 and all(v2[p] == v1[p] for p in v1)


def test_a_cancelled_batch_returns_its_tasks(two_dbs, fake_server):
    from annotator.jobs.batch_collect import cancel_batch

    _, (engine, db) = two_dbs
    s = submit_batches(engine, settings(db, fake_server), BatchOptions(model=MODEL))
    assert cancel_batch(engine, settings(db, fake_server), s.batches[0]) == "cancelled"
    c = collect_batches(engine, settings(db, fake_server))
    assert (c.judged, c.requeued, c.batches[0].status) == (0, 8, "cancelled")
    assert rows(engine, "SELECT DISTINCT state, lease_owner FROM tasks") == [("pending", None)]
    errors = [e for (e,) in rows(engine, "SELECT last_error FROM tasks")]
    assert len(errors) == 8 and all(f"batch {s.batches[0]} cancelled" in e for e in errors)
    assert rows(engine, "SELECT COUNT(*) FROM llm_calls") == [(0,)]  # nothing was answered
    again = annotate(engine, db, fake_server, model=MODEL)
    assert again.done == 8


def test_max_cost_limits_what_is_sent(two_dbs, fake_server):
    _, (engine, db) = two_dbs
    s = submit_batches(engine, settings(db, fake_server), BatchOptions(model=MODEL, max_cost=0.0004))
    assert s.stopped and "budget" in s.stopped and 0 < s.tasks < 8
    assert s.estimated_cost_usd <= 0.0004
    assert rows(engine, "SELECT COUNT(*) FROM tasks WHERE state = 'pending' AND attempts = 0") == [(8 - s.tasks,)]


def test_batch_commands(two_dbs, fake_server, monkeypatch):
    _, (engine, db) = two_dbs
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    fake_server.configure(batch_polls_to_complete=2)
    app = cli_app()
    result = CliRunner().invoke(app, ["--db", db, "batch", "submit", "--model", MODEL])
    assert result.exit_code == 0, result.output
    assert "1 batch(es), 8 papers, 8 requests" in result.output
    result = CliRunner().invoke(app, ["--db", db, "batch", "list"])
    assert result.exit_code == 0 and "score@1" in result.output
    result = CliRunner().invoke(app, ["--db", db, "batch", "collect", "--wait", "--poll", "0"])
    assert result.exit_code == 0, result.output
    assert "completed" in result.output
    assert len(scores(engine, "score@1")) == 8
    result = CliRunner().invoke(app, ["--db", db, "batch", "collect", "batch-nope"])
    assert result.exit_code == 2 and "no open batch batch-nope" in result.output
    result = CliRunner().invoke(app, ["--db", db, "costs", "--by", "mode"])
    assert result.exit_code == 0 and "batch" in result.output


def test_batch_needs_an_endpoint(engine, db_path):
    from annotator.errors import ConfigError
    from annotator.settings import get_settings

    with pytest.raises(ConfigError, match="Batch API needs an endpoint"):
        submit_batches(engine, get_settings(), BatchOptions())


def test_migration_adds_batch_tables_to_an_older_database(db_path):
    from annotator.db import open_db
    from annotator.db.engine import dispose_all
    from annotator.db.migrations import migrate

    engine = open_db(db_path)
    with engine.begin() as conn:  # back to the schema before m004
        conn.execute(text("DROP TABLE batch_items"))
        conn.execute(text("DROP TABLE batches"))
        conn.execute(text("DROP INDEX ix_llm_calls_batch_id"))
        conn.execute(text("ALTER TABLE llm_calls DROP COLUMN batch_id"))
        conn.execute(text("DELETE FROM _migrations WHERE name = 'm004_batches'"))
    dispose_all()
    engine = open_db(db_path)
    insp = inspect(engine)
    assert {"batches", "batch_items"} <= set(insp.get_table_names())
    assert "batch_id" in {c["name"] for c in insp.get_columns("llm_calls")}
    assert migrate(engine) == []  # applied once, recorded


def test_batch_and_cost_report_on_both_databases(db_url, tmp_path, monkeypatch, fake_server):
    """The same batch round trip and cost report on SQLite and PostgreSQL."""
    from collections import Counter

    from annotator.db import open_db
    from annotator.judge.spend import cost_report

    private_prompts(tmp_path, monkeypatch)
    engine = open_db(db_url)
    ingest_papers(engine, tmp_path, 6)
    annotate(engine, db_url, fake_server, model=MODEL, limit=2)
    fake_server.configure(batch_fail_ids=[])
    s = submit_batches(engine, settings(db_url, fake_server), BatchOptions(model=MODEL))
    assert s.tasks == 4
    c = collect_batches(engine, settings(db_url, fake_server))
    assert (c.judged, c.requeued) == (4, 0)
    assert rows(engine, "SELECT COUNT(*) FROM judgments") == [(6,)]
    report = cost_report(engine)
    modes = {r.mode: r for r in report.rows}
    assert set(modes) == {"sync", "batch"} and (modes["sync"].http, modes["batch"].http) == (2, 4)
    days = Counter(str(t)[:10] for (t,) in rows(engine, "SELECT created_at FROM llm_calls"))
    assert {r.day: r.calls for r in cost_report(engine, by=["day"]).rows} == dict(days)
    ((total,),) = rows(engine, "SELECT SUM(cost_usd) FROM llm_calls")
    assert report.total.cost_usd == pytest.approx(total) and report.total.calls == 6
