"""``annotator eval run`` end to end against the fake server: reports, thresholds, replay."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.cli import app

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


@pytest.fixture
def run(db_path, fake_server, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")

    def invoke(*args):
        return CliRunner().invoke(
            app,
            [
                "eval",
                "run",
                str(SUITE),
                "--model",
                "fake",
                "--sample-size",
                "30",
                "--n-boot",
                "200",
                "--no-plots",
                *map(str, args),
            ],
            catch_exceptions=False,
        )

    return invoke


def test_breach_exits_1_and_junit_shows_it(run, tmp_path, fake_server):
    out = tmp_path / "report"
    result = run("--out", out, "--fail-under", "spearman_ai=0.99")
    assert result.exit_code == 1, result.output
    assert "spearman_ai" in result.output
    cases = {c.get("name"): c for c in ET.parse(out / "junit.xml").getroot().iter("testcase")}
    failing = [n for n, c in cases.items() if c.find("failure") is not None]
    assert any("spearman_ai" in n for n in failing)
    report = json.loads((out / "result.json").read_text())
    assert report["provenance"]["model"] == "fake"
    assert report["provenance"]["prompt_hash"] and report["provenance"]["data_hash"]
    md = (out / "report.md").read_text()
    assert "human ceiling" in md and "TF-IDF" in md
    assert len(fake_server.chat_requests()) == 30


def test_pass_exits_0_and_replay_makes_no_requests(run, tmp_path, fake_server, engine):
    first = run("--out", tmp_path / "a", *LOOSE)
    assert first.exit_code == 0, first.output
    assert len(fake_server.chat_requests()) == 30
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM papers WHERE is_eval")).scalar_one() == 30
        # the run's papers stay out of the user's corpus
        assert conn.execute(text("SELECT COUNT(*) FROM papers WHERE NOT is_eval")).scalar_one() == 0
        # forget the judgments, keep the stored calls: a replay rebuilds them offline
        conn.execute(text("DELETE FROM judgments"))
        conn.execute(text("UPDATE llm_calls SET task_id = NULL"))
        conn.execute(text("DELETE FROM tasks"))
        conn.commit()
    second = run("--out", tmp_path / "b", "--replay", *LOOSE)
    assert second.exit_code == 0, second.output
    assert len(fake_server.chat_requests()) == 30  # nothing new went over HTTP
    a = json.loads((tmp_path / "a" / "result.json").read_text())
    b = json.loads((tmp_path / "b" / "result.json").read_text())
    assert a["labels"] == b["labels"]

    compared = CliRunner().invoke(
        app,
        [
            "eval",
            "compare",
            str(tmp_path / "a" / "result.json"),
            str(tmp_path / "b" / "result.json"),
            "--n-boot",
            "200",
            "--json",
            str(tmp_path / "cmp.json"),
        ],
    )
    assert compared.exit_code == 0, compared.output
    assert "spearman_ai: no detectable difference (+0.000" in compared.output
    verdicts = {d["name"]: d["verdict"] for d in json.loads((tmp_path / "cmp.json").read_text())["diffs"]}
    assert verdicts["spearman_ai"] == verdicts["auroc_ai"] == "no detectable difference"


def test_replay_miss_fails_clearly(run, tmp_path, fake_server):
    result = run("--out", tmp_path / "c", "--replay")
    assert result.exit_code == 5
    assert "--replay: no stored answer" in result.output
    assert fake_server.chat_requests() == []


def test_calibration_map_is_stored_and_profiles_show_calibrated_scores(run, tmp_path, engine):
    from conftest import SEED_PAGE

    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(SEED_PAGE)]).exit_code == 0
    assert runner.invoke(app, ["annotate", "--model", "fake"]).exit_code == 0
    assert run("--out", tmp_path / "a", *LOOSE).exit_code == 0
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT suite, label, scale_low, scale_high FROM calibrations ORDER BY label")).all()
    assert stored == [("iclr2022", "ai", 1.0, 10.0), ("iclr2022", "novelty", 1.0, 4.0)]
    shown = runner.invoke(app, ["authors", "show", "Zhengyan Zhang", "--json"])
    profile = json.loads(shown.stdout)
    cal = profile["calibrated"]
    assert set(cal) == {"iclr2022.ai", "iclr2022.novelty"}
    assert 1.0 <= cal["iclr2022.ai"]["value"] <= 10.0 and 1.0 <= cal["iclr2022.novelty"]["value"] <= 4.0
    # an eval run again replaces the map rather than adding a second one
    assert run("--out", tmp_path / "b", *LOOSE).exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM calibrations")).scalar_one() == 2


def test_suite_runs_from_a_bare_copy_and_another_cwd(tmp_path, db_path, fake_server, monkeypatch):
    """The suite reads evals/data beside it: no sibling folder, no particular CWD needed."""
    import hashlib
    import os
    import shutil

    clone = tmp_path / "clone" / "evals"
    (clone / "data").mkdir(parents=True)
    shutil.copy(SUITE, clone / SUITE.name)
    data = SUITE.parent / "data" / "iclr2022_ratings_novelty.jsonl"
    shutil.copy(data, clone / "data" / data.name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    suite_arg = os.path.relpath(clone / SUITE.name, elsewhere)  # ../clone/evals/iclr2022.toml
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "run",
            suite_arg,
            "--model",
            "fake",
            "--sample-size",
            "12",
            "--n-boot",
            "100",
            "--no-plots",
            "--out",
            "report",
            *LOOSE,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    prov = json.loads((elsewhere / "report" / "result.json").read_text())["provenance"]
    assert prov["data_path"] == "data/iclr2022_ratings_novelty.jsonl"
    assert prov["data_hash"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert len(fake_server.chat_requests()) == 12
