"""The method table over runs of two suites: one row per method, one column per suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from annotator.evaluation import evaluate, load_items, load_suite
from annotator.evaluation.method_table import method_table

EVALS = Path(__file__).resolve().parent.parent / "evals"


def _result(suite_name: str, noise: float, name: str):
    suite = load_suite(EVALS / f"{suite_name}.toml").model_copy(update={"sample_size": 60})
    items = load_items(suite)
    rng = np.random.default_rng(len(name))
    lo, hi = suite.ai.scale
    preds = {
        it.id: {
            "ai_score": float(np.clip((it.gold_ai - lo) / (hi - lo) * 100 + rng.normal(0, noise), 0, 100)),
            "novelty": 50.0 + rng.normal(0, 1),
        }
        for it in items
    }
    return evaluate(
        items,
        preds,
        suite=suite,
        n_boot=50,
        baselines=False,
        provenance={"prompt_name": name, "prompt_version": "1", "model": "m"},
    )


def test_two_suites_give_a_column_each_beside_each_other():
    results = [
        _result("iclr2022", 5, "good"),
        _result("iclr2026", 5, "good"),
        _result("iclr2022", 60, "noisy"),
        _result("iclr2026", 60, "noisy"),
    ]
    table = method_table(results)
    cols = table.columns()
    assert table.suites == ["iclr2022", "iclr2026"]
    assert cols.index("spearman_ai iclr2026") == cols.index("spearman_ai iclr2022") + 1
    assert "pairacc_ai iclr2026" in cols and "auroc_ai iclr2022" in cols and "auroc_ai iclr2026" not in cols
    runs = {r.name: r for r in table.rows if r.kind == "run"}
    assert set(runs) == {"good@1 m", "noisy@1 m"}
    for suite in ("iclr2022", "iclr2026"):
        key = f"spearman_ai {suite}"
        assert runs["good@1 m"].metrics[key].value > runs["noisy@1 m"].metrics[key].value
        assert (
            runs["good@1 m"].metrics[key].value == results[0 if suite == "iclr2022" else 1].metric("spearman_ai").value
        )
    ceiling = next(r for r in table.rows if r.kind == "ceiling")
    assert {"spearman_ai iclr2022", "spearman_ai iclr2026", "pairacc_ai iclr2026"} <= set(ceiling.metrics)
    md = table.to_markdown()
    assert "| spearman_ai iclr2022 | spearman_ai iclr2026 |" in md.splitlines()[0]
    assert runs["good@1 m"].n_papers == 120


def test_one_suite_keeps_a_row_per_run():
    results = [_result("iclr2026", 5, "a"), _result("iclr2026", 5, "a")]
    table = method_table(results)
    assert [r.name for r in table.rows if r.kind == "run"] == ["a@1 m", "a@1 m"]
    assert "spearman_ai" in table.columns() and table.suites == []
