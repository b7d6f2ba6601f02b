"""Which model endpoint to talk to, and the clients for it: set up in one place.

A configured OpenAI-compatible URL (``OPENAI_BASE_URL``), OpenAI itself when
only a key is set, or else the embedded local model, started here and
stopped when the ``endpoint`` block ends. The ``text-head`` method needs no
model at all: its runs get :data:`TEXT_MODEL` and nothing is started.

Which prompt version judges when none is named is decided by the prompt resolver
(``annotator.prompts.resolve``), not here. ``model_client`` builds the async
judging client from the settings; ``files_client`` the synchronous client the
Batch API path uploads and downloads with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import openai

from annotator.errors import ConfigError
from annotator.judge.base_url import client_options
from annotator.judge.client import ModelClient
from annotator.judge.local_model import MODEL_NAME, LocalModelServer
from annotator.judge.ratelimit import RateLimiter
from annotator.redact import is_redacted
from annotator.settings import Settings, endpoint_configured

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
FILE_TIMEOUT_S = 600.0  # batch files can be large
REPLAY_URL = "http://127.0.0.1:9/v1"  # --replay: answers come from the store, nothing is sent


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None
    api_key: str | None
    model: str
    embedded: bool = False


def api_key(settings: Settings) -> str | None:
    return settings.api_key.get_secret_value() if settings.api_key else None


def remote_model(settings: Settings, model: str | None = None) -> str:
    """The model to ask at a configured endpoint: the flag, the setting, or OpenAI's default."""
    return model or settings.model or DEFAULT_OPENAI_MODEL


def default_model(settings: Settings, model: str | None = None) -> str:
    """The model a run would use: at the configured endpoint, or the embedded one."""
    if endpoint_configured(settings):
        return remote_model(settings, model)
    return model or settings.model or MODEL_NAME


TEXT_METHOD = "text-head"
TEXT_MODEL = "tfidf"
"""The model name text-head judgments are stored under: no language model is involved."""


@contextlib.contextmanager
def endpoint(
    settings: Settings,
    model: str | None,
    *,
    replay: bool = False,
    logprobs: bool = False,
    method: str | None = None,
    start: bool = True,
) -> Iterator[Endpoint]:
    """The model endpoint to use; starts (and stops) the embedded model if none is set
    (keeping the logits log-probabilities need when ``logprobs``). ``method`` ``text-head``
    needs no model: nothing is started or asked, wherever an endpoint is configured.
    ``start=False`` names the embedded model without starting it (``base_url`` None):
    for work that only queues."""
    if method == TEXT_METHOD:
        yield Endpoint(None, None, TEXT_MODEL, embedded=True)
        return
    key = api_key(settings)
    if settings.base_url or key:
        yield Endpoint(settings.base_url, key, remote_model(settings, model))
        return
    if replay:  # answers come from the store; nothing needs to run
        yield Endpoint(REPLAY_URL, None, MODEL_NAME, embedded=True)
        return
    if model and model != MODEL_NAME:
        raise ConfigError(f"model '{model}' needs an endpoint: set OPENAI_BASE_URL (and OPENAI_API_KEY)")
    if not start:
        yield Endpoint(None, None, MODEL_NAME, embedded=True)
        return
    # embeddings on: the embedding-head method asks the same server for /v1/embeddings
    with LocalModelServer(embedding=True, logprobs=logprobs) as server:
        yield Endpoint(server.base_url, None, MODEL_NAME, embedded=True)


def model_client(
    settings: Settings,
    ep: Endpoint,
    *,
    response_format: str = "auto",
    limiter: RateLimiter | None = None,
    cache_lookup: Callable[[str], str | None] | None = None,
    replay: bool = False,
    max_connections: int = 256,
) -> ModelClient:
    """The judging client for ``ep``, with the retry, re-ask and timeout settings."""
    return ModelClient(
        model=ep.model,
        base_url=ep.base_url,
        api_key=ep.api_key,
        timeout_s=settings.timeout_s,
        max_attempts=settings.max_retries,
        max_reasks=settings.max_reasks,
        max_wait_s=settings.retry_max_wait_s,
        # llama-cpp-python needs its own schema shape (see grammar.grammar_schema)
        response_format="grammar" if ep.embedded and response_format == "auto" else response_format,
        limiter=limiter,
        cache_lookup=cache_lookup,
        replay=replay,
        max_connections=max_connections,
        transport=settings.http_transport,
    )


def files_client(settings: Settings, base_url: str | None = None) -> openai.OpenAI:
    """The synchronous client for the Batch API (files and batches); needs a remote endpoint."""
    key = api_key(settings)
    url = settings.base_url or base_url
    if not settings.base_url and is_redacted(base_url):
        raise ConfigError(
            f"the batch went to {base_url}, whose credentials are not stored: "
            "set OPENAI_BASE_URL to that endpoint, with its key"
        )
    if not url and not key:
        raise ConfigError(
            "the Batch API needs an endpoint: set OPENAI_API_KEY (and OPENAI_BASE_URL for another provider)"
        )
    return openai.OpenAI(**client_options(url), api_key=key or "not-needed", timeout=FILE_TIMEOUT_S, max_retries=3)
