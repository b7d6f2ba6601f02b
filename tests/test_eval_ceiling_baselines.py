"""Human ceiling and baselines: synthetic checks, and the real ICLR 2022 file."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from annotator.evaluation import human_ceiling, load_suite, tfidf_ridge_oof
from annotator.evaluation.baselines import constant_baseline, make_vectorizer
from annotator.evaluation.ceiling import reviewer_draws
from annotator.evaluation.items import load_items

REPO = Path(__file__).resolve().parents[1]


def test_reviewer_draws_leave_one_out():
    lists = [[1, 2, 3], [4, 4], [7], [2, 6, 8, 10]]
    single, rest = reviewer_draws(lists, 50, np.random.default_rng(0))
    assert single.shape == rest.shape == (50, 3)  # the one-reviewer paper is left out
    for col, rl in enumerate([[1, 2, 3], [4, 4], [2, 6, 8, 10]]):
        assert set(single[:, col]) <= set(rl)
        assert np.allclose(rest[:, col], (sum(rl) - single[:, col]) / (len(rl) - 1))
    assert len(set(single[:, 2])) > 1  # the pick varies between draws


def test_ceiling_is_mean_of_per_draw_spearman():
    rng = np.random.default_rng(1)
    quality = rng.normal(size=200)
    lists = [list(np.round(q + rng.normal(0, 1, rng.integers(2, 6)), 1)) for q in quality]
    res = human_ceiling(lists, n_draws=7, n_boot=200, seed=3)
    single, rest = reviewer_draws(lists, 7, np.random.default_rng(3))
    expected = np.mean([sps.spearmanr(single[d], rest[d]).statistic for d in range(7)])
    assert res.spearman.value == pytest.approx(expected)
    assert res.spearman.ci_low < res.spearman.value < res.spearman.ci_high
    assert res.n_papers == 200 and res.n_draws == 7
    assert human_ceiling(lists, n_draws=7, n_boot=200, seed=3) == res


def test_ceiling_perfect_agreement_and_undefined():
    lists = [[q, q, q] for q in range(1, 11)]
    assert human_ceiling(lists, n_boot=50).spearman.value == pytest.approx(1.0)
    few = human_ceiling([[1, 2], [3], [4]], n_boot=10)
    assert few.spearman.value is None and "need 3" in few.spearman.note


def test_tfidf_oof_equals_sklearn_cross_val_predict():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(vocab, 30)) for _ in range(60)]
    y = np.array([t.count("w1 ") + rng.normal() for t in texts])
    ours = tfidf_ridge_oof(texts, {"y": y}, seed=4)["y"]
    ref = cross_val_predict(
        make_pipeline(make_vectorizer(), Ridge(alpha=1.0)), texts, y, cv=KFold(5, shuffle=True, random_state=4)
    )
    assert np.allclose(ours, ref)
    partial = tfidf_ridge_oof(texts, {"y": [None if i % 3 == 0 else v for i, v in enumerate(y)]})
    assert np.all(np.isfinite(partial["y"]))  # unlabelled papers still get a prediction
    with pytest.raises(ValueError, match="at least 10"):
        tfidf_ridge_oof(texts[:9], {"y": y[:9]})


def test_constant_baseline():
    gold = np.array([1.0, 2.0, 4.0, 8.0])
    res = constant_baseline(gold, accepted=[True, False, True, False], n_boot=50)
    assert res.metrics["spearman"].value is None
    assert "constant predictions" in res.metrics["spearman"].note
    assert res.metrics["mae"].value == pytest.approx(np.mean(np.abs(gold - gold.mean())))
    assert res.metrics["rmse"].value == pytest.approx(gold.std())
    assert res.metrics["auroc"].value == 0.5 and res.metrics["qwk"].value == 0.0


# --- the real ICLR 2022 file, shipped in evals/data ---------------------------------------


@pytest.fixture(scope="module")
def iclr2022():
    return load_items(load_suite(REPO / "evals" / "iclr2022.toml"), sample=False)


def test_human_ceiling_on_iclr2022(iclr2022):
    assert len(iclr2022) == 1500
    rating = human_ceiling([it.ai_reviewers for it in iclr2022], n_boot=100, seed=0)
    novelty = human_ceiling([it.novelty_reviewers for it in iclr2022], n_boot=100, seed=0)
    # expected about 0.49 and 0.28; sampling error (s.e.) is about 0.02 on 1,500 papers
    assert rating.spearman.value == pytest.approx(0.49, abs=0.04)
    assert novelty.spearman.value == pytest.approx(0.28, abs=0.04)
    assert rating.spearman.ci_low < 0.49 < rating.spearman.ci_high


def test_tfidf_baseline_on_iclr2022(iclr2022):
    oof = tfidf_ridge_oof(
        [it.text for it in iclr2022],
        {"ai": [it.gold_ai for it in iclr2022], "novelty": [it.gold_novelty for it in iclr2022]},
        seed=0,
    )
    rho_ai = sps.spearmanr(oof["ai"], [it.gold_ai for it in iclr2022]).statistic
    rho_nov = sps.spearmanr(oof["novelty"], [it.gold_novelty for it in iclr2022]).statistic
    # expected about 0.18 and 0.12 (s.e. about 0.025, plus fold-split variation)
    assert rho_ai == pytest.approx(0.18, abs=0.05)
    assert rho_nov == pytest.approx(0.12, abs=0.05)


def test_eval_baselines_command_on_fixture():
    from typer.testing import CliRunner

    from annotator.cli import app

    suite = str(REPO / "tests" / "fixtures" / "eval" / "synthetic.toml")
    out = CliRunner().invoke(app, ["eval", "baselines", suite, "--sample", "--n-boot", "50"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "synthetic: 30 papers" in out.stdout and "human ceiling Spearman" in out.stdout
    assert "TF-IDF + ridge Spearman" in out.stdout
    as_json = CliRunner().invoke(
        app, ["eval", "baselines", suite, "--sample", "--n-boot", "50", "--json"], catch_exceptions=False
    )
    data = json.loads(as_json.stdout)
    assert data["suite"] == "synthetic" and data["n_papers"] == 30
    ai = data["labels"]["ai"]
    assert set(ai) == {"gold_field", "n", "tfidf_ridge", "human_ceiling"}
    assert set(ai["tfidf_ridge"]) == {"spearman", "kendall", "pearson"}
    assert ai["human_ceiling"]["spearman"]["n"] == ai["human_ceiling"]["n_papers"]
    assert "human_ceiling" not in data["labels"]["citations"]  # no per-reviewer scores
