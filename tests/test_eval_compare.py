"""Paired bootstrap comparison of two runs over the same papers."""

from pathlib import Path

import numpy as np

from annotator.evaluation import compare, compare_predictions, evaluate, load_items, load_suite
from annotator.evaluation.paired import paired_diffs

REPO = Path(__file__).resolve().parents[1]


def noisy(gold, noise, seed):
    rng = np.random.default_rng(seed)
    return np.clip((gold - 1) / 9 * 100 + rng.normal(0, noise, len(gold)), 0, 100)


def test_paired_diffs_verdicts():
    gold = np.random.default_rng(0).uniform(1, 10, 400)
    good, bad = noisy(gold, 5, 1), noisy(gold, 60, 2)
    by = {d.name: d for d in paired_diffs("ai", ["spearman", "mae", "rmse"], bad, good, gold, n_boot=300)}
    assert by["spearman_ai"].verdict == "better" and by["spearman_ai"].diff > 0
    assert by["spearman_ai"].ci_low > 0
    assert by["mae_ai"].verdict == "better" and by["mae_ai"].diff < 0  # lower error is better
    worse = paired_diffs("ai", ["spearman", "mae"], good, bad, gold, n_boot=300)
    assert [d.verdict for d in worse] == ["worse", "worse"]
    same = paired_diffs("ai", ["spearman", "auroc"], good, good, gold, accepted=gold > 5, n_boot=100)
    assert [d.diff for d in same] == [0.0, 0.0]
    assert [d.verdict for d in same] == ["no detectable difference"] * 2


def test_close_runs_show_no_detectable_difference():
    gold = np.random.default_rng(0).uniform(1, 10, 60)
    a, b = noisy(gold, 30, 1), noisy(gold, 30, 2)
    (d,) = paired_diffs("ai", ["spearman"], a, b, gold, n_boot=300)
    assert d.ci_low < 0 < d.ci_high and d.verdict == "no detectable difference"


def test_compare_results_uses_common_papers():
    suite = load_suite(REPO / "tests" / "fixtures" / "eval" / "synthetic.toml")
    items = load_items(suite)
    gold = np.array([it.gold_ai for it in items])
    good = {it.id: {"ai_score": float(v), "novelty": 50.0} for it, v in zip(items, noisy(gold, 3, 1))}
    bad = {it.id: {"ai_score": float(v), "novelty": 50.0} for it, v in zip(items, noisy(gold, 80, 2))}
    del good[items[0].id], good[items[1].id]
    kw = dict(suite=suite, n_boot=50, baselines=False)
    run_a = evaluate(items, bad, provenance={"model": "small"}, **kw)
    run_b = evaluate(items, good, provenance={"model": "big"}, **kw)
    cmp = compare(run_a, run_b, n_boot=300, seed=0)
    assert cmp.baseline == "small" and cmp.candidate == "big"
    assert cmp.n_common["ai"] == 28
    spearman = next(d for d in cmp.diffs if d.name == "spearman_ai")
    assert spearman.verdict == "better" and spearman.n == 28
    assert next(d for d in cmp.diffs if d.name == "spearman_novelty").verdict == "undefined"
    md = cmp.to_markdown()
    assert "| spearman_ai |" in md and "better" in md
    direct = compare_predictions(items, bad, good, suite=suite, n_boot=300, seed=0)
    assert next(d for d in direct.diffs if d.name == "spearman_ai") == spearman
