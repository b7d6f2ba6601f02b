"""The fake OpenAI-compatible server, exercised with the real openai client."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import time

import httpx
import openai
import pytest

from annotator.testing._state import FAULT_KINDS
from annotator.testing.fakeserver import FakeServer, FakeServerProcess

MSG = [
    {"role": "system", "content": "Judge the paper."},
    {"role": "user", "content": "We propose a transformer for protein folding."},
]


@pytest.fixture
def fs():
    with FakeServer() as server:
        yield server


@functools.cache
def _client(base_url: str, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=timeout)


def client(server, timeout: float = 5.0) -> openai.OpenAI:
    """A cached sync client (building one costs ~20 ms)."""
    return _client(server.base_url, timeout)


def ask(server, text: str | None = None, **kw):
    messages = MSG if text is None else [{"role": "user", "content": text}]
    return client(server, kw.pop("timeout", 5.0)).chat.completions.create(model="test-model", messages=messages, **kw)


def test_default_reply_is_valid_and_deterministic(fs):
    first, again = ask(fs), ask(fs)
    data = json.loads(first.choices[0].message.content)
    assert set(data) == {"ai_score", "novelty", "rationale"}
    assert all(isinstance(data[k], int) and 0 <= data[k] <= 100 for k in ("ai_score", "novelty"))
    assert isinstance(data["rationale"], str) and data["rationale"]
    assert again.choices[0].message.content == first.choices[0].message.content
    assert first.choices[0].finish_reason == "stop" and first.model == "test-model"
    usage = first.usage
    assert usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    scores = {json.loads(ask(fs, f"abstract {i}").choices[0].message.content)["ai_score"] for i in range(20)}
    assert len(scores) >= 10 and min(scores) < 40 and max(scores) > 60


def test_models_and_model_name(fs):
    assert [m.id for m in client(fs).models.list()] == ["fake-model"]
    fs.configure(model_name="served")
    assert ask(fs).model == "served"


@pytest.mark.parametrize(
    "step, check",
    [
        (
            {"kind": "judgment", "ai_score": 150, "novelty": "x", "rationale": None},
            lambda c: json.loads(c.message.content) == {"ai_score": 150, "novelty": "x", "rationale": None},
        ),
        ({"kind": "content", "content": "not json at all"}, lambda c: c.message.content == "not json at all"),
        (
            {"kind": "truncated"},
            lambda c: (
                c.finish_reason == "length"
                and c.message.content.startswith('{"ai_score"')
                and not c.message.content.endswith("}")
            ),
        ),
        ({"kind": "refusal"}, lambda c: c.message.content is None and c.message.refusal),
        ({"kind": "empty"}, lambda c: c.message.content == ""),
        (
            {"kind": "fenced"},
            lambda c: (
                "```json" in c.message.content
                and c.message.content.split("```json")[1].split("```")[0].strip().startswith("{")
            ),
        ),
        ({"kind": "missing_field"}, lambda c: "novelty" not in json.loads(c.message.content)),
        ({"kind": "out_of_range"}, lambda c: json.loads(c.message.content)["ai_score"] > 100),
        ({"kind": "wrong_type"}, lambda c: isinstance(json.loads(c.message.content)["ai_score"], str)),
    ],
)
def test_content_steps(fs, step, check):
    fs.script([step])
    assert check(ask(fs).choices[0])
    assert fs.chat_requests()[-1]["applied"] == step["kind"]


@pytest.mark.parametrize(
    "status, exc",
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_status_steps(fs, status, exc):
    fs.script([{"kind": "status", "status": status}])
    with pytest.raises(exc) as info:
        ask(fs)
    assert info.value.status_code == status
    assert info.value.body["message"]


def test_429_with_and_without_retry_after(fs):
    fs.script([{"kind": "status", "status": 429, "retry_after": 1.5}, {"kind": "status", "status": 429}])
    with pytest.raises(openai.RateLimitError) as info:
        ask(fs)
    assert info.value.response.headers["retry-after"] == "1.5"
    with pytest.raises(openai.RateLimitError) as info:
        ask(fs)
    assert "retry-after" not in info.value.response.headers
    ask(fs)  # script exhausted: default behaviour again
    assert [r["status"] for r in fs.chat_requests()] == [429, 429, 200]


def test_hang_times_out_and_drop_disconnects(fs):
    fs.script([{"kind": "hang", "seconds": 5}, {"kind": "drop"}])
    with pytest.raises(openai.APITimeoutError):
        ask(fs, timeout=0.2)
    with pytest.raises(openai.APIConnectionError) as info:
        ask(fs)
    assert not isinstance(info.value, openai.APITimeoutError)
    assert [r["applied"] for r in fs.chat_requests()] == ["hang", "drop"]


def test_delay_and_latency(fs):
    fs.configure(latency_s=0.1)
    fs.script([{"kind": "judgment", "delay_s": 0.2}])
    started = time.monotonic()
    ask(fs)
    assert time.monotonic() - started >= 0.3


def test_rpm_limit_sends_429s(fs):
    fs.configure(rpm=3)
    outcomes = []
    for i in range(5):
        try:
            ask(fs, f"paper {i}")
            outcomes.append(200)
        except openai.RateLimitError as exc:
            retry = int(exc.response.headers["retry-after"])
            assert 1 <= retry <= 60
            outcomes.append(429)
    assert outcomes == [200, 200, 200, 429, 429]
    stats = fs.stats()
    assert stats["rpm_rejected"] == 2 and stats["status_429"] == 2
    assert stats["by_status"] == {"200": 3, "429": 2}


def test_rpm_window_frees_slots(fs):
    fs.configure(rpm=1, rpm_window_s=0.3)
    ask(fs)
    with pytest.raises(openai.RateLimitError):
        ask(fs)
    time.sleep(0.35)
    ask(fs)


def _fault_sequence(seed: int) -> list[str]:
    rates = {"429": 0.2, "500": 0.1, "bad_json": 0.2, "empty": 0.1}
    with FakeServer(fault_rates=rates, seed=seed) as server:
        for i in range(30):
            try:
                ask(server, f"p{i}")
            except openai.APIStatusError:
                pass
        return [r["applied"] for r in server.chat_requests()]


def test_fault_rates_are_seeded():
    first, again, other = _fault_sequence(7), _fault_sequence(7), _fault_sequence(8)
    assert first == again and first != other
    assert {"ok", "429", "bad_json"} <= set(first)


@pytest.mark.parametrize("kind", [k for k in FAULT_KINDS if k not in ("hang", "drop")])
def test_every_fault_kind_answers(fs, kind):
    fs.configure(fault_rates={kind: 1.0})
    try:
        reply = ask(fs).choices[0]
    except openai.APIStatusError as exc:
        assert kind.startswith(str(exc.status_code))
        assert ("retry-after" in exc.response.headers) == (kind == "429")
    else:
        text = reply.message.content
        if kind in ("bad_json", "truncated", "empty", "fenced"):
            with pytest.raises(ValueError):
                json.loads(text)
        elif kind != "refusal":
            json.loads(text)
    assert fs.chat_requests()[-1]["applied"] == kind


def test_reject_json_schema(fs):
    fs.configure(reject_json_schema=True)
    fs.script([{"kind": "content", "content": "scripted"}])
    schema = {"type": "json_schema", "json_schema": {"name": "j", "schema": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError):
        ask(fs, response_format=schema)
    reply = ask(fs, response_format={"type": "json_object"})
    assert reply.choices[0].message.content == "scripted"  # the rejection used no step


def test_requests_are_recorded(fs):
    ask(fs, temperature=0.0)
    fs.stats()
    (rec,) = fs.requests()
    assert rec["method"] == "POST" and rec["path"] == "/v1/chat/completions"
    assert rec["headers"]["authorization"] == "Bearer sk-test"
    assert rec["body"]["messages"] == MSG and rec["body"]["temperature"] == 0.0
    assert rec["status"] == 200 and rec["source"] == "default" and rec["applied"] == "ok"
    assert rec["time"] > 0 and rec["duration_s"] >= 0
    fs.reset()
    assert fs.requests() == [] and fs.stats()["total"] == 0


def test_bad_config_and_steps_are_rejected(fs):
    with pytest.raises(ValueError):
        fs.configure(nonsense=1)
    with pytest.raises(ValueError):
        fs.configure(fault_rates={"429": 0.8, "500": 0.5})
    with pytest.raises(ValueError):
        fs.script([{"kind": "explode"}])
    resp = httpx.post(fs.url + "/_fake/script", json=[{"kind": "nope"}])
    assert resp.status_code == 400


def test_admin_endpoints_over_http(fs):
    assert httpx.post(fs.url + "/_fake/script", json=[{"kind": "empty"}]).json() == {"queued": 1}
    assert httpx.post(fs.url + "/_fake/config", json={"latency_s": 0.0}).json()["latency_s"] == 0.0
    assert ask(fs).choices[0].message.content == ""
    records = httpx.get(fs.url + "/_fake/requests").json()
    assert [r["applied"] for r in records] == ["empty"]
    httpx.post(fs.url + "/_fake/reset")
    assert httpx.get(fs.url + "/_fake/requests").json() == []


def test_concurrent_requests_overlap():
    async def run(server):
        aclient = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        async with aclient:
            replies = await asyncio.gather(
                *[
                    aclient.chat.completions.create(model="m", messages=[{"role": "user", "content": f"abstract {i}"}])
                    for i in range(64)
                ]
            )
        return replies

    with FakeServer(latency_s=0.3) as server:
        replies = asyncio.run(run(server))
        records = server.chat_requests()
    assert len(replies) == 64 and len(records) == 64
    assert all(json.loads(r.choices[0].message.content)["novelty"] <= 100 for r in replies)
    # the server's own record of each request: when it arrived and how long it was handled;
    # a server that answered one request at a time would give intervals that never overlap
    spans = sorted((r["time"], r["time"] + r["duration_s"]) for r in records)
    assert any(later_start < end for (_, end), (later_start, _) in zip(spans, spans[1:]))


def _batch_jsonl(n: int) -> bytes:
    lines = [
        {
            "custom_id": f"paper-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "m", "messages": [{"role": "user", "content": f"abstract {i}"}]},
        }
        for i in range(n)
    ]
    return "\n".join(json.dumps(line) for line in lines).encode()


def test_batch_flow_with_openai_client(fs):
    fs.configure(batch_fail_ids=["paper-3"], batch_polls_to_complete=2)
    fs.script([{"kind": "status", "status": 500}])  # not used by batch lines
    c = client(fs)
    upload = c.files.create(file=("in.jsonl", io.BytesIO(_batch_jsonl(5))), purpose="batch")
    assert c.files.retrieve(upload.id).bytes == len(_batch_jsonl(5))
    batch = c.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "validating"
    assert c.batches.retrieve(batch.id).status == "in_progress"
    done = c.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (5, 4, 1)
    (err,) = [json.loads(line) for line in c.files.content(done.error_file_id).text.splitlines()]
    assert err["custom_id"] == "paper-3" and err["response"] is None and err["error"]["code"]
    assert fs.stats()["script_left"] == 1  # batch lines left the script alone
    with pytest.raises(openai.InternalServerError):
        ask(fs)
    out = [json.loads(line) for line in c.files.content(done.output_file_id).text.splitlines()]
    assert sorted(o["custom_id"] for o in out) == ["paper-0", "paper-1", "paper-2", "paper-4"]
    for o in out:
        assert o["error"] is None and o["response"]["status_code"] == 200
        body = o["response"]["body"]
        i = o["custom_id"].split("-")[1]
        sync_reply = ask(fs, f"abstract {i}").choices[0].message.content
        assert body["choices"][0]["message"]["content"] == sync_reply


def test_batch_fail_rate_is_deterministic(fs):
    fs.configure(batch_fail_rate=0.5)
    c = client(fs)

    def failed_ids():
        upload = c.files.create(file=("in.jsonl", io.BytesIO(_batch_jsonl(40))), purpose="batch")
        batch = c.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        done = c.batches.retrieve(batch.id)
        assert done.status == "completed"
        text = c.files.content(done.error_file_id).text
        return sorted(json.loads(line)["custom_id"] for line in text.splitlines())

    first = failed_ids()
    assert first == failed_ids() and 8 <= len(first) <= 32


def test_async_client(fs):
    async def run():
        async with openai.AsyncOpenAI(base_url=fs.base_url, api_key="k", max_retries=0, timeout=0.2) as aclient:
            fs.script([{"kind": "status", "status": 429, "retry_after": 2}, {"kind": "hang"}])
            with pytest.raises(openai.RateLimitError) as info:
                await aclient.chat.completions.create(model="m", messages=MSG)
            assert info.value.response.headers["retry-after"] == "2"
            with pytest.raises(openai.APITimeoutError):
                await aclient.chat.completions.create(model="m", messages=MSG)
            reply = await aclient.chat.completions.create(model="m", messages=MSG)
            return reply.choices[0].message.content

    assert json.loads(asyncio.run(run()))["ai_score"] in range(101)


def test_subprocess_mode():
    with FakeServerProcess(latency_s=0.0, rpm=100) as proc:
        assert proc.base_url.startswith("http://127.0.0.1:") and proc.port > 0
        assert proc.config()["rpm"] == 100
        proc.script([{"kind": "status", "status": 503}])
        with pytest.raises(openai.InternalServerError):
            ask(proc)
        assert json.loads(ask(proc).choices[0].message.content)["novelty"] in range(101)
        assert [r["status"] for r in proc.chat_requests()] == [503, 200]
        assert proc.stats()["by_status"] == {"503": 1, "200": 1}
        with pytest.raises(ValueError):
            proc.configure(nonsense=True)
        proc.reset()
        assert proc.requests() == []
        child = proc.proc
    assert child.poll() is not None
