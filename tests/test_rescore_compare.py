"""Version comparison and prompt diffs, checked against figures computed here from the raw rows."""

from __future__ import annotations

import json
import random
import statistics

import numpy as np
import pytest
from _rescore import annotate, cli_app, edit, ingest_papers, private_prompts, rows, scores
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats as sps
from typer.testing import CliRunner

from annotator.errors import ConfigError, PromptError
from annotator.evaluation.versions import compare_versions
from annotator.prompts.admin import new_version
from annotator.prompts.diff import diff_prompts
from annotator.prompts.schema import OUTPUT_SCHEMAS

MODEL = "fake-model"
N = 30


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for value in np.unique(x):
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Brute force over all pairs."""
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(len(x), k=1)
    dx, dy = dx[iu], dy[iu]
    concordant_minus_discordant = float((dx * dy).sum())
    return concordant_minus_discordant / np.sqrt(float((dx != 0).sum()) * float((dy != 0).sum()))


@pytest.fixture
def two_versions(tmp_path, monkeypatch, engine, db_path, fake_server):
    """score@1 judged by the fake server's defaults; score@2 with scripted samples (K=3)."""
    private_prompts(tmp_path, monkeypatch)
    ids = ingest_papers(engine, tmp_path, N)
    annotate(engine, db_path, fake_server, prompt="score@1", model=MODEL)
    v1 = scores(engine, "score@1")
    edit(new_version("score"), "Judge this paper.", "Judge this paper as a strict reviewer.")
    rng = random.Random(11)
    steps, intended = [], {}
    for pid in sorted(ids):  # concurrency 1: tasks, and so requests, go in paper order
        a1, n1 = v1[pid]
        shift = rng.choice([0, 0, 3, -4, 8, 10, -10, 11, -15, 25, -30])
        ai = min(100, max(0, a1 + shift))
        nov = min(100, max(0, 50 + (n1 - 50) // 2))  # pulled towards 50: many ties
        samples = [(max(0, ai - 2), nov), (ai, nov), (min(100, ai + rng.choice([1, 5])), nov + 1 if nov < 100 else nov)]
        for s_ai, s_nov in samples:
            steps.append(
                {"kind": "judgment", "ai_score": s_ai, "novelty": s_nov, "rationale": f"v2 reading of paper {pid}"}
            )
        intended[pid] = (
            int(round(statistics.median(s[0] for s in samples))),
            int(round(statistics.median(s[1] for s in samples))),
        )
    fake_server.script(steps)
    annotate(engine, db_path, fake_server, prompt="score@2", model=MODEL, samples=3, concurrency=1)
    assert scores(engine, "score@2") == intended  # the script landed where meant
    return ids


def _pairs(engine):
    return rows(
        engine,
        """
        SELECT p.id, p.title, a.ai_score, b.ai_score, a.novelty, b.novelty, a.ai_score_spread,
               b.ai_score_spread, a.novelty_spread, b.novelty_spread, a.rationale, b.rationale
        FROM papers p
        JOIN judgments a ON a.paper_id = p.id JOIN prompt_versions pa ON pa.id = a.prompt_version_id
        JOIN judgments b ON b.paper_id = p.id JOIN prompt_versions pb ON pb.id = b.prompt_version_id
        WHERE pa.version = '1' AND pb.version = '2' ORDER BY p.id""",
    )


def test_compare_figures_match_an_independent_computation(two_versions, engine):
    c = compare_versions(engine, "score@1", "score@2", top=5)
    data = _pairs(engine)
    assert c.n == len(data) == N and c.model == MODEL and (c.only_a, c.only_b) == (0, 0)
    for name, ia, ib, sa, sb in (("ai_score", 2, 3, 6, 7), ("novelty", 4, 5, 8, 9)):
        a = np.array([r[ia] for r in data], float)
        b = np.array([r[ib] for r in data], float)
        d = b - a
        f = c.field(name)
        assert f.n == N
        assert f.mean_a == pytest.approx(a.mean()) and f.mean_b == pytest.approx(b.mean())
        assert f.mean_shift == pytest.approx(d.mean())
        assert f.median_shift == pytest.approx(np.median(d))
        assert f.mean_abs_shift == pytest.approx(np.abs(d).mean())
        assert f.sd_shift == pytest.approx(d.std(ddof=1))
        rho = np.corrcoef(_ranks(a), _ranks(b))[0, 1]
        assert f.spearman == pytest.approx(rho) == pytest.approx(sps.spearmanr(a, b).statistic)
        tau = _kendall_tau_b(a, b)
        assert f.kendall == pytest.approx(tau) == pytest.approx(sps.kendalltau(a, b).statistic)
        assert f.moved == int((np.abs(d) > 10).sum()) and f.share_moved == pytest.approx(np.mean(np.abs(d) > 10))
        spread_b = np.array([r[sb] for r in data], float)
        assert all(r[sa] is None for r in data)  # v1 had one sample per paper
        assert (f.n_spread_a, f.spread_a, f.n_spread_b) == (0, None, N)
        assert f.spread_b == pytest.approx(spread_b.mean())
        assert f.n_noise_checked == N
        assert f.beyond_noise == int((np.abs(d) > 2 * spread_b).sum())
        assert sum(c.histogram[name]["counts"]) == N
    # the data has what the test is about: ties, real movement and movers both ways
    ai = c.field("ai_score")
    assert 0 < ai.moved < N and ai.spearman < 1 and c.field("novelty").spread_b > 0
    assert len(set(r[5] for r in data)) < N  # tied novelty values
    assert any(abs(r[3] - r[2]) == 10 for r in data)  # on the threshold: not "moved"
    # biggest movers: by |d ai_score| + |d novelty|, then paper id
    expected = sorted(data, key=lambda r: (-(abs(r[3] - r[2]) + abs(r[5] - r[4])), r[0]))[:5]
    assert [m.paper_id for m in c.movers] == [r[0] for r in expected]
    top = c.movers[0]
    assert top.title == expected[0][1]
    assert (top.a["rationale"], top.b["rationale"]) == (expected[0][10], expected[0][11])
    assert top.b["rationale"] == f"v2 reading of paper {top.paper_id}"


def test_compare_command_writes_markdown_json_and_png(two_versions, engine, db_path, tmp_path):
    md, js, png = tmp_path / "c.md", tmp_path / "c.json", tmp_path / "c.png"
    result = CliRunner().invoke(
        cli_app(), ["--db", db_path, "compare", "score@1", "2", "--md", str(md), "--json", str(js), "--png", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert "Spearman" in result.output and "biggest movers" in result.output
    c = compare_versions(engine, "score@1", "score@2")
    saved = json.loads(js.read_text())
    assert saved == json.loads(json.dumps(c.to_dict()))
    assert saved["fields"][0]["field"] == "ai_score" and saved["n"] == N
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    text = md.read_text()
    assert "| Spearman rho |" in text and f"{c.field('ai_score').spearman:.3f}" in text
    assert c.movers[0].title in text and c.movers[0].b["rationale"] in text


def test_compare_refuses_what_it_cannot_compare(tmp_path, monkeypatch, engine, db_path, fake_server):
    private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 4)
    for model in ("model-a", "model-b"):
        annotate(engine, db_path, fake_server, prompt="score@1", model=model)
    edit(new_version("score"), "Judge this paper.", "Judge this paper now.")
    with pytest.raises(PromptError, match="no judgments"):
        compare_versions(engine, "score@1", "score@2")
    for model in ("model-a", "model-b"):
        annotate(engine, db_path, fake_server, prompt="score@2", model=model)
    with pytest.raises(ConfigError, match="several models.*--model"):
        compare_versions(engine, "score@1", "score@2")
    c = compare_versions(engine, "score@1", "score@2", model="model-b")
    assert c.n == 4 and c.model == "model-b"
    with pytest.raises(ConfigError, match="no paper was judged by both"):
        compare_versions(engine, "score@1", "score@2", model="model-c")
    result = CliRunner().invoke(cli_app(), ["--db", db_path, "compare", "score@1", "score@9"])
    assert result.exit_code == 4 and "score@9" in result.output


class _Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ai_score: int = Field(ge=0, le=100)
    novelty: int = Field(ge=0, le=100)
    rationale: str
    confidence: float = Field(ge=0, le=1)


def test_prompts_diff_shows_text_params_and_schema(tmp_path, monkeypatch, db_path):
    folder = private_prompts(tmp_path, monkeypatch)
    v2 = new_version("score")
    edit(v2, "Judge this paper.", "Judge this paper carefully.")
    edit(v2, "temperature: 0.0", "temperature: 0.3")
    d = diff_prompts("score@1", "score@2")
    assert d.params == {"temperature": (0.0, 0.3)}
    assert "-Judge this paper.\n" in d.text_diff and "+Judge this paper carefully.\n" in d.text_diff
    assert "-version: 1" in d.text_diff and "+version: 2" in d.text_diff
    assert d.schema_diff == "" and d.output is None and not d.same_requests and not d.identical

    monkeypatch.setitem(OUTPUT_SCHEMAS, "verdict", _Verdict)  # a second output schema
    v3 = new_version("score")
    edit(v3, "output: judgment", "output: verdict")
    d = diff_prompts("score@2", "3")
    assert d.output == ("judgment", "verdict")
    assert '+    "confidence": {' in d.schema_diff and d.params == {} and not d.same_requests

    edit(new_version("score"), "description: AI score", "description: Relabelled. AI score")
    d = diff_prompts("score@3", "score@4")
    assert d.same_requests and d.meta["description"][1].startswith("Relabelled.")

    result = CliRunner().invoke(cli_app(), ["--db", db_path, "prompts", "diff", "score@1", "2"])
    assert result.exit_code == 0, result.output
    assert "+Judge this paper carefully." in result.output and "temperature: 0.0 -> 0.3" in result.output
    result = CliRunner().invoke(cli_app(), ["--db", db_path, "prompts", "diff", "score@1", "score@7"])
    assert result.exit_code == 4
    assert (folder / "score" / "v4.md").exists()


def test_prompts_diff_reads_a_deleted_version_from_the_database(tmp_path, monkeypatch, engine, db_path, fake_server):
    folder = private_prompts(tmp_path, monkeypatch)
    ingest_papers(engine, tmp_path, 2)
    annotate(engine, db_path, fake_server, prompt="score@1", model=MODEL)
    edit(new_version("score"), "Judge this paper.", "Judge it.")
    (folder / "score" / "v1.md").unlink()
    with pytest.raises(PromptError):
        diff_prompts("score@1", "score@2")
    d = diff_prompts("score@1", "score@2", engine=engine)
    assert "-Judge this paper.\n" in d.text_diff and "+Judge it.\n" in d.text_diff
    result = CliRunner().invoke(cli_app(), ["--db", db_path, "prompts", "diff", "score@1", "2"])
    assert result.exit_code == 0 and "(stored text)" in result.output
