"""What ``eval run`` says is judging on the embedded model (slow: starts llama.cpp's server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotator.cli import app

pytestmark = pytest.mark.slow

SUITE = Path(__file__).resolve().parent.parent / "evals" / "iclr2022.toml"
LOOSE = [
    "--fail-under",
    "spearman_ai=-1",
    "--fail-under",
    "spearman_novelty=-1",
    "--fail-under",
    "auroc_ai=0",
    "--fail-under",
    "max_missing_rate=1",
]


def test_eval_run_on_the_embedding_judge_names_the_head_not_the_chat_demo(db_path, tmp_path, monkeypatch):
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ANNOTATOR_MODEL"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(
        app,
        [
            "--db",
            db_path,
            "eval",
            "run",
            str(SUITE),
            "--sample-size",
            "12",
            "--n-boot",
            "100",
            "--no-plots",
            "--out",
            str(tmp_path / "r"),
            *LOOSE,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "demo quality" not in said
    assert "embedding head" in said and "held-out" in said


def test_eval_run_on_the_chat_path_keeps_the_demo_warning(db_path, tmp_path, monkeypatch):
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ANNOTATOR_MODEL"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(
        app,
        [
            "--db",
            db_path,
            "eval",
            "run",
            str(SUITE),
            "--sample-size",
            "2",
            "--n-boot",
            "100",
            "--no-plots",
            "--out",
            str(tmp_path / "r"),
            "--prompt",
            "score@1",
            *LOOSE,
        ],
        catch_exceptions=False,
    )
    said = " ".join(result.output.split())
    assert "demo quality" in said and "embedding head" not in said
