"""``annotator costs``: tokens and dollars by prompt version, model and day, retries included.

The figures are checked three ways: against SUMs over ``llm_calls``, against the
fake server's own request record (every HTTP attempt, tokens by its counting
rule), and against the published price of the model.
"""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from _rescore import annotate, cli_app, edit, ingest_papers, private_prompts, rows
from typer.testing import CliRunner

from annotator.judge.spend import cost_report
from annotator.prompts.admin import new_version

MINI = (0.15, 0.60)  # gpt-4o-mini, USD per million tokens in / out
FOUR_O = (2.50, 10.00)  # gpt-4o


def _tokens(text: str) -> int:
    """The fake server's counting rule: a token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def test_costs_add_up_to_stored_usage_retries_included(tmp_path, monkeypatch, engine, db_path, fake_server):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 5)
    # transport failures and an invalid reply, all billed or counted as attempts
    fake_server.script(
        [
            {"kind": "status", "status": 429, "retry_after": 0},
            {"kind": "status", "status": 500},
            {"kind": "ok"},
            {"kind": "bad_json"},
        ]
    )
    first = annotate(engine, db_path, fake_server, prompt="score@1", model="gpt-4o-mini", concurrency=1)
    assert (first.done, first.retries, first.reasks) == (5, 2, 1)
    edit(new_version("score"), "Judge this paper.", "Judge this paper, please.")
    annotate(engine, db_path, fake_server, prompt="score@2", model="gpt-4o", limit=3)
    # one call dated yesterday, so the report has two days
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE llm_calls SET created_at = '2025-01-01 23:59:59.000000' "
            "WHERE id = (SELECT MIN(id) FROM llm_calls WHERE outcome = 'ok')"
        )

    report = cost_report(engine)
    ((n, pt, ct, cost),) = rows(
        engine, "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd) FROM llm_calls"
    )
    t = report.total
    assert (t.calls, t.prompt_tokens, t.completion_tokens) == (n, pt, ct)
    assert t.cost_usd == pytest.approx(cost, rel=1e-12)
    # every HTTP attempt the server saw is a row: 5 + 2 retries + 1 re-ask, then 3
    served = fake_server.chat_requests()
    assert t.http == len(served) == 11 and t.cached == 0
    assert (t.retries, t.reasks, t.errors, t.invalid) == (2, 1, 2, 1)
    # tokens as the server counts them: prompts from what it received, completions from replies
    ok = [r for r in served if r["status"] == 200]
    assert t.prompt_tokens == sum(_tokens(m["content"]) for r in ok for m in r["body"]["messages"])
    replies = [r for (r,) in rows(engine, "SELECT response_text FROM llm_calls WHERE response_text IS NOT NULL")]
    assert t.completion_tokens == sum(_tokens(r) for r in replies)
    # dollars from the price list
    by_model = {r.model: r for r in cost_report(engine, by=["model"]).rows}
    for model, (pin, pout) in (("gpt-4o-mini", MINI), ("gpt-4o", FOUR_O)):
        r = by_model[model]
        assert r.cost_usd == pytest.approx((r.prompt_tokens * pin + r.completion_tokens * pout) / 1e6)
    assert by_model["gpt-4o-mini"].http == 8 and by_model["gpt-4o"].http == 3

    # the default grouping: prompt version x model x day x mode, adding up to the total
    keys = [(r.prompt, r.model, r.day, r.mode) for r in report.rows]
    assert len(keys) == len(set(keys)) == 3
    assert {(k[0], k[1]) for k in keys} == {("score@1", "gpt-4o-mini"), ("score@2", "gpt-4o")}
    assert ("score@1", "gpt-4o-mini", "2025-01-01", "sync") in keys
    for field in ("calls", "http", "prompt_tokens", "completion_tokens"):
        assert sum(getattr(r, field) for r in report.rows) == getattr(t, field)
    expected_by_day = dict(rows(engine, "SELECT substr(created_at, 1, 10), COUNT(*) FROM llm_calls GROUP BY 1"))
    assert {r.day: r.calls for r in cost_report(engine, by=["day"]).rows} == expected_by_day
    v1 = cost_report(engine, by=[], prompt="score@1").total
    assert (
        v1.calls
        == rows(
            engine,
            "SELECT COUNT(*) FROM llm_calls c JOIN prompt_versions pv ON "
            "pv.id = c.prompt_version_id WHERE pv.version = '1'",
        )[0][0]
    )
    assert cost_report(engine, by=["model"], since=date(2025, 1, 2)).total.calls == n - 1

    out = tmp_path / "costs.json"
    result = CliRunner().invoke(cli_app(), ["--db", db_path, "costs", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "score@1" in result.output and "gpt-4o-mini" in result.output
    saved = json.loads(out.read_text())
    assert saved["total"]["calls"] == n and saved["total"]["cost_usd"] == pytest.approx(cost)
    result = CliRunner().invoke(cli_app(), ["--db", db_path, "costs", "--by", "week"])
    assert result.exit_code == 2 and "cannot group costs by week" in result.output


def test_costs_of_an_empty_database(engine, db_path):
    assert cost_report(engine).rows == [] and cost_report(engine, by=[]).rows == []
    result = CliRunner().invoke(cli_app(), ["--db", db_path, "costs"])
    assert result.exit_code == 0 and "no model calls stored" in result.output
