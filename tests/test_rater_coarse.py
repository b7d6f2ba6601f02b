"""The rater's coarse mode: written scores on a few points, beliefs intact in log-probabilities."""

from __future__ import annotations

import json
import math

import openai
import pytest
from scipy.stats import spearmanr

from annotator.prompts.schema import output_model, strict_json_schema

COARSE = {"coarse": [0.6, 0.7, 0.8], "noise": 0.1, "paper_noise": 0.05}
LABELS = {f"Paper {i}": 1.0 + 9.0 * i / 59 for i in range(60)}


def _ask(server, title: str, scale=(1, 9)):
    schema = strict_json_schema(output_model("judgment", "last", scale))
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    return client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": f"<paper>\nTitle: {title}\n\nAbstract: x\n</paper>"}],
        response_format={"type": "json_schema", "json_schema": {"name": "j", "schema": schema}},
        logprobs=True,
        top_logprobs=20,
    )


def _written_and_expected(server, scale=(1, 9)):
    written, expected = [], []
    for title in LABELS:
        choice = _ask(server, title, scale).choices[0]
        reply = json.loads(choice.message.content)
        written.append(reply["ai_score"])
        token = next(t for t in choice.logprobs.content if t.token == str(reply["ai_score"]))
        probs = {int(a.token): math.exp(a.logprob) for a in token.top_logprobs}
        expected.append(sum(v * p for v, p in probs.items()) / sum(probs.values()))
    return written, expected


def test_written_scores_fall_on_the_coarse_points_and_logprobs_keep_the_belief(fake_server):
    fake_server.configure(rater={"labels": LABELS, **COARSE})
    written, expected = _written_and_expected(fake_server, (0, 100))
    assert set(written) <= {60, 70, 80} and len(set(written)) >= 2
    gold = list(LABELS.values())
    assert spearmanr(expected, gold)[0] > 0.95
    assert spearmanr(expected, gold)[0] > spearmanr(written, gold)[0] + 0.05
    # off: the same rater writes fine-grained scores
    fake_server.configure(rater={"labels": LABELS, "noise": 0.1, "paper_noise": 0.05})
    assert len(set(_written_and_expected(fake_server, (0, 100))[0])) > 10


def test_coarse_points_on_a_small_scale_and_bad_settings(fake_server):
    fake_server.configure(rater={"labels": LABELS, **COARSE})
    written, _ = _written_and_expected(fake_server, (1, 9))
    assert set(written) <= {6, 7}  # 1 + 0.6 * 8 = 5.8 -> 6; 6.6 and 7.4 -> 7
    with pytest.raises(ValueError, match="coarse"):
        fake_server.configure(rater={"labels": LABELS, "coarse": [1.5, 2]})
    with pytest.raises(ValueError, match="coarse_cuts"):
        fake_server.configure(rater={"labels": LABELS, "coarse": [0.2, 0.8], "coarse_cuts": [0.3, 0.6]})
