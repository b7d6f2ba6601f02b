"""``expected`` against the real embedded llama.cpp model: the score token is found by a
real tokenizer's reply and its top log-probabilities give a distribution (slow)."""

from __future__ import annotations

import importlib.util
import json

import pytest
from _local import needs_local
from _methods import ingest, prompt_dir, prompt_text
from sqlalchemy import text

from annotator.judge.local_model import MODEL_NAME, LocalModelServer


def _run(engine, url: str, prompt: str):
    from annotator.jobs.annotate import AnnotateOptions, annotate
    from annotator.settings import get_settings

    settings = get_settings(base_url=url, api_key="local", timeout_s=300.0)
    # "grammar": the schema as llama.cpp's grammar compiler can take it (as for the embedded model)
    return annotate(
        engine, settings, AnnotateOptions(prompt=prompt, model=MODEL_NAME, concurrency=1, response_format="grammar")
    )


@pytest.mark.slow
@needs_local
def test_expected_scores_from_a_real_tokenizer(engine, tmp_path, monkeypatch):
    rows = [
        {"id": f"r{i}", "title": title, "abstract": abstract}
        for i, (title, abstract) in enumerate(
            [
                (
                    "Pruning Attention Heads in Code Models",
                    "We show that half of the attention heads in a 1B-parameter code model can be removed "
                    "after training with less than one point of loss in pass@1 on two code benchmarks.",
                ),
                (
                    "Soil Moisture Forecasting with Weather Radar",
                    "We combine weather radar rainfall estimates with a recurrent network to forecast soil "
                    "moisture three days ahead at 400 field stations, reducing error by 18 percent.",
                ),
            ]
        )
    ]
    ingest(engine, tmp_path, rows)
    prompt_dir(
        tmp_path,
        monkeypatch,
        {
            "exp/v1.md": prompt_text(
                "exp", method="expected", scale={"min": 1, "max": 9}, params={"temperature": 0.0, "max_tokens": 120}
            )
        },
    )
    # no endpoint configured: annotate starts the embedded server itself, keeping the logits
    # that log-probabilities need because the prompt's method is expected
    from annotator.jobs.annotate import AnnotateOptions, annotate
    from annotator.settings import get_settings

    summary = annotate(engine, get_settings(timeout_s=300.0), AnnotateOptions(prompt="exp@1", concurrency=1))
    assert (summary.done, summary.failed) == (2, 0), summary.failures
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT ai_score, novelty, method, details_json FROM judgments")).all()
        replies = [r for (r,) in conn.execute(text("SELECT response_text FROM llm_calls WHERE outcome = 'ok'"))]
    for ai, nov, method, details_json in stored:
        details = json.loads(details_json)
        assert method == "expected"
        for field, score in (("ai_score", ai), ("novelty", nov)):
            dist = {int(k): p for k, p in details["distribution"][field].items()}
            assert set(dist) <= set(range(1, 10)) and sum(dist.values()) == pytest.approx(1.0)
            mean = sum(v * p for v, p in dist.items())
            assert details["expected"][field] == pytest.approx((mean - 1) / 8 * 100)
            assert score == int(details["expected"][field] + 0.5)
    # the stored replies keep the tokens and their alternatives, so the cache can serve them
    assert all(json.loads(r)["logprobs"] for r in replies)


@pytest.mark.slow
@needs_local
def test_a_server_without_logprobs_fails_with_the_fallback(engine, tmp_path, monkeypatch):
    ingest(engine, tmp_path, [{"id": "r0", "title": "A Small Study", "abstract": "We study a thing."}])
    prompt_dir(tmp_path, monkeypatch, {"exp/v1.md": prompt_text("exp", method="expected", params={"max_tokens": 80})})
    with LocalModelServer() as server:  # as shipped: logits for the last token only
        summary = _run(engine, server.base_url, "exp@1")
    assert summary.failed == 1
    assert "log-probabilities" in summary.failures[0] and "samples" in summary.failures[0]
