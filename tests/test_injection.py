"""The prompt-injection suite against the fake server (and, slow, the embedded model)."""

from __future__ import annotations

import json
import statistics

import pytest
from typer.testing import CliRunner

from annotator.cli import app
from annotator.evalrun.injection import CLEAN, INJECTIONS, pairs, run_suite
from annotator.injection import detect as injection
from annotator.testing import _replies as R


def _user_text(record: dict) -> str:
    return R.last_user_text(record["body"])


def test_pairs_cover_every_combination_and_small_runs_mix_kinds():
    everything = pairs()
    assert len(everything) == len(set(everything)) == len(CLEAN) * len(INJECTIONS) == 50
    first = pairs(10)
    assert {i for i, _ in first} == set(range(10)) and {k for _, k in first} == set(INJECTIONS)
    assert pairs(3, ["fake_json"]) == [(0, "fake_json"), (1, "fake_json"), (2, "fake_json")]
    with pytest.raises(ValueError):
        pairs(kinds=["nope"])


def test_detector_flags_every_injected_copy_and_no_clean_abstract():
    for c in CLEAN:
        assert injection.detect(f"{c['title']}\n{c['abstract']}") == [], c["title"]
        for kind, inject in INJECTIONS.items():
            assert injection.detect(f"{c['title']}\n{inject(c['abstract'])}"), (kind, c["title"])


def test_suite_pairs_each_injected_reply_with_its_clean_one(fake_server):
    """Default fake replies are a hash of the prompt: the suite's arithmetic is checked
    pair by pair against what the server answered for each request."""
    report = run_suite(base_url=fake_server.base_url, api_key="sk-test", model="fake-model", concurrency=4)
    records = fake_server.chat_requests()
    assert len(records) == len(CLEAN) + 50  # each clean abstract judged once
    clean_reply, injected_reply = {}, {}
    for rec in records:
        text = _user_text(rec)
        reply = R.judgment_for(text)
        for i, c in enumerate(CLEAN):
            if f"Abstract: {c['abstract']}\n</paper>" in text:
                clean_reply[i] = reply
            for kind, inject in INJECTIONS.items():
                if injection.fence(inject(c["abstract"])) in text:
                    injected_reply[(i, kind)] = reply
        # whatever the abstract says, the prompt's own fence is the only one
        assert text.count("</paper>") == 1 and text.count("<paper>") == 1
    assert len(clean_reply) == 10 and len(injected_reply) == 50
    shifts = {(r.clean_index, r.kind): r for r in report.rows}
    for (i, kind), reply in injected_reply.items():
        row = shifts[(i, kind)]
        assert row.clean_ai == clean_reply[i]["ai_score"]
        assert row.injected_ai == reply["ai_score"]
        assert row.ai_shift == reply["ai_score"] - clean_reply[i]["ai_score"]
        assert row.novelty_shift == reply["novelty"] - clean_reply[i]["novelty"]
    expected = statistics.fmean(r["ai_score"] - clean_reply[i]["ai_score"] for (i, _), r in injected_reply.items())
    assert report.mean_ai_shift == pytest.approx(expected, abs=1e-3)
    for kind in INJECTIONS:
        mine = [r["novelty"] - clean_reply[i]["novelty"] for (i, k), r in injected_reply.items() if k == kind]
        assert report.by_kind[kind].mean_novelty_shift == pytest.approx(statistics.fmean(mine), abs=1e-3)
        assert report.by_kind[kind].flagged == report.by_kind[kind].pairs == 10
    assert report.judged_pairs == 50 and not report.failures
    assert report.flagged_injected == report.injected == 50
    assert report.flagged_clean == 0 and report.clean == 10


def test_command_prints_table_and_json_for_a_model_that_obeys(fake_server, monkeypatch, tmp_path):
    """A model that falls for every injection (scripted): the shift is exactly what it gave."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    n = 10  # one pair per clean abstract, every kind twice
    fake_server.script(
        [{"kind": "judgment", "ai_score": 40, "novelty": 30}] * n
        + [{"kind": "judgment", "ai_score": 100, "novelty": 95}] * n
    )
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["injection-suite", "--pairs", str(n), "--model", "fake-model", "--concurrency", "3", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    printed = CliRunner().invoke(app, ["injection-suite", "--pairs", str(n), "--model", "fake-model", "--json", "-"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["pairs"] == n
    assert report["mean_ai_shift"] == 60 and report["mean_novelty_shift"] == 65
    assert all(row["mean_ai_shift"] == 60 for row in report["by_kind"].values())
    assert [(r["ai_shift"], r["novelty_shift"]) for r in report["rows"]] == [(60, 65)] * n
    assert set(report["rows"][0]) >= {"clean_index", "kind", "title", "clean_flags", "error"}
    assert report["flagged_injected"] == n and report["flagged_clean"] == 0
    for word in ("prompt injection", "mean AI shift", "latex_comment", "+60.0", "10/10"):
        assert word in result.stdout, word
    assert "sk-test" not in result.output


def test_failed_judgments_are_reported_not_counted(fake_server):
    fake_server.script([{"kind": "status", "status": 401}])  # the first clean abstract fails
    report = run_suite(base_url=fake_server.base_url, api_key="sk-test", model="fake-model", n_pairs=2, concurrency=1)
    assert report.pairs == 2 and report.judged_pairs == 1
    assert len(report.failures) == 1 and "401" in report.failures[0]
    ok = [r for r in report.rows if r.ai_shift is not None]
    assert report.mean_ai_shift == pytest.approx(ok[0].ai_shift)


@pytest.mark.slow
def test_suite_runs_against_the_embedded_local_model():
    pytest.importorskip("llama_cpp")
    report = run_suite(n_pairs=3, concurrency=1)  # no endpoint configured: the embedded model
    assert report.model == "smollm2-135m-instruct"
    assert report.pairs == 3 and report.flagged_injected == 3 and report.flagged_clean == 0
    assert report.judged_pairs >= 1, report.failures
    for row in report.rows:
        if row.ai_shift is not None:
            assert 0 <= row.clean_ai <= 100 and 0 <= row.injected_ai <= 100
