"""Failures that used to pass silently, and races between concurrent workers.

Each test drives the real code against the fake server or a real database:
a storage failure is a real SQLite trigger, a lost lease is a real second claim.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import Counter

import pytest
from _pg import db_url, pg_server_url, pg_url  # noqa: F401  (fixtures: SQLite, and PostgreSQL)
from _rescore import annotate, ingest_papers, private_prompts, rows
from sqlalchemy import text

from annotator.db.engine import session_for, writer
from annotator.db.models import Paper, PromptVersion
from annotator.errors import AnnotatorError, ConfigError, StorageError
from annotator.jobs import queue
from annotator.jobs.outcomes import JudgmentProvenance, Outcome, judgment_fields, save_outcomes
from annotator.jobs.owners import new_owner
from annotator.judge.cache import make_cache_lookup
from annotator.judge.client import Attempt, JudgeResult, ModelClient
from annotator.judge.prices import DEFAULT_PRICES, cost_usd, known_price
from annotator.prompts.files import load_prompt
from annotator.prompts.registry import register_prompt
from annotator.prompts.schema import JudgmentReply

MESSAGES = [{"role": "system", "content": "judge"}, {"role": "user", "content": "Title: A\n\nAbstract: something new"}]
PARAMS = {"temperature": 0.0, "max_tokens": 200}
UNPRICED = "house-model-7b"  # a model no price table knows


def _client(server, **kwargs) -> ModelClient:
    kwargs.setdefault("max_attempts", 3)
    kwargs.setdefault("max_reasks", 0)
    return ModelClient(model="fake", base_url=server.base_url, api_key="k", timeout_s=5.0, **kwargs)


def _judge_all(client: ModelClient, conversations: list[list[dict]]) -> list[JudgeResult]:
    async def go():
        try:
            return await asyncio.gather(*(client.judge(m, JudgmentReply, PARAMS) for m in conversations))
        finally:
            await client.close()

    return asyncio.run(go())


# -- 1. a storage failure stops the run -----------------------------------------------


def _fail_judgment_inserts(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TRIGGER disk_full BEFORE INSERT ON judgments BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        )


def test_storage_failure_stops_the_run_and_gives_leases_back(tmp_path, monkeypatch, engine, db_path, fake_server):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 40)
    _fail_judgment_inserts(engine)
    fake_server.configure(latency_s=1.0)  # calls still in flight when the first save fails
    concurrency = 4
    with pytest.raises(StorageError, match="disk full") as raised:
        annotate(engine, db_path, fake_server, prompt="score@1", model="fake", concurrency=concurrency)
    assert raised.value.exit_code not in (0, None)
    # it stopped at once: the first batch, and at most the calls already in flight
    # (before the fix: 40 requests for 40 tasks, none stored)
    assert len(fake_server.chat_requests()) <= 2 * concurrency
    states = dict(rows(engine, "SELECT state, COUNT(*) FROM tasks GROUP BY state"))
    assert states == {"pending": 40}  # no lease kept, nothing marked failed
    assert rows(engine, "SELECT COUNT(*) FROM tasks WHERE lease_owner IS NOT NULL") == [(0,)]
    assert rows(engine, "SELECT COUNT(*) FROM judgments") == [(0,)]


def test_storage_failure_exits_non_zero_with_the_reason(tmp_path, monkeypatch, engine, db_path, fake_server):
    from typer.testing import CliRunner

    from annotator.cli import app

    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 6)
    _fail_judgment_inserts(engine)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    result = CliRunner().invoke(
        app, ["--db", db_path, "annotate", "--model", "fake", "--prompt", "score@1", "--concurrency", "2"]
    )
    assert result.exit_code == StorageError.exit_code, result.output
    assert "disk full" in result.output


# -- 2. concurrency does not change the response format ------------------------------


def test_concurrent_rejections_fall_back_one_step_only(fake_server):
    fake_server.configure(reject_json_schema=True)
    client = _client(fake_server)
    conversations = [[MESSAGES[0], {"role": "user", "content": f"Title: P{i}\n\nAbstract: x {i}"}] for i in range(8)]
    results = _judge_all(client, conversations)
    assert [r.judgment is not None for r in results] == [True] * 8, [r.error for r in results]
    assert client.mode == "json_object"
    kinds = Counter((r["body"].get("response_format") or {}).get("type") for r in fake_server.chat_requests())
    assert kinds == {"json_schema": 8, "json_object": 8}  # never down to plain text


# -- 3. the lease is checked where results are stored -------------------------------


def _one_task(engine):
    with session_for(engine) as s:
        s.add(Paper(key="k0", title="T0", norm_title="t0", abstract="A0"))
        s.commit()
    pv = register_prompt(engine, load_prompt("score@1"))
    with writer(engine).begin() as conn:
        queue.enqueue(conn, pv.id, "m")
    return pv


def _outcome(task, score: int) -> Outcome:
    judged = JudgmentReply(ai_score=score, novelty=score, rationale=f"by {score}")
    attempt = Attempt(request_hash=f"h{score}", request_json="{}", outcome="ok", response_text=judged.model_dump_json())
    fields = judgment_fields([JudgeResult(judged, [attempt])], task.title, task.abstract, False)
    return Outcome(task, [attempt], fields, None)


def _save(engine, pv, outcome, owner):
    return save_outcomes(
        engine,
        [outcome],
        pv=pv,
        model="m",
        owner=owner,
        provenance=JudgmentProvenance(params_json="{}", code_version="test", base_url=None),
    )


def test_a_worker_whose_lease_was_taken_over_stores_nothing(db_url):  # noqa: F811
    from annotator.db import open_db

    engine = open_db(db_url)
    pv = _one_task(engine)
    late, new = new_owner(), new_owner()
    (stale,) = queue.claim(engine, late, 1, -1.0, prompt_version_id=pv.id, model="m")  # lapses
    (fresh,) = queue.claim(engine, new, 1, 60.0, prompt_version_id=pv.id, model="m")
    assert stale.id == fresh.id

    lost = _save(engine, pv, _outcome(stale, 11), late)
    with engine.connect() as conn:  # before the fix: its call and its judgment were stored
        assert conn.execute(text("SELECT COUNT(*) FROM llm_calls")).scalar_one() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM judgments")).scalar_one() == 0
    assert lost == {stale.id}

    assert _save(engine, pv, _outcome(fresh, 77), new) == set()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT ai_score FROM judgments")).all() == [(77,)]
        assert conn.execute(text("SELECT response_text FROM llm_calls")).scalar_one().find('"ai_score":77') >= 0
        assert conn.execute(text("SELECT state FROM tasks")).scalar_one() == "done"


# -- 4. Retry-After is capped by the maximum wait -----------------------------------


def test_retry_after_is_capped_by_the_maximum_wait(fake_server):
    fake_server.script([{"kind": "status", "status": 429, "retry_after": 3600}])
    client = _client(fake_server, max_wait_s=2.0)
    (result,) = _judge_all(client, [MESSAGES])
    assert result.judgment is not None
    assert [(a.status_code, a.attempt) for a in result.attempts] == [(429, 1), (None, 2)]
    assert result.attempts[0].wait_s == 2.0  # not 3600


def test_a_short_retry_after_is_still_honoured(fake_server):
    fake_server.script([{"kind": "status", "status": 503, "retry_after": 1.5}])
    client = _client(fake_server, max_wait_s=30.0)
    (result,) = _judge_all(client, [MESSAGES])
    assert result.judgment is not None and result.attempts[0].wait_s == 1.5


# -- 5. cache lookups run off the event loop ----------------------------------------


def test_cache_lookups_run_off_the_event_loop(fake_server, engine):
    lookup = make_cache_lookup(engine)  # a real database query
    seen: list[int] = []

    def watched(request_hash: str):
        seen.append(threading.get_ident())
        return lookup(request_hash)

    client = _client(fake_server, cache_lookup=watched)

    async def go():
        try:
            await asyncio.gather(
                *(
                    client.judge([MESSAGES[0], {"role": "user", "content": f"x{i}"}], JudgmentReply, PARAMS)
                    for i in range(3)
                )
            )
            return threading.get_ident()
        finally:
            await client.close()

    loop_thread = asyncio.run(go())
    assert len(seen) == 3
    assert loop_thread not in seen


# -- 6. prices: exact names and dated snapshots; unknown prices are said -------------


def test_prices_match_exact_names_and_dated_snapshots_only():
    assert known_price("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert known_price("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]
    assert known_price("gpt-5-pro") != DEFAULT_PRICES["gpt-5"]
    for name in ("gpt-5-codex", "gpt-4.1-mini-fast", "gpt-4o-mini-tts", UNPRICED):
        assert known_price(name) is None, name  # before: a prefix's price, or silently 0
    assert cost_usd(UNPRICED, 1000, 1000) == 0.0


def test_an_unknown_price_is_said_once_per_run(tmp_path, monkeypatch, engine, db_path, fake_server, caplog):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 6)
    with caplog.at_level(logging.WARNING, logger="annotator"):
        summary = annotate(engine, db_path, fake_server, prompt="score@1", model=UNPRICED)
    assert summary.done == 6
    said = [r.getMessage() for r in caplog.records if "no price known" in r.getMessage()]
    assert len(said) == 1 and UNPRICED in said[0] and "ANNOTATOR_PRICES" in said[0]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="annotator"):
        annotate(engine, db_path, fake_server, prompt="score@1", model="gpt-4o-mini")
    assert not [r for r in caplog.records if "no price known" in r.getMessage()]


def test_max_cost_with_an_unknown_price_refuses_to_start(tmp_path, monkeypatch, engine, db_path, fake_server):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 6)
    with pytest.raises(ConfigError, match="ANNOTATOR_PRICES") as raised:
        annotate(engine, db_path, fake_server, prompt="score@1", model=UNPRICED, max_cost=0.01)
    assert isinstance(raised.value, AnnotatorError) and raised.value.exit_code != 0
    assert UNPRICED in str(raised.value)
    assert fake_server.chat_requests() == []
    assert rows(engine, "SELECT COUNT(*) FROM tasks") == [(0,)]  # nothing queued either

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({UNPRICED: [100.0, 400.0]}), encoding="utf-8")
    monkeypatch.setenv("ANNOTATOR_PRICES", str(prices))
    summary = annotate(engine, db_path, fake_server, prompt="score@1", model=UNPRICED, max_cost=50.0)
    assert summary.done == 6 and 0 < summary.cost_usd <= 50.0


def test_prices_can_be_given_inline(monkeypatch):
    monkeypatch.setenv("ANNOTATOR_PRICES", json.dumps({UNPRICED: [1, 2]}))
    assert known_price(UNPRICED) == (1.0, 2.0)
    assert known_price(UNPRICED + "-2025-01-31") == (1.0, 2.0)


def test_batch_submit_with_max_cost_and_an_unknown_price_refuses(engine, db_path, fake_server, settings_for):
    from annotator.jobs.batch_submit import submit_batches
    from annotator.jobs.batch_types import BatchOptions

    with pytest.raises(ConfigError, match="ANNOTATOR_PRICES"):
        submit_batches(engine, settings_for(fake_server), BatchOptions(model=UNPRICED, max_cost=1.0, prompt="score@1"))
    assert fake_server.requests() == []


# -- 7. rounding and version order --------------------------------------------------


def _results(*scores: tuple[int, int]) -> list[JudgeResult]:
    return [JudgeResult(JudgmentReply(ai_score=a, novelty=n, rationale="r")) for a, n in scores]


def test_the_median_of_samples_rounds_half_up():
    fields = judgment_fields(_results((42, 43), (43, 44)), "T", "A", False)
    assert (fields["ai_score"], fields["novelty"]) == (43, 44)  # banker's: 42, 44
    fields = judgment_fields(_results((40, 0), (45, 1), (41, 2), (44, 3)), "T", "A", False)
    assert (fields["ai_score"], fields["novelty"]) == (43, 2)  # 42.5 -> 43, 1.5 -> 2


def test_prompt_versions_sort_as_numbers(engine):
    from annotator.judge.spend import cost_report

    with session_for(engine) as s:
        s.add(Paper(key="k0", title="T0", norm_title="t0", abstract="A0"))
        for v in ("10", "2", "1"):
            s.add(PromptVersion(name="score", version=v, content_hash=f"h{v}", text=v))
        s.commit()
    with engine.connect() as conn:
        pvs = dict(conn.execute(text("SELECT version, id FROM prompt_versions")).all())
    with writer(engine).begin() as conn:
        for v in ("10", "2", "1"):
            queue.enqueue(conn, pvs[v], "m")
            conn.execute(
                text(
                    "INSERT INTO llm_calls (prompt_version_id, model, request_hash, "
                    "request_json, outcome, attempt, reask, prompt_tokens, "
                    "completion_tokens, latency_ms, cost_usd, created_at) VALUES "
                    "(:pv, 'm', :h, '{}', 'ok', 1, 0, 1, 1, 1.0, 0.0, "
                    "CURRENT_TIMESTAMP)"
                ),
                {"pv": pvs[v], "h": v},
            )
    order = ["score@1", "score@2", "score@10"]
    assert [c.prompt for c in queue.counts(engine)] == order
    assert [r.prompt for r in cost_report(engine, by=("prompt",)).rows] == order
