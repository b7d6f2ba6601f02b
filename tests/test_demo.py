"""The demo end to end on the real embedded model (slow: starts llama.cpp's server)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.judge.schema import JudgmentReply
from cli import app
from db import open_db

pytestmark = pytest.mark.slow


def test_demo_judges_the_sample_with_the_local_model(db_path):
    result = CliRunner().invoke(app, ["--db", db_path, "demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "demo quality" in result.output
    assert "judgments by smollm2-135m-instruct" in result.output
    with open_db(db_path).connect() as conn:
        rows = conn.execute(text(
            "SELECT ai_score, novelty, rationale, model, demo_quality, params_json FROM judgments")).all()
        tasks = dict(conn.execute(text("SELECT state, COUNT(*) FROM tasks GROUP BY state")).all())
    assert tasks == {"done": 6}
    assert len(rows) == 6
    for ai, nov, rationale, model, demo, params in rows:
        JudgmentReply(ai_score=ai, novelty=nov, rationale=rationale)  # stored rows are valid
        assert model == "smollm2-135m-instruct" and demo
        assert json.loads(params)["response_format"] == "grammar"
