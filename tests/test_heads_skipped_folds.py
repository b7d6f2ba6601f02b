"""A head's skipped folds in ``eval run``: a paper the head was fitted on but that has no
out-of-fold prediction (its fold's training part was under ``MIN_TRAIN``) is left out of
the figures and counted, never scored by the head that saw it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from annotator.cli import app

REPO = Path(__file__).resolve().parent.parent
ICLR22 = REPO / "evals" / "iclr2022.toml"


@pytest.fixture
def cli(db_path, fake_server, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")

    def invoke(*args):
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return invoke


def small_suite(folder: Path, n: int) -> Path:
    """The first ``n`` papers of ICLR 2022 as a suite of their own, without a sample size."""
    source = REPO / "evals" / "data" / "iclr2022_ratings_novelty.jsonl"
    (folder / "data").mkdir()
    lines = source.read_text(encoding="utf-8").splitlines()[:n]
    (folder / "data" / "small.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    toml = ICLR22.read_text(encoding="utf-8")
    toml = (
        toml.replace('name = "iclr2022"', 'name = "small"')
        .replace("data/iclr2022_ratings_novelty.jsonl", "data/small.jsonl")
        .replace("sample_size = 100", "")
    )
    toml = toml[: toml.index("[thresholds]")]  # too few papers for the shipped floors
    path = folder / "small.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def test_papers_of_a_skipped_fold_are_dropped_and_counted_not_scored_in_sample(cli, fake_server, tmp_path, db_path):
    suite = small_suite(tmp_path, 12)  # 5 folds of 12: two folds train on 9 < MIN_TRAIN papers
    r = httpx.post(
        fake_server.url + "/_fake/embeddings",
        trust_env=False,
        json={"labels": str(tmp_path / "data" / "small.jsonl"), "signal": 1.0, "dim": 16},
    )
    assert r.status_code == 200, r.text
    head = json.loads(
        cli("eval", "fit", suite, "--prompt", "embed@1", "--model", "fake-embed", "--n-boot", "100", "--json").stdout
    )
    assert head["id"]
    out = tmp_path / "report"
    cli(
        "eval",
        "run",
        suite,
        "--prompt",
        "embed@1",
        "--model",
        "fake-embed",
        "--n-boot",
        "100",
        "--no-plots",
        "--out",
        out,
    )
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))

    stored = stored_head(db_path)
    oof = stored.targets["ai"].oof
    without = [p for p in result["papers"] if p["id"] not in oof]
    assert without, "the split left every paper an out-of-fold prediction: no skipped fold"
    for p in without:
        assert p["pred"]["ai_score"] is None and p["status"] != "scored", p
    for p in result["papers"]:
        if p["id"] in oof:
            assert p["pred"]["ai_score"] == pytest.approx(float(stored.targets["ai"].score(oof[p["id"]])))
    assert result["labels"]["ai"]["counts"]["n_scored"] == 12 - len(without)
    assert result["fitted_head"]["no_out_of_fold"] == len(without)
    assert any("no out-of-fold prediction" in n for n in result["notes"])


def stored_head(db_path):
    from annotator.db import open_db
    from annotator.heads.head_store import latest_head, prompt_version_id
    from annotator.prompts.files import load_prompt

    engine = open_db(db_path)
    pv = prompt_version_id(engine, load_prompt("embed@1"))
    assert pv is not None
    found = latest_head(engine, pv, "fake-embed")
    assert found is not None
    return found.head
