"""The model client: one structured judgment per call, validated every time.

``ModelClient.judge`` sends chat messages to any OpenAI-compatible endpoint
and returns a ``JudgeResult``: the validated judgment (or the reason there is
none) plus one ``Attempt`` per HTTP request or cache hit, each with its
tokens, latency and outcome, so nothing spent goes uncounted.

Two loops, kept apart:
- transport retries (tenacity): 429, 5xx, timeouts and dropped connections,
  with exponential backoff and jitter, honouring ``Retry-After`` up to the
  maximum wait; other 4xx are final;
- validation re-asks: a reply that fails pydantic validation is sent back
  with the reason, at most ``max_reasks`` times; after that the call fails
  with the raw text kept, and no score is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

try:  # the TLS defaults and the response class of the HTTP library the openai client is built on
    from httpx2 import Response as RawResponse
    from httpx2 import create_ssl_context
except ImportError:  # openai before 3 builds on httpx
    from httpx import Response as RawResponse  # type: ignore[assignment]
    from httpx import create_ssl_context
from pydantic import BaseModel
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from annotator.errors import ReplayMiss
from annotator.http_retry import retry_after
from annotator.judge.base_url import client_options
from annotator.judge.completion import read_completion
from annotator.judge.grammar import response_format as grammar_response_format
from annotator.judge.prices import cost_usd, estimate_messages_tokens
from annotator.judge.ratelimit import RateLimiter
from annotator.judge.stored_replies import unpack_reply
from annotator.judge.transport import http_client, timed_out
from annotator.prompts.schema import parse_reply, strict_json_schema, validation_feedback
from annotator.settings import current

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
_CONNECTIONS_PER_POOL = 8
_AUTHORISED: openai.RequestOptions = {"security": {"bearer_auth": True}}  # send the API key


@dataclass
class Attempt:
    """One request to the model (or one answer taken from the stored calls)."""

    request_hash: str
    request_json: str
    outcome: str  # ok | invalid | http_error | timeout | connection | cached
    response_text: str | None = None
    error: str | None = None
    status_code: int | None = None
    attempt: int = 1
    reask: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    wait_s: float | None = None  # the wait chosen before retrying (before wait_scale)
    retry_after: float | None = field(default=None, repr=False)  # the server's ask; not stored
    # the reply's tokens with their top log-probabilities, when the request asked for them
    # (OpenAI's ``choices[0].logprobs.content``); stored inside the reply text (stored_replies)
    logprobs: list[dict] | None = field(default=None, repr=False)


@dataclass
class JudgeResult:
    judgment: BaseModel | None
    attempts: list[Attempt] = field(default_factory=list)
    error: str | None = None

    @property
    def prompt_tokens(self) -> int:
        return sum(a.prompt_tokens for a in self.attempts)

    @property
    def completion_tokens(self) -> int:
        return sum(a.completion_tokens for a in self.attempts)

    @property
    def cost_usd(self) -> float:
        return sum(a.cost_usd for a in self.attempts)


class _Transient(Exception):
    """A failed HTTP attempt worth retrying."""

    def __init__(self, attempt: Attempt, retry_after: float | None = None):
        super().__init__(attempt.error)
        self.attempt = attempt
        self.retry_after = retry_after


class _Final(Exception):
    def __init__(self, attempt: Attempt):
        super().__init__(attempt.error)
        self.attempt = attempt


def request_hash(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def response_format_for(mode: str, output_model: type[BaseModel]) -> dict | None:
    schema = strict_json_schema(output_model)
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": output_model.__name__.lower(), "schema": schema, "strict": True},
        }
    if mode == "json_object":
        # llama.cpp-style servers turn "schema" into a grammar; others ignore it
        return {"type": "json_object", "schema": schema}
    if mode == "grammar":
        # llama-cpp-python's server: a schema its grammar compiler really enforces
        return grammar_response_format(schema)
    return None


def build_request_body(
    model: str, mode: str, messages: list[dict], output_model: type[BaseModel], params: dict[str, Any], sample: int = 0
) -> dict:
    """The chat request for one call; its ``request_hash`` is the cache key.

    Keys starting with ``_`` are ours (``_sample`` gives each of K samples its
    own cache identity) and are stripped before sending. The Batch API path
    builds its lines here too, so batch answers serve later synchronous runs.
    """
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update({k: v for k, v in params.items() if v is not None})
    fmt = response_format_for(mode, output_model)
    if fmt is not None:
        body["response_format"] = fmt
    if sample:
        body["_sample"] = sample  # distinct cache identity; stripped before sending
    return body


def sendable(body: dict) -> dict:
    """The body as sent to the server: without our ``_`` keys."""
    return {k: v for k, v in body.items() if not k.startswith("_")}


class ModelClient:
    """Judgments from one model at one OpenAI-compatible endpoint."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_attempts: int = 6,
        max_reasks: int = 2,
        max_wait_s: float = 30.0,
        response_format: str = "auto",
        limiter: RateLimiter | None = None,
        cache_lookup: Callable[[str], str | None] | None = None,
        replay: bool = False,
        max_connections: int = 256,
        transport: str = "auto",
    ):
        self.model = model
        self.base_url = base_url
        self.api_key = api_key  # for the same endpoint's other routes (embeddings)
        self.max_attempts = max_attempts
        self.max_reasks = max_reasks
        self.max_wait_s = max_wait_s
        self.wait_scale = current().retry_wait_scale
        self.mode = "json_schema" if response_format == "auto" else response_format
        self._auto_format = response_format == "auto"
        self.limiter = limiter or RateLimiter()
        self.cache_lookup = cache_lookup
        self.replay = replay
        # above 0: an independent repeat of a run (``eval run --repeats``), its own cache identity
        self.repeat = 0
        # With httpx (the fallback transport), httpcore's pool walks every connection it
        # holds on each request and each response (a poll per idle socket): with hundreds
        # in one pool that walk costs more than the request. Small pools, taken in turn,
        # keep the same total limit at a fraction of the cost; aiohttp is indifferent.
        pools = max(1, math.ceil(max_connections / _CONNECTIONS_PER_POOL))
        per_pool = max(1, max_connections // pools)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        tls = create_ssl_context()  # loading the CA store takes ~50 ms: once, for all pools
        self._clients: list[openai.AsyncOpenAI] = []
        for _ in range(pools):
            # openai 3 builds on httpx2 (and its aiohttp layer), which read the same Limits fields
            http, self.transport = http_client(transport, limits=limits, timeout=timeout_s, verify=tls)
            self._clients.append(
                openai.AsyncOpenAI(
                    **client_options(base_url),
                    api_key=api_key or "not-needed",
                    timeout=timeout_s,
                    max_retries=0,  # retries are ours, so every attempt is counted
                    http_client=http,
                )
            )
        self._turn = itertools.cycle(self._clients)

    async def close(self) -> None:
        for client in self._clients:
            await client.close()

    # -- one request body ------------------------------------------------
    def build_request(
        self, messages: list[dict], output_model: type[BaseModel], params: dict[str, Any], sample: int = 0
    ) -> dict:
        body = build_request_body(self.model, self.mode, messages, output_model, params, sample)
        if self.repeat:
            body["_repeat"] = self.repeat  # stripped before sending, like ``_sample``
        return body

    # -- the public call ---------------------------------------------------
    async def judge(
        self, messages: list[dict], output_model: type[BaseModel], params: dict[str, Any], *, sample: int = 0
    ) -> JudgeResult:
        result = JudgeResult(judgment=None)
        convo = list(messages)
        for reask in range(self.max_reasks + 1):
            attempt = await self._send_with_retries(convo, output_model, params, sample, reask, result)
            if attempt is None:  # transport failed for good
                return result
            try:
                result.judgment = parse_reply(attempt.response_text, output_model)
                if attempt.outcome != "cached":
                    attempt.outcome = "ok"
                return result
            except ValueError as exc:
                reason = str(exc)
                if attempt.error:  # truncation or refusal noted by the transport
                    reason = f"{attempt.error}; {reason}"
                attempt.outcome = "invalid"
                attempt.error = reason
                result.error = f"invalid reply: {reason}"
                convo = convo + [
                    {"role": "assistant", "content": attempt.response_text or ""},
                    {"role": "user", "content": validation_feedback(reason, output_model)},
                ]
        result.error = f"{result.error} (after {self.max_reasks} re-asks)"
        return result

    async def _send_with_retries(
        self, convo, output_model, params, sample, reask, result: JudgeResult
    ) -> Attempt | None:
        while True:
            # the format this body asks for (no await in between): see _fall_back_format
            mode = self.mode
            body = self.build_request(convo, output_model, params, sample)
            h = request_hash(body)
            cached = await self._from_cache(h, body, reask)
            if cached is not None:
                result.attempts.append(cached)
                return cached
            try:
                async for state in AsyncRetrying(
                    stop=stop_after_attempt(self.max_attempts),
                    wait=self._wait,
                    retry=retry_if_exception(lambda e: isinstance(e, _Transient)),
                    reraise=True,
                ):
                    with state:
                        number = state.retry_state.attempt_number
                        attempt = await self._send_once(body, h, number, reask)
                        result.attempts.append(attempt)
                        if attempt.outcome == "sent":
                            return attempt
                        if self._format_rejected(attempt):
                            raise _Final(attempt)
                        if attempt.status_code is not None and attempt.status_code not in RETRYABLE_STATUS:
                            raise _Final(attempt)
                        raise _Transient(attempt, attempt.retry_after)
            except _Final as exc:
                if self._fall_back_format(exc.attempt, mode):
                    continue  # same messages, simpler response_format
                result.error = f"{exc.attempt.outcome}: {exc.attempt.error}"
                return None
            except _Transient as exc:
                result.error = f"{exc.attempt.outcome} after {self.max_attempts} attempts: {exc.attempt.error}"
                return None

    def _format_rejected(self, attempt: Attempt) -> bool:
        """A server that cannot do this response_format (400/422, or 500 from llama-cpp-python)."""
        if not self._auto_format or attempt.status_code not in (400, 422, 500):
            return False
        error = (attempt.error or "").lower()
        return any(word in error for word in ("response_format", "json_schema", "json_object"))

    def _fall_back_format(self, attempt: Attempt, used: str) -> bool:
        """After ``used`` was rejected: True to ask again in the client's (simpler) format.

        Compare-and-set: only a rejection of the client's current format moves it
        one step down. Concurrent requests that were sent with a format already
        given up just ask again with the current one, so how many requests were
        in flight never changes the format chosen.
        """
        order = ["json_schema", "json_object", "none"]
        if not self._format_rejected(attempt) or used not in order or used == "none":
            return False
        if self.mode == used:
            self.mode = order[order.index(used) + 1]
        return order.index(self.mode) > order.index(used)

    async def _from_cache(self, h: str, body: dict, reask: int) -> Attempt | None:
        if self.cache_lookup is None and not self.replay:
            return None
        # a database query: run it off the event loop so other workers keep going
        text = await asyncio.to_thread(self.cache_lookup, h) if self.cache_lookup else None
        if text is None:
            if self.replay:
                raise ReplayMiss(f"--replay: no stored answer for request {h[:12]} (model {self.model})")
            return None
        content, logprobs = unpack_reply(text, body)
        return Attempt(
            request_hash=h,
            request_json=json.dumps(body, ensure_ascii=False),
            outcome="cached",
            response_text=content,
            reask=reask,
            logprobs=logprobs,
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = wait_random_exponential(multiplier=0.5, max=self.max_wait_s)(state)
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            # the server knows best, up to our limit: a worker parked for hours would
            # keep its leases renewed and its tasks out of everyone's reach
            backoff = min(max(exc.retry_after, 0.0), self.max_wait_s)
        if isinstance(exc, _Transient):
            exc.attempt.wait_s = backoff
        return backoff * self.wait_scale

    async def _send_once(self, body: dict, h: str, number: int, reask: int) -> Attempt:
        send = {k: v for k, v in body.items() if not k.startswith("_")}
        request_json = json.dumps(body, ensure_ascii=False)
        attempt = Attempt(request_hash=h, request_json=request_json, outcome="sent", attempt=number, reask=reask)
        await self.limiter.acquire(estimate_messages_tokens(body["messages"]) + int(body.get("max_tokens") or 0))
        started = time.perf_counter()
        try:
            # the body is plain JSON already: post it as is. ``chat.completions.create``
            # would walk it against the SDK's typed params first (about 1.5 ms a request),
            # and a ``ChatCompletion`` built from the reply costs as much again: the few
            # fields used are read from the JSON (the reply itself is validated by pydantic)
            raw = await next(self._turn).post("/chat/completions", body=send, cast_to=RawResponse, options=_AUTHORISED)
        except openai.APITimeoutError as exc:
            if timed_out(exc):
                attempt.outcome, attempt.error = "timeout", f"timed out: {exc}"
            else:
                attempt.outcome, attempt.error = "connection", f"connection failed: {exc.__cause__}"
        except openai.APIConnectionError as exc:
            attempt.outcome, attempt.error = "connection", f"connection failed: {exc}"
        except openai.APIStatusError as exc:
            attempt.outcome, attempt.status_code = "http_error", exc.status_code
            attempt.error = f"HTTP {exc.status_code}: {str(exc)[:300]}"
            attempt.retry_after = retry_after(exc.response)
        else:
            try:
                completion = json.loads(raw.content)
            except ValueError:
                completion = None
            if isinstance(completion, dict):
                self._read_completion(completion, attempt, send)
            else:
                attempt.error = f"the server's reply is not a JSON object: {raw.text[:200]!r}"
        attempt.latency_ms = (time.perf_counter() - started) * 1000
        attempt.cost_usd = cost_usd(self.model, attempt.prompt_tokens, attempt.completion_tokens)
        return attempt

    @staticmethod
    def _read_completion(completion: dict, attempt: Attempt, send: dict) -> None:
        """Fill ``attempt`` from a chat completion as JSON (see ``judge.completion``)."""
        read = read_completion(completion, send)
        attempt.response_text, attempt.logprobs = read.text, read.logprobs
        attempt.prompt_tokens, attempt.completion_tokens = read.prompt_tokens, read.completion_tokens
        attempt.error = read.note
