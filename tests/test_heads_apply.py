"""A head fitted on chat judgments' features: stored with its split, applied in exports and
by ``annotator.heads.apply.fitted_scores`` (the function profiles and leaderboards call)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.cli import app

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "tests" / "fixtures" / "eval" / "synthetic.toml"
LOOSE = [
    "--fail-under",
    "spearman_ai=-1",
    "--fail-under",
    "spearman_novelty=-1",
    "--fail-under",
    "auroc_ai=0",
    "--fail-under",
    "max_missing_rate=1",
    "mae_ai=100",
]


@pytest.fixture
def cli(db_path, fake_server, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")

    def invoke(*args, code: int = 0):
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_judgment_head_is_stored_applied_and_exported(cli, engine, tmp_path):
    from annotator.heads.apply import fitted_scores
    from annotator.heads.head_store import latest_head

    cli(
        "eval",
        "run",
        SUITE,
        "--prompt",
        "score@1",
        "--model",
        "fake",
        "--n-boot",
        "100",
        "--no-plots",
        "--fail-under",
        "max_missing_rate=1",
        "--fail-under",
        "spearman_ai=-1",
        "--fail-under",
        "mae_ai=100",
    )
    data = json.loads(
        cli(
            "eval", "fit", SUITE, "--prompt", "score@1", "--model", "fake", "--folds", "3", "--n-boot", "100", "--json"
        ).stdout
    )
    with engine.connect() as conn:
        pv = conn.execute(text("SELECT id FROM prompt_versions WHERE name = 'score'")).scalar_one()
        row = conn.execute(text("SELECT kind, suites, head_hash, code_version, split_json FROM fitted_heads")).one()
        eval_ids = conn.execute(text("SELECT id FROM papers WHERE is_eval")).scalars().all()
    assert row[0] == "judgment" and row[1] == "synthetic" and row[2] == data["hash"] and row[3]
    split = json.loads(row[4])
    assert split["k"] == 3 and len(split["folds"]) == 30
    head = latest_head(engine, pv, "fake").head
    assert head.feature_names[:2] == ["ai_score", "novelty"]
    # every fitted paper has an out-of-fold prediction; the head never reports in-sample figures
    assert set(head.targets["ai"].oof) == set(split["folds"])

    scores = fitted_scores(engine, pv, "fake", eval_ids)
    assert len(scores) == 30 and all(0 <= a <= 100 and 0 <= n <= 100 for a, n in scores.values())
    assert fitted_scores(engine, pv, "another-model", eval_ids) == {}

    # exports show the fitted score beside the raw one
    from conftest import SEED_PAGE

    cli("ingest", SEED_PAGE)
    cli("annotate", "--prompt", "score@1", "--model", "fake")
    out = tmp_path / "papers.jsonl"
    cli("export", "--format", "jsonl", "-o", out)
    judged = [j for line in out.read_text().splitlines() for j in json.loads(line)["judgments"]]
    assert judged and all(j["fitted_ai_score"] is not None and j["ai_score"] is not None for j in judged)
    assert all(j["method"] == "direct" and "details" in j for j in judged)
    csv_out = tmp_path / "papers.csv"
    cli("export", "--format", "csv", "-o", csv_out)
    rows = list(csv.DictReader(io.StringIO(csv_out.read_text())))
    assert rows and all(r["fitted_ai_score"] != "" for r in rows)
    assert all(r["method"] == "direct" for r in rows)

    # profiles and leaderboards show the fitted mean beside the raw one
    from annotator.biblio.profiles import author_profile, leaderboard

    prof = author_profile(engine, "Zhengyan Zhang", prompt="score@1", model="fake")
    judged = [p.id for p in prof.paper_list if p.ai_score is not None]
    per_paper = fitted_scores(engine, pv, "fake", judged)
    assert prof.fitted is not None and prof.fitted.n == len(judged) == len(per_paper) > 0
    expected = sum(a for a, _ in per_paper.values()) / len(per_paper)
    assert prof.fitted.ai_score == pytest.approx(expected, abs=0.01)
    assert all(p.fitted_ai_score == per_paper[p.id][0] for p in prof.paper_list if p.id in per_paper)
    board = leaderboard(engine, "ai_score", prompt="score@1", model="fake", limit=3, n_boot=50)
    assert board.rows and all(getattr(r, "fitted", None) is not None for r in board.rows)
    shown = cli("authors", "show", "Zhengyan Zhang", "--prompt", "score@1", "--model", "fake")
    assert "fitted head: AI Score" in shown.stdout
