"""The ICLR 2026 suite end to end against the fake rater: no decisions, agreement figures."""

from __future__ import annotations

import json
from pathlib import Path

from _methods import prompt_dir, prompt_text

from annotator.evalrun.run import EvalRunOptions, run_eval
from annotator.settings import get_settings

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "evals" / "iclr2026.toml"


def _rater(fake_server, **cfg):
    fake_server.configure(
        rater={
            "labels_path": str(REPO / "evals" / "data" / "iclr2026_sample.jsonl"),
            "label_field": "rating_mean",
            "label_scale": [0, 10],
            "novelty_field": "contribution_mean",
            "novelty_scale": [1, 4],
            "noise": 0.2,
            "paper_noise": 0.1,
            **cfg,
        }
    )


def test_iclr2026_report_says_why_there_is_no_auroc_and_gives_agreement(engine, tmp_path, monkeypatch, fake_server):
    prompt_dir(
        tmp_path,
        monkeypatch,
        {
            "direct/v1.md": prompt_text("direct"),
            "sampled/v1.md": prompt_text("sampled", samples=3, params={"temperature": 0.7}),
        },
    )
    _rater(fake_server)
    settings = get_settings(base_url=fake_server.base_url, api_key="sk-test", timeout_s=10.0)
    out = {}
    for name in ("direct", "sampled"):
        run = run_eval(
            engine,
            settings,
            str(SUITE),
            EvalRunOptions(
                prompt=f"{name}@1",
                model="gpt-4o-mini",
                n_boot=100,
                plots=False,
                sample_size=40,
                out_dir=str(tmp_path / name),
            ),
        )
        assert run.summary.failed == 0
        out[name] = (
            json.loads((tmp_path / name / "result.json").read_text()),
            (tmp_path / name / "report.md").read_text(),
        )

    data, md = out["direct"]
    assert data["suite"] == "iclr2026"
    assert not any("auroc" in lab["metrics"] for lab in data["labels"].values())
    assert any(n.startswith("No accept/reject metrics (AUROC)") and "decision" in n for n in data["notes"])
    metrics_section = md.split("### Agreement")[0]
    assert "No accept/reject metrics (AUROC)" in metrics_section  # visible, not only under Methods
    for label in ("ai", "novelty"):
        agreement = data["labels"][label]["agreement"]
        for figure in ("pairwise_accuracy", "alpha"):
            judge, human = agreement[figure]["judge"], agreement[figure]["human"]
            assert judge["value"] is not None and human["value"] is not None
            assert judge["ci_low"] <= judge["value"] <= judge["ci_high"]
        assert agreement["run_to_run"] is None  # one reply per paper
    assert data["labels"]["ai"]["agreement"]["margin"] == 1.0  # a tenth of 0-10
    assert "### Agreement as reviewers measure it" in md
    assert "| ai | pairwise accuracy (gold differs by ≥ 1) |" in md
    assert "Krippendorff's alpha (interval)" in md and "Run to run: not measured" in md
    # the rater knows the labels: it orders papers better than a coin
    assert data["labels"]["ai"]["agreement"]["pairwise_accuracy"]["judge"]["value"] > 0.6

    data, md = out["sampled"]
    runs = data["labels"]["ai"]["agreement"]["run_to_run"]
    assert runs["judge"]["value"] > 0 and runs["human"]["value"] > 0
    assert "run to run: mean abs. difference" in md
