"""``eval compare`` over N runs: one table of agreement, failures, calls, tokens and cost."""

from __future__ import annotations

import json
from pathlib import Path

from _methods import PAIR, prompt_dir, prompt_text, rows
from typer.testing import CliRunner

from annotator import cli
from annotator.evalrun.run import EvalRunOptions, run_eval
from annotator.settings import get_settings

SUITE = Path(__file__).resolve().parent / "fixtures" / "eval" / "synthetic.toml"
PROMPTS = {
    "direct/v1.md": prompt_text("direct"),
    "sampled/v1.md": prompt_text("sampled", samples=3, params={"temperature": 0.7}),
    "expected/v1.md": prompt_text("expected", method="expected"),
    "pair/v1.md": prompt_text(
        "pair",
        body=PAIR,
        method="pairwise",
        output="pairwise",
        variables=["title_a", "abstract_a", "title_b", "abstract_b"],
        anchors={"suite": str(SUITE), "k": 4, "seed": 0},
    ),
}


def test_compare_four_methods_in_one_table(engine, db_path, tmp_path, monkeypatch, fake_server):
    prompt_dir(tmp_path, monkeypatch, PROMPTS)
    fake_server.configure(
        rater={
            "labels_path": str(SUITE.parent / "synthetic.jsonl"),
            "label_field": "rating_mean",
            "label_scale": [1, 10],
            "novelty_field": "novelty_or_contribution_mean",
            "novelty_scale": [1, 4],
            "noise": 0.15,
        }
    )
    settings = get_settings(base_url=fake_server.base_url, api_key="sk-test", timeout_s=10.0)
    results = []
    for name in ("direct", "sampled", "expected", "pair"):
        out = tmp_path / name
        run = run_eval(
            engine,
            settings,
            str(SUITE),
            EvalRunOptions(prompt=f"{name}@1", model="gpt-4o-mini", n_boot=200, plots=False, out_dir=str(out)),
        )
        assert run.summary.failed == 0
        results.append(str(out / "result.json"))

    invoke = CliRunner().invoke
    shown = invoke(
        cli.app,
        ["--db", db_path, "eval", "compare", *results, "--n-boot", "200", "--price-model", "gpt-4o-mini"],
        catch_exceptions=False,
    )
    assert shown.exit_code == 0, shown.output
    lines = {line.split("|")[1].strip(): line for line in shown.stdout.splitlines() if line.startswith("| ")}
    assert {
        "direct@1 gpt-4o-mini",
        "sampled@1 gpt-4o-mini",
        "expected@1 gpt-4o-mini",
        "pair@1 gpt-4o-mini",
        "human ceiling (one reviewer vs the rest)",
        "baseline: tfidf_ridge",
    } <= set(lines)
    assert "| direct x3 |" in lines["sampled@1 gpt-4o-mini"]
    assert "| pairwise |" in lines["pair@1 gpt-4o-mini"]

    data = json.loads(
        invoke(cli.app, ["--db", db_path, "eval", "compare", *results, "--json", "-"], catch_exceptions=False).stdout
    )
    runs = {r["name"].split("@")[0]: r for r in data["rows"] if r["kind"] == "run"}
    per_paper = {k: r["usage"]["calls"] / r["usage"]["papers"] for k, r in runs.items()}
    assert per_paper == {"direct": 1, "sampled": 3, "expected": 1, "pair": 8}
    # the figures are the stored calls of each prompt version on the suite's papers
    for name, r in runs.items():
        ((calls, tokens, cost),) = rows(
            engine,
            (
                "SELECT COUNT(*), SUM(c.prompt_tokens + c.completion_tokens), SUM(c.cost_usd) "
                "FROM llm_calls c JOIN prompt_versions pv ON pv.id = c.prompt_version_id "
                "WHERE pv.name = :n AND c.outcome != 'cached'"
            ),
            n=name,
        )
        u = r["usage"]
        assert (u["calls"], u["prompt_tokens"] + u["completion_tokens"]) == (calls, tokens)
        assert u["cost_usd"] == (cost or 0) or abs(u["cost_usd"] - cost) < 1e-9
        assert r["metrics"]["spearman_ai"]["ci_low"] <= r["metrics"]["spearman_ai"]["value"]
    # the averaged and expected methods agree better with the gold labels than one sample
    sp = {k: r["metrics"]["spearman_ai"]["value"] for k, r in runs.items()}
    assert sp["expected"] > sp["direct"] and sp["sampled"] > sp["direct"]
