"""Pairwise anchors in ``eval run``: an anchor is never among the papers a report scores,
for any sample size or suite, and the report names the anchors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _methods import PAIR, labelled_papers, prompt_dir, prompt_text, rater, write_jsonl
from typer.testing import CliRunner

from annotator.cli import app
from annotator.methods.anchors import load_anchors
from annotator.prompts.files import AnchorSpec

N = 24
K = 4


def suite_file(folder: Path, name: str, sample_size: int) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\ndata = "papers.jsonl"\nsample_size = {sample_size}\nseed = 0\n'
        '[fields]\nid = "id"\ntitle = "title"\nabstract = "abstract"\n'
        '[ai]\ngold = "rating_mean"\nscale = [1, 10]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def setup(tmp_path, monkeypatch, fake_server, db_path):
    rows = labelled_papers(N)
    write_jsonl(tmp_path / "papers.jsonl", [{**r, "rating_mean": r["label"]} for r in rows])
    anchor_suite = suite_file(tmp_path, "mini", 6)
    fake_server.configure(
        rater=rater({r["title"]: r["label"] for r in rows}, noise=0.1, paper_noise=0.0, pair_temperature=0.2)
    )
    prompt_dir(
        tmp_path,
        monkeypatch,
        {
            "pair/v1.md": prompt_text(
                "pair",
                body=PAIR,
                method="pairwise",
                output="pairwise",
                variables=["title_a", "abstract_a", "title_b", "abstract_b"],
                anchors={"suite": str(anchor_suite), "k": K, "seed": 0},
            )
        },
    )
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    anchors = load_anchors(AnchorSpec(suite=str(anchor_suite), k=K, seed=0)).anchors
    return tmp_path, anchor_suite, sorted(a.id for a in anchors)


def run(suite: Path, out: Path, *args: str) -> dict:
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "run",
            str(suite),
            "--prompt",
            "pair@1",
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


@pytest.mark.parametrize("sample_size", [None, "12", str(N)])
def test_anchors_are_never_scored_whatever_the_sample_size(setup, sample_size):
    folder, suite, anchor_ids = setup
    args = ["--sample-size", sample_size] if sample_size else []
    result = run(suite, folder / f"report-{sample_size}", *args)
    scored = {p["id"] for p in result["papers"]}
    assert scored and not scored & set(anchor_ids)
    wanted = int(sample_size) if sample_size else 6
    assert len(scored) == min(wanted, N - K)  # the sample is drawn from the papers left
    assert sorted(result["anchors"]["ids"]) == anchor_ids
    assert result["anchors"]["suite"] == str(suite)
    markdown = (folder / f"report-{sample_size}" / "report.md").read_text(encoding="utf-8")
    assert "anchor" in markdown.lower() and all(a in markdown for a in anchor_ids)


def test_anchors_of_one_suite_are_left_out_of_another_suite_with_the_same_papers(setup):
    folder, _, anchor_ids = setup
    other = suite_file(folder, "copy", N)  # the same papers under another suite name
    result = run(other, folder / "report-copy")
    scored = {p["id"] for p in result["papers"]}
    assert len(scored) == N - K and not scored & set(anchor_ids)
    assert sorted(result["anchors"]["ids"]) == anchor_ids


def test_anchors_are_matched_by_text_as_well_as_id(setup, tmp_path):
    folder, _, anchor_ids = setup
    rows = [json.loads(line) for line in (folder / "papers.jsonl").read_text().splitlines()]
    renamed = folder / "renamed"
    renamed.mkdir()
    write_jsonl(renamed / "papers.jsonl", [{**r, "id": "x-" + r["id"]} for r in rows])
    result = run(suite_file(renamed, "renamed", N), folder / "report-renamed")
    assert {p["id"] for p in result["papers"]}.isdisjoint({"x-" + a for a in anchor_ids})
    assert len(result["papers"]) == N - K
