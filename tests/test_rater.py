"""The fake server's noisy rater: its replies are well-formed and carry the promised signal."""

from __future__ import annotations

import json
import math

import httpx
import openai
import pytest

from annotator.prompts.schema import output_model, strict_json_schema


def _ask(server, title: str, *, scale=(1, 9), top=5, **extra):
    schema = strict_json_schema(output_model("judgment", "last", scale))
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    return client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": f"<paper>\nTitle: {title}\n\nAbstract: x\n</paper>"}],
        response_format={"type": "json_schema", "json_schema": {"name": "j", "schema": schema}},
        logprobs=True,
        top_logprobs=top,
        **extra,
    )


def test_reply_tokens_spell_the_content_and_carry_the_distribution(fake_server):
    fake_server.configure(rater={"labels": {"Good paper": 9.0, "Weak paper": 2.0}, "noise": 0.1})
    for title, low in (("Good paper", 6), ("Weak paper", 1)):
        choice = _ask(fake_server, title).choices[0]
        content = choice.message.content
        tokens = choice.logprobs.content
        assert "".join(t.token for t in tokens) == content
        reply = json.loads(content)
        score = next(t for t in tokens if t.token == str(reply["ai_score"]) and len(t.top_logprobs) > 1)
        values = [int(a.token) for a in score.top_logprobs]
        assert len(values) == 5 and all(low <= v <= low + 3 for v in values[:2])
        probs = [math.exp(a.logprob) for a in score.top_logprobs]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 1e-9


def test_a_reply_without_a_logprob_request_has_none(fake_server):
    fake_server.configure(rater={"labels": {}, "noise": 0.1})
    client = openai.OpenAI(base_url=fake_server.base_url, api_key="sk-test", max_retries=0)
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Title: T"}])
    assert reply.choices[0].logprobs is None
    assert set(json.loads(reply.choices[0].message.content)) == {"ai_score", "novelty", "rationale"}


def test_unknown_rater_keys_are_refused(fake_server):
    response = httpx.post(
        fake_server.base_url.removesuffix("/v1") + "/_fake/config", json={"rater": {"labels": {}, "nosie": 0.1}}
    )
    assert response.status_code == 400 and "nosie" in response.text
    with pytest.raises(ValueError, match="nosie"):
        fake_server.configure(rater={"nosie": 1})
