"""``eval run --repeats N``: each paper judged N times as independent runs, and the mean
absolute difference between runs reported (result.json and report.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from _methods import labelled_papers, prompt_dir, prompt_text, rater, write_jsonl
from typer.testing import CliRunner

from annotator.cli import app

N = 20


@pytest.fixture
def suite(tmp_path, monkeypatch, fake_server, db_path):
    rows = labelled_papers(N)
    write_jsonl(tmp_path / "papers.jsonl", [{**r, "rating_mean": r["label"]} for r in rows])
    path = tmp_path / "mini.toml"
    path.write_text(
        'name = "mini"\ndata = "papers.jsonl"\nseed = 0\n'
        '[fields]\nid = "id"\ntitle = "title"\nabstract = "abstract"\n'
        '[ai]\ngold = "rating_mean"\nscale = [1, 10]\n',
        encoding="utf-8",
    )
    prompt_dir(tmp_path, monkeypatch, {"plain/v1.md": prompt_text("plain")})
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")

    def configure(**cfg):
        fake_server.configure(rater=rater({r["title"]: r["label"] for r in rows}, paper_noise=0.0, **cfg))

    return path, configure


def run(suite: Path, out: Path, *args: str) -> dict:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "run",
            str(suite),
            "--prompt",
            "plain@1",
            "--model",
            "fake",
            "--n-boot",
            "100",
            "--no-plots",
            "--out",
            str(out),
            *args,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "result.json").read_text(encoding="utf-8"))


def between_runs(result: dict) -> dict:
    figure = result["labels"]["ai"]["agreement"]["between_runs"]
    assert figure is not None
    return figure


def test_the_difference_between_runs_is_what_the_raters_noise_implies(suite, tmp_path):
    path, configure = suite
    configure(noise=0.1)  # a reply's score: normal around the paper's quality, SD 10 on 0-100
    result = run(path, tmp_path / "a", "--repeats", "3")
    figure = between_runs(result)
    # |X - Y| of two independent normals of SD 10 has mean 2 * 10 / sqrt(pi) = 11.3
    expected = 2 * 10 / math.sqrt(math.pi)
    assert figure["judge"]["n"] == N
    assert abs(figure["judge"]["value"] - expected) < 3.5, figure
    assert figure["judge"]["ci_low"] <= figure["judge"]["value"] <= figure["judge"]["ci_high"]
    report = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    assert "between runs: mean abs. difference" in report
    assert "Between runs (`--repeats N`)" in report
    # the repeats are stored calls: a replay gives the same figure without any request
    again = run(path, tmp_path / "b", "--repeats", "3", "--replay")
    assert between_runs(again)["judge"]["value"] == figure["judge"]["value"]


def test_a_deterministic_rater_differs_by_nothing_between_runs(suite, tmp_path):
    path, configure = suite
    # no noise and three coarse points, no paper's quality near a cut: the same score every time
    configure(noise=0.0, coarse=[0.2, 0.5, 0.8])
    figure = between_runs(run(path, tmp_path / "a", "--repeats", "2"))
    assert figure["judge"]["value"] == 0.0


def test_one_run_has_no_figure_between_runs(suite, tmp_path):
    path, configure = suite
    configure(noise=0.1)
    result = run(path, tmp_path / "a")
    assert result["labels"]["ai"]["agreement"]["between_runs"] is None
    assert "between runs" not in (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
