"""The model client against the fake server: retries, re-asks, formats, accounting."""

from __future__ import annotations

import asyncio
import time

import pytest

from annotator.errors import ReplayMiss
from annotator.judge.client import ModelClient
from annotator.prompts.schema import JudgmentReply

MESSAGES = [{"role": "system", "content": "judge"}, {"role": "user", "content": "Title: A\n\nAbstract: something new"}]
PARAMS = {"temperature": 0.0, "max_tokens": 200}


def judge(server, messages=MESSAGES, **kwargs):
    kwargs.setdefault("max_attempts", 4)
    kwargs.setdefault("max_reasks", 2)
    client = ModelClient(model="fake", base_url=server.base_url, api_key="k", timeout_s=2.0, **kwargs)

    async def go():
        try:
            return await client.judge(messages, JudgmentReply, PARAMS)
        finally:
            await client.close()

    return asyncio.run(go()), client


def test_valid_reply_is_parsed_and_counted(fake_server):
    result, _ = judge(fake_server)
    assert isinstance(result.judgment, JudgmentReply)
    assert [a.outcome for a in result.attempts] == ["ok"]
    sent = fake_server.chat_requests()
    assert len(sent) == 1
    assert sent[0]["body"]["response_format"]["type"] == "json_schema"
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


def test_429_with_retry_after_is_retried_and_honoured(fake_server, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_RETRY_WAIT_SCALE", "1")
    fake_server.script([{"kind": "status", "status": 429, "retry_after": 0.4}])
    started = time.perf_counter()
    result, _ = judge(fake_server)
    assert time.perf_counter() - started >= 0.4
    assert result.judgment is not None
    assert [(a.outcome, a.status_code, a.attempt) for a in result.attempts] == [("http_error", 429, 1), ("ok", None, 2)]


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_5xx_timeouts_and_drops_are_retried(fake_server, transport):
    """Both HTTP libraries under the openai client tell a timeout from a dropped connection
    (the SDK's aiohttp layer reports both as a timeout; judge.transport reads the cause)."""
    fake_server.script(
        [
            {"kind": "status", "status": 500},
            {"kind": "status", "status": 503},
            {"kind": "hang", "seconds": 5},
            {"kind": "drop"},
        ]
    )
    result, client = judge(fake_server, max_attempts=5, transport=transport)
    assert client.transport == transport
    assert result.judgment is not None
    assert [a.outcome for a in result.attempts] == ["http_error", "http_error", "timeout", "connection", "ok"]


def test_retries_stop_at_the_bound(fake_server):
    fake_server.script([{"kind": "status", "status": 500}] * 10)
    result, _ = judge(fake_server, max_attempts=3)
    assert result.judgment is None
    assert len(result.attempts) == 3
    assert "after 3 attempts" in result.error


def test_other_4xx_is_not_retried(fake_server):
    fake_server.script([{"kind": "status", "status": 401}])
    result, _ = judge(fake_server, response_format="json_schema")
    assert result.judgment is None
    assert len(result.attempts) == 1 and result.attempts[0].status_code == 401


def test_invalid_reply_is_sent_back_and_fixed(fake_server):
    fake_server.script([{"kind": "judgment", "ai_score": 140, "novelty": 20, "rationale": "x"}])
    result, _ = judge(fake_server)
    assert result.judgment is not None
    assert [a.outcome for a in result.attempts] == ["invalid", "ok"]
    assert "ai_score" in result.attempts[0].error
    second = fake_server.chat_requests()[1]["body"]["messages"]
    assert second[-2]["role"] == "assistant" and "140" in second[-2]["content"]
    assert "rejected" in second[-1]["content"]


def test_reply_that_never_validates_fails_with_raw_text(fake_server):
    fake_server.script([{"kind": "content", "content": "I think it is good."}] * 3)
    result, _ = judge(fake_server, max_reasks=2)
    assert result.judgment is None
    assert len(result.attempts) == 3
    assert all(a.outcome == "invalid" for a in result.attempts)
    assert result.attempts[-1].response_text == "I think it is good."
    assert "after 2 re-asks" in result.error


@pytest.mark.parametrize("kind", ["truncated", "refusal", "empty", "fenced"])
def test_awkward_replies(fake_server, kind):
    fake_server.script([{"kind": kind}])
    result, _ = judge(fake_server)
    assert result.judgment is not None  # fenced parses; the others are fixed by a re-ask
    expected = ["ok"] if kind == "fenced" else ["invalid", "ok"]
    assert [a.outcome for a in result.attempts] == expected


def test_falls_back_to_json_object_when_schema_is_rejected(fake_server):
    fake_server.configure(reject_json_schema=True)
    result, client = judge(fake_server)
    assert result.judgment is not None
    kinds = [r["body"]["response_format"]["type"] for r in fake_server.chat_requests()]
    assert kinds == ["json_schema", "json_object"]
    assert client.mode == "json_object"


def test_cache_answers_identical_requests_and_replay_misses_fail(fake_server):
    first, _ = judge(fake_server)
    store = {first.attempts[0].request_hash: first.attempts[0].response_text}
    again, _ = judge(fake_server, cache_lookup=store.get)
    assert again.attempts[0].outcome == "cached"
    assert again.judgment == first.judgment
    assert len(fake_server.chat_requests()) == 1
    other = [MESSAGES[0], {"role": "user", "content": "a different abstract"}]
    with pytest.raises(ReplayMiss):
        judge(fake_server, messages=other, cache_lookup=store.get, replay=True)
    assert len(fake_server.chat_requests()) == 1


def test_an_unknown_transport_is_refused_by_name(fake_server):
    from annotator.errors import ConfigError

    with pytest.raises(ConfigError, match="ANNOTATOR_HTTP_TRANSPORT: 'curl'"):
        ModelClient(model="fake", base_url=fake_server.base_url, transport="curl")


def test_the_default_transport_is_aiohttp_and_the_setting_reaches_the_client(monkeypatch):
    from annotator.judge.endpoint import Endpoint, model_client
    from annotator.settings import get_settings

    assert model_client(get_settings(), Endpoint("http://127.0.0.1:9", "k", "m")).transport == "aiohttp"
    monkeypatch.setenv("ANNOTATOR_HTTP_TRANSPORT", "httpx")
    assert model_client(get_settings(), Endpoint("http://127.0.0.1:9", "k", "m")).transport == "httpx"
