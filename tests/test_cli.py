"""The command line end to end: what it prints and what it stores."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import SEED_PAGE
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.cli import app
from annotator.demo import SAMPLE
from annotator.prompts.schema import JudgmentReply


@pytest.fixture
def run(db_path, fake_server, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


def _rows(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).all()


def test_ingest_annotate_export(run, engine, fake_server):
    result = run("ingest", SEED_PAGE, SAMPLE)
    assert result.exit_code == 0, result.output
    assert "new 51, updated 0, unchanged 0, rejected 0" in result.output

    result = run("annotate", "--model", "fake-model", "--concurrency", "8")
    assert result.exit_code == 0, result.output
    assert "done 51, failed 0" in result.output
    judgments = _rows(
        engine,
        "SELECT paper_id, ai_score, novelty, rationale, model, prompt_name, "
        "prompt_version, prompt_hash, code_version FROM judgments",
    )
    assert len(judgments) == 51 == len({j[0] for j in judgments})
    for j in judgments:
        JudgmentReply(ai_score=j[1], novelty=j[2], rationale=j[3])
        assert j[4:7] == ("fake-model", "score", "1") and len(j[7]) == 64 and j[8]
    assert len(fake_server.chat_requests()) == 51

    # a second run finds nothing to do and calls nothing
    result = run("annotate", "--model", "fake-model")
    assert "done 0, failed 0" in result.output
    assert len(fake_server.chat_requests()) == 51

    out = run("export").stdout
    papers = [json.loads(line) for line in out.splitlines()]
    assert len(papers) == 51
    first = papers[0]
    for field in (
        "id",
        "title",
        "abstract",
        "authors",
        "categories",
        "published",
        "has_code",
        "affiliations",
        "judgments",
    ):
        assert field in first
    j = first["judgments"][0]
    assert set(j) >= {
        "prompt",
        "prompt_version",
        "prompt_hash",
        "model",
        "ai_score",
        "novelty",
        "rationale",
        "created_at",
    }
    stored = dict(_rows(engine, "SELECT paper_id, ai_score FROM judgments"))
    assert all(p["judgments"][0]["ai_score"] == stored[p["id"]] for p in papers)

    rows = list(csv.DictReader(io.StringIO(run("export", "--format", "csv").stdout)))
    assert len(rows) == 51 and rows[0]["title"] == first["title"]


def test_dry_run_calls_nothing_and_writes_nothing(run, engine, fake_server):
    run("ingest", SAMPLE)
    result = run("annotate", "--model", "gpt-4o-mini", "--dry-run")
    assert result.exit_code == 0
    assert "dry run: 6 calls for score@1 on gpt-4o-mini" in result.output
    assert "estimated cost $0.00" in result.output
    assert fake_server.chat_requests() == []
    assert _rows(engine, "SELECT COUNT(*) FROM tasks")[0][0] == 0


def test_failed_tasks_are_kept_with_reason_and_retried(run, engine, fake_server):
    run("ingest", SAMPLE)
    fake_server.script([{"kind": "content", "content": "no json here"}] * 3)
    result = run("annotate", "--model", "m", "--concurrency", "1")
    assert "done 5, failed 1" in result.output
    failed = _rows(engine, "SELECT last_error FROM tasks WHERE state = 'failed'")
    assert len(failed) == 1 and "invalid reply" in failed[0][0]
    raw = _rows(engine, "SELECT response_text, outcome FROM llm_calls WHERE outcome = 'invalid'")
    assert len(raw) == 3 and raw[0][0] == "no json here"
    assert _rows(engine, "SELECT COUNT(*) FROM judgments")[0][0] == 5

    queue_out = run("queue").stdout
    assert "failed" in queue_out and "done" in queue_out
    assert "1 failed task(s) queued again" in run("queue", "retry").stdout
    result = run("annotate", "--model", "m")
    assert "done 1, failed 0" in result.output
    assert _rows(engine, "SELECT COUNT(*) FROM judgments")[0][0] == 6


def test_ingest_with_bad_rows_exits_non_zero_but_keeps_good_rows(run, engine, tmp_path):
    bad = tmp_path / "papers.jsonl"
    bad.write_text(
        json.dumps({"title": "Good", "abstract": "Fine abstract.", "authors": ["A B"]})
        + "\n"
        + "{not json\n"
        + json.dumps({"title": "No abstract", "abstract": "", "authors": ["C D"]})
        + "\n"
    )
    result = run("ingest", bad)
    assert result.exit_code == 3
    assert "papers.jsonl:2" in result.output and "papers.jsonl:3" in result.output
    assert "abstract" in result.output
    assert _rows(engine, "SELECT title FROM papers") == [("Good",)]
    assert run("ingest", bad, "--allow-rejects").exit_code == 0


def test_changed_prompt_is_refused_with_a_clear_message(run, tmp_path, monkeypatch):
    from annotator.prompts.files import PROMPTS_DIR

    folder = tmp_path / "prompts" / "score"
    folder.mkdir(parents=True)
    source = (PROMPTS_DIR / "score" / "v1.md").read_text()
    (folder / "v1.md").write_text(source)
    monkeypatch.setenv("ANNOTATOR_PROMPTS", str(tmp_path / "prompts"))
    run("ingest", SAMPLE)
    assert run("annotate", "--model", "m", "--limit", "2").exit_code == 0
    (folder / "v1.md").write_text(source.replace("experienced reviewer", "strict reviewer"))
    result = run("annotate", "--model", "m")
    assert result.exit_code == 4
    assert "content changed after 2 judgment(s)" in result.output
    assert "annotator prompts new score" in result.output


def test_error_messages_are_printed_as_text_not_markup(db_path, monkeypatch):
    """Square brackets in an error (an install hint like ".[local]", a path) reach the user."""
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    result = CliRunner().invoke(app, ["annotate", "--prompt", "score[local]@1"])
    assert result.exit_code != 0
    assert "score[local]" in result.output
