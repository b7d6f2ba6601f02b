"""Re-scoring after a prompt change: new versions, the response cache, --replay, --max-cost.

Every run goes over real HTTP to the fake server; its request record is the
ground truth for what was sent.
"""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from _rescore import annotate, cli_app, edit, ingest_papers, private_prompts, rows, scores
from typer.testing import CliRunner

from annotator.errors import PromptError, ReplayMiss
from annotator.judge.prices import cost_usd, estimate_messages_tokens
from annotator.prompts.admin import new_version

MODEL = "fake-model"


def _user_texts(fs) -> list[str]:
    return [r["body"]["messages"][-1]["content"] for r in fs.chat_requests()]


def test_new_version_calls_once_per_paper_and_never_for_the_old(tmp_path, monkeypatch, engine, db_path, fake_server):
    folder = private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 6)
    first = annotate(engine, db_path, fake_server, prompt="score@1", model=MODEL)
    assert first.done == 6 and len(fake_server.chat_requests()) == 6

    path = new_version("score")
    assert path == folder / "score" / "v2.md"
    edit(path, "Judge this paper.", "Judge this paper strictly; weigh novelty most.")
    fake_server.reset()
    second = annotate(engine, db_path, fake_server, model=MODEL)  # no --prompt: the latest, v2
    sent = _user_texts(fake_server)
    assert (second.done, second.calls, len(sent)) == (6, 6, 6)
    assert all("weigh novelty most" in t for t in sent)  # v2's words, never v1's
    titles = [line for t in sent for line in t.splitlines() if line.startswith("Title:")]
    assert len(set(titles)) == 6  # one request per paper
    assert set(scores(engine, "score@1")) == set(scores(engine, "score@2"))
    assert rows(
        engine,
        "SELECT pv.version, COUNT(*) FROM llm_calls c JOIN prompt_versions pv "
        "ON pv.id = c.prompt_version_id GROUP BY pv.version ORDER BY 1",
    ) == [("1", 6), ("2", 6)]

    fake_server.reset()
    for prompt in ("score@2", "score@1", None):  # everything is judged: nothing is sent
        again = annotate(engine, db_path, fake_server, prompt=prompt, model=MODEL)
        assert (again.done, again.calls) == (0, 0)
    assert fake_server.chat_requests() == []

    # the content-hash guard: a judged version's file cannot change under it
    edit(path, "weigh novelty most", "weigh soundness most")
    with pytest.raises(PromptError, match="content changed"):
        annotate(engine, db_path, fake_server, prompt="score@2", model=MODEL)
    assert fake_server.chat_requests() == []


def test_version_with_identical_requests_is_answered_from_stored_calls(
    tmp_path, monkeypatch, engine, db_path, fake_server
):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 5)
    annotate(engine, db_path, fake_server, prompt="score@1", model=MODEL)
    edit(new_version("score"), "description: AI score", "description: Same words, new label. AI score")
    fake_server.reset()
    summary = annotate(engine, db_path, fake_server, prompt="score@2", model=MODEL)
    assert (summary.done, summary.calls, summary.cached) == (5, 0, 5)
    assert fake_server.chat_requests() == []
    assert scores(engine, "score@2") == scores(engine, "score@1")
    # with the cache off the same run would have paid: prove it on a third version
    edit(new_version("score"), "description: Same words", "description: Again the same words")
    summary = annotate(engine, db_path, fake_server, prompt="score@3", model=MODEL, use_cache=False)
    assert (summary.done, summary.calls, len(fake_server.chat_requests())) == (5, 5, 5)


