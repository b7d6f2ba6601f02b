"""The demo end to end on the real embedded model (slow: starts llama.cpp's server)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.cli import app
from annotator.db import open_db
from annotator.prompts.schema import JudgmentReply

pytestmark = pytest.mark.slow


def test_demo_judges_the_sample_with_the_embedding_judge(db_path):
    """The default: SmolLM2 embeddings and the shipped head; scores differ between papers and
    the output says what they are, with held-out figures."""
    result = CliRunner().invoke(app, ["--db", db_path, "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "judgments by smollm2-135m-instruct" in out
    assert "not a reviewer" in out and "out-of-fold" in out and "Spearman" in out
    assert "ICLR 2026 rating out-of-fold: Spearman 0." in out  # this year's papers, first
    with open_db(db_path).connect() as conn:
        rows = conn.execute(
            text("SELECT ai_score, novelty, rationale, model, method, details_json FROM judgments")
        ).all()
        tasks = dict(conn.execute(text("SELECT state, COUNT(*) FROM tasks GROUP BY state")).all())
    assert tasks == {"done": 6}
    assert len({r[0] for r in rows}) > 1  # the scores differ between papers
    for ai, nov, rationale, model, method, details in rows:
        JudgmentReply(ai_score=ai, novelty=nov, rationale=rationale)  # stored rows are valid
        assert model == "smollm2-135m-instruct" and method == "embedding-head"
        assert rationale.startswith("Closest labelled papers: ")
        assert json.loads(details)["head"]["source"] == "annotator/data/heads/smollm2/head.json"


def test_demo_chat_path_stays_available(db_path):
    result = CliRunner().invoke(app, ["--db", db_path, "demo", "--prompt", "score@1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "demo quality" in result.output
    with open_db(db_path).connect() as conn:
        rows = conn.execute(
            text("SELECT ai_score, novelty, rationale, model, demo_quality, params_json FROM judgments")
        ).all()
    assert len(rows) == 6
    for ai, nov, rationale, model, demo, params in rows:
        JudgmentReply(ai_score=ai, novelty=nov, rationale=rationale)
        assert model == "smollm2-135m-instruct" and demo
        assert json.loads(params)["response_format"] == "grammar"
