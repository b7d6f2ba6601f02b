"""What the judging methods promise, checked against a noisy fake rater with known labels.

These tests check the machinery and the statistics (expected values, averaging,
Bradley-Terry), not any real model's quality. The rater's draws are seeded by the
request and how often it was seen, so each run gives the same numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _methods import (
    PAIR,
    annotate,
    ingest,
    judged,
    labelled_papers,
    prompt_dir,
    prompt_text,
    rater,
    rmse,
    write_jsonl,
)
from scipy.stats import spearmanr
from sqlalchemy import text

from annotator.methods.bradley_terry import Comparison, fit_bradley_terry

N = 60


def _labels(rows):
    return {r["title"]: r["label"] for r in rows}


def _spearman(engine, name, rows, field="ai_score"):
    got = judged(engine, name)
    pairs = [(got[r["title"]][field], r["label"]) for r in rows]
    return spearmanr(*zip(*pairs)).statistic


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expected_beats_one_sampled_score_at_equal_noise(engine, tmp_path, monkeypatch, fake_server, seed):
    rows = labelled_papers(N)
    ingest(engine, tmp_path, rows)
    fake_server.configure(rater=rater(_labels(rows), noise=0.2, paper_noise=0.02, seed=seed))
    prompt_dir(
        tmp_path,
        monkeypatch,
        {
            "sampled/v1.md": prompt_text("sampled", scale={"min": 1, "max": 9}),
            "expected/v1.md": prompt_text("expected", method="expected", scale={"min": 1, "max": 9}),
        },
    )
    for name in ("sampled", "expected"):
        summary = annotate(engine, fake_server, f"{name}@1")
        assert (summary.done, summary.failed, summary.calls) == (N, 0, N)
    sampled, expected = _spearman(engine, "sampled", rows), _spearman(engine, "expected", rows)
    assert expected > sampled + 0.03, (expected, sampled)
    stored = judged(engine, "expected")
    for r in rows:  # the stored score is the rescaled mean of the stored distribution
        got = stored[r["title"]]
        dist = {int(k): p for k, p in got["details"]["distribution"]["ai_score"].items()}
        assert sum(dist.values()) == pytest.approx(1.0)
        mean = sum(v * p for v, p in dist.items())
        assert got["details"]["expected"]["ai_score"] == pytest.approx((mean - 1) / 8 * 100)
        assert got["ai_score"] == int(got["details"]["expected"]["ai_score"] + 0.5)
        assert got["method"] == "expected"


def test_the_mean_of_k_samples_gets_closer_as_k_grows(engine, tmp_path, monkeypatch, fake_server):
    rows = labelled_papers(N)
    ingest(engine, tmp_path, rows)
    fake_server.configure(rater=rater(_labels(rows), noise=0.15, paper_noise=0.0))
    ks = (1, 3, 9)
    prompt_dir(
        tmp_path, monkeypatch, {f"k{k}/v1.md": prompt_text(f"k{k}", samples=k, params={"temperature": 0.7}) for k in ks}
    )
    errors = {}
    for k in ks:
        summary = annotate(engine, fake_server, f"k{k}@1")
        assert (summary.done, summary.calls + summary.cached) == (N, N * k)
        got = judged(engine, f"k{k}")
        # the rater's centre for a paper: its label mapped onto 0-100
        errors[k] = rmse([(got[r["title"]]["ai_score"], (r["label"] - 1) / 9 * 100) for r in rows])
        if k > 1:
            d = got[rows[0]["title"]]["details"]
            values = [s["ai_score"] for s in d["samples"]]
            assert len(values) == k and d["mean"]["ai_score"] == pytest.approx(np.mean(values))
            assert d["median"]["ai_score"] == pytest.approx(np.median(values))
            assert got[rows[0]["title"]]["spread"] == pytest.approx(np.std(values))
    assert errors[9] < errors[3] < errors[1], errors
    # the error of a mean of K falls like 1/sqrt(K): a factor 3 from 1 to 9 (rounding aside)
    assert errors[1] / errors[9] > 2.0, errors


def _pairwise_setup(tmp_path, monkeypatch, fake_server, position_bias: float, n: int = 30):
    judged_rows = labelled_papers(n)
    anchors = labelled_papers(40, start=1000)
    suite_rows = [{**r, "rating_mean": r["label"]} for r in anchors]
    write_jsonl(tmp_path / "anchors.jsonl", suite_rows)
    (tmp_path / "mini.toml").write_text(
        'name = "mini"\ndata = "anchors.jsonl"\nsample_size = 1\nseed = 0\n'
        '[fields]\nid = "id"\ntitle = "title"\nabstract = "abstract"\n'
        '[ai]\ngold = "rating_mean"\nscale = [1, 10]\n',
        encoding="utf-8",
    )
    labels = _labels(judged_rows) | _labels(anchors)
    fake_server.configure(
        rater=rater(labels, noise=0.1, paper_noise=0.0, pair_temperature=0.2, position_bias=position_bias)
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
                anchors={"suite": str(tmp_path / "mini.toml"), "k": 8, "seed": 0},
            )
        },
    )
    return judged_rows


@pytest.mark.parametrize("bias", [0.0, 1.5])
def test_bradley_terry_recovers_the_ranking_and_cancels_position_bias(engine, tmp_path, monkeypatch, fake_server, bias):
    rows = _pairwise_setup(tmp_path, monkeypatch, fake_server, bias)
    ingest(engine, tmp_path, rows)
    summary = annotate(engine, fake_server, "pair@1")
    assert (summary.done, summary.failed, summary.calls) == (len(rows), 0, len(rows) * 16)
    assert _spearman(engine, "pair", rows) > 0.85
    got = judged(engine, "pair")
    first_rate = np.mean([g["details"]["pairwise"]["position_bias"]["first_chosen_rate"] for g in got.values()])
    gamma = np.mean([g["details"]["pairwise"]["position_bias"]["ai_score"] for g in got.values()])
    if bias:  # the rater prefers whatever is shown first, and the fit sees it
        assert first_rate > 0.6 and gamma > 0.5, (first_rate, gamma)
    else:
        assert abs(first_rate - 0.5) < 0.06 and abs(gamma) < 0.3, (first_rate, gamma)
    # every anchor met in both orders
    one = next(iter(got.values()))["details"]["pairwise"]
    assert len(one["anchors"]) == 8 and all(a["n"] == 2 for a in one["anchors"])
    assert one["comparisons"] == 16


def test_position_bias_leaves_the_placement_where_it_was(engine, tmp_path, monkeypatch, fake_server):
    rows = _pairwise_setup(tmp_path, monkeypatch, fake_server, 0.0)
    ingest(engine, tmp_path, rows)
    annotate(engine, fake_server, "pair@1")
    fair = {t: g["ai_score"] for t, g in judged(engine, "pair").items()}
    # the same papers under a new prompt version, with a rater that favours the first paper
    folder = tmp_path / "prompts" / "pair"
    (folder / "v2.md").write_text(
        (folder / "v1.md").read_text().replace("version: 1", "version: 2").replace("Paper A:", "First paper, A:"),
        encoding="utf-8",
    )
    fake_server.configure(rater={**fake_server.config()["rater"], "position_bias": 1.5})
    annotate(engine, fake_server, "pair@2")
    with engine.connect() as conn:
        biased = {
            t: (ai, json.loads(d)["pairwise"])
            for t, ai, d in conn.execute(
                text(
                    "SELECT p.title, j.ai_score, j.details_json FROM judgments j JOIN papers p "
                    "ON p.id = j.paper_id WHERE j.prompt_version = '2'"
                )
            ).all()
        }
    # one order alone would be far off: shown first, a paper wins much more often
    first = sum(b["wins_by_order"]["ai_score"]["paper_first"] for _, b in biased.values())
    second = sum(b["wins_by_order"]["ai_score"]["paper_second"] for _, b in biased.values())
    assert (first - second) / (8 * len(rows)) > 0.2, (first, second)
    # both orders and the fitted order effect: the placement does not move on average
    shift = [biased[t][0] - fair[t] for t in fair]
    assert abs(np.mean(shift)) < 4, np.mean(shift)
    assert spearmanr([fair[t] for t in fair], [biased[t][0] for t in fair]).statistic > 0.8


def test_bradley_terry_fit_recovers_strengths_and_order_effect():
    rng = np.random.default_rng(7)
    n, gamma = 12, 0.8
    true = np.linspace(-2, 2, n)
    comparisons = []
    for _ in range(3000):
        i, j = rng.choice(n, size=2, replace=False)
        p = 1 / (1 + np.exp(-(true[i] - true[j] + gamma)))
        comparisons.append(Comparison(int(i), int(j), bool(rng.random() < p)))
    fit = fit_bradley_terry(n, comparisons, prior_sd=10.0)
    centred = fit.strengths - fit.strengths.mean()
    assert np.max(np.abs(centred - true)) < 0.3
    assert fit.position_bias == pytest.approx(gamma, abs=0.15)
    # a paper that wins every comparison still gets a finite strength (the prior)
    sweep = fit_bradley_terry(2, [Comparison(0, 1, True), Comparison(1, 0, False)] * 5)
    assert np.isfinite(sweep.strengths).all() and sweep.strengths[0] > sweep.strengths[1]


def test_pinned_anchors_place_a_paper_between_them():
    anchors = {1: -1.0, 2: 0.0, 3: 1.0}
    # the paper (item 0) beats the two lower anchors and loses to the top one, in both orders
    comps = []
    for a, won in ((1, True), (2, True), (3, False)):
        comps += [Comparison(0, a, won), Comparison(a, 0, not won)] * 3
    fit = fit_bradley_terry(4, comps, fixed=anchors)
    assert 0.0 < fit.strengths[0] < 1.0 and abs(fit.position_bias) < 0.1
    assert [fit.strengths[i] for i in (1, 2, 3)] == [-1.0, 0.0, 1.0]


def test_judgments_record_method_and_provenance(engine, tmp_path, monkeypatch, fake_server):
    rows = labelled_papers(6)
    ingest(engine, tmp_path, rows)
    fake_server.configure(rater=rater(_labels(rows)))
    prompt_dir(tmp_path, monkeypatch, {"k3/v1.md": prompt_text("k3", samples=3)})
    annotate(engine, fake_server, "k3@1")
    with engine.connect() as conn:
        params, method, code = conn.execute(
            text("SELECT params_json, method, code_version FROM judgments LIMIT 1")
        ).one()
    assert method == "direct" and code
    assert json.loads(params)["samples"] == 3 and json.loads(params)["method"] == "direct"