def _copy_db(src: str, dst: str) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def test_replay_rebuilds_a_finished_annotation_with_zero_http(tmp_path, monkeypatch, db_path, engine, fake_server):
    from annotator.db import open_db

    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 8)
    annotate(engine, db_path, fake_server, prompt="score@1", model=MODEL)
    expected = scores(engine, "score@1")
    # a copy of the database without its judgments: the annotation to re-run
    copy = str(tmp_path / "copy.db")
    _copy_db(db_path, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM judgments")
        conn.execute("UPDATE tasks SET state = 'pending', attempts = 0")
    engine2 = open_db(copy)
    fake_server.reset()
    summary = annotate(engine2, copy, fake_server, prompt="score@1", model=MODEL, replay=True)
    assert fake_server.requests() == []  # not one HTTP request of any kind
    assert (summary.done, summary.failed, summary.calls, summary.cached) == (8, 0, 0, 8)
    assert scores(engine2, "score@1") == expected
    assert rows(engine2, "SELECT outcome, COUNT(*) FROM llm_calls GROUP BY outcome ORDER BY 1") == [
        ("cached", 8),
        ("ok", 8),
    ]


def test_replay_miss_fails_clearly_without_http(tmp_path, monkeypatch, engine, db_path, fake_server):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 6)
    annotate(engine, db_path, fake_server, prompt="score@1", model=MODEL)
    edit(new_version("score"), "Judge this paper.", "Judge this paper, briefly.")
    fake_server.reset()

    # more papers than workers: the run must stop, not wait forever for a dead worker
    outcome: dict = {}

    def run():
        try:
            annotate(engine, db_path, fake_server, prompt="score@2", model=MODEL, replay=True, concurrency=1)
        except Exception as exc:  # noqa: BLE001  kept for the assertions below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "a replay miss left the run hanging"
    assert isinstance(outcome.get("error"), ReplayMiss)
    assert "--replay: no stored answer" in str(outcome["error"])

    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    result = CliRunner().invoke(
        cli_app(), ["--db", db_path, "annotate", "--replay", "--prompt", "score@2", "--model", MODEL]
    )
    assert result.exit_code == 5, result.output
    assert "no stored answer" in result.output
    assert fake_server.requests() == []
    # nothing judged, nothing lost: the tasks wait in the queue
    assert scores(engine, "score@2") == {}
    assert rows(
        engine,
        "SELECT t.state, COUNT(*) FROM tasks t JOIN prompt_versions pv "
        "ON pv.id = t.prompt_version_id WHERE pv.version = '2' GROUP BY t.state",
    ) == [("pending", 6)]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_max_cost_stops_before_the_budget_is_crossed(tmp_path, monkeypatch, engine, db_path, fake_server, concurrency):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 20)
    model = "gpt-4o-mini"  # a priced model; the fake server answers for any name
    budget = 0.0012
    summary = annotate(
        engine, db_path, fake_server, prompt="score@1", model=model, max_cost=budget, concurrency=concurrency
    )
    assert summary.stopped and "budget" in summary.stopped
    assert 0 < summary.done < 20 and summary.failed == 0
    ((spent, calls),) = rows(engine, "SELECT SUM(cost_usd), COUNT(*) FROM llm_calls")
    assert calls == len(fake_server.chat_requests()) == summary.done
    assert 0 < spent <= budget
    assert spent == pytest.approx(summary.cost_usd)
    # ... and not far below it: the next paper (up to one per worker in flight), priced at
    # the worst-case estimate the check uses (max_tokens of output), would have crossed it
    requests = [json.loads(r) for (r,) in rows(engine, "SELECT request_json FROM llm_calls")]
    estimate = max(cost_usd(model, estimate_messages_tokens(r["messages"]), r["max_tokens"]) for r in requests)
    assert spent + concurrency * estimate > budget
    pending = rows(engine, "SELECT COUNT(*) FROM tasks WHERE state = 'pending'")[0][0]
    assert pending == 20 - summary.done  # stopped tasks went back to the queue, none failed

    rest = annotate(engine, db_path, fake_server, prompt="score@1", model=model)
    assert rest.done == 20 - summary.done and rest.stopped is None
    assert len(fake_server.chat_requests()) == 20  # nothing was asked twice
