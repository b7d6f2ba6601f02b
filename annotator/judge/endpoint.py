"""Which model endpoint to talk to, and the clients for it: set up in one place.

A configured OpenAI-compatible URL (``OPENAI_BASE_URL``), OpenAI itself when
only a key is set, or else the embedded local model, started here and
stopped when the ``endpoint`` block ends. The ``text-head`` method needs no
model at all: its runs get :data:`TEXT_MODEL` and nothing is started.

Which prompt version judges when none is named is decided in one place,
:func:`default_prompt`: the active ``score`` version at a configured endpoint;
without one the embedding judge (``embed@1``) when the ``local`` extra is
installed, else the text-feature judge (``text-head@1``), so a plain
``pip install`` judges at once instead of failing. ``model_client`` builds the async
judging client from the settings; ``files_client`` the synchronous client the
Batch API path uploads and downloads with.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import openai

from annotator.errors import ConfigError
from annotator.judge.base_url import client_options
from annotator.judge.client import ModelClient
from annotator.judge.local_model import MODEL_NAME, LocalModelServer, gguf_path
from annotator.judge.ratelimit import RateLimiter
from annotator.redact import is_redacted
from annotator.settings import Settings

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
    if settings.base_url or api_key(settings):
        return remote_model(settings, model)
    return model or settings.model or MODEL_NAME


EMBEDDED_PROMPT = "embed@1"
"""The default prompt version without an endpoint: SmolLM2 embeddings and the shipped head."""
TEXT_PROMPT = "text-head@1"
"""The default without an endpoint or the ``local`` extra: TF-IDF and the shipped text head."""
TEXT_METHOD = "text-head"
TEXT_MODEL = "tfidf"
"""The model name text-head judgments are stored under: no language model is involved."""


def local_model_installed() -> bool:
    """Whether the ``local`` extra is there: llama.cpp's server and the SmolLM2 GGUF file."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False
    try:
        gguf_path()
    except ConfigError:
        return False
    return True


def is_configured(settings: Settings) -> bool:
    return bool(settings.base_url or api_key(settings))


def default_prompt(settings: Settings, prompt: str | None) -> str | None:
    """The prompt version a run uses: the one named; else at a configured endpoint None (the
    active or latest ``score`` version); else the embedding judge when the ``local`` extra is
    installed (the chat path on the embedded model stays available by naming it, e.g.
    ``--prompt score@1``), else the text-feature judge."""
    if prompt or is_configured(settings):
        return prompt
    return EMBEDDED_PROMPT if local_model_installed() else TEXT_PROMPT


@contextlib.contextmanager
def endpoint(settings: Settings, model: str | None, *, replay: bool = False,
             logprobs: bool = False, method: str | None = None) -> Iterator[Endpoint]:
    """The model endpoint to use; starts (and stops) the embedded model if none is set
    (keeping the logits log-probabilities need when ``logprobs``). ``method`` ``text-head``
    needs no model: nothing is started or asked, wherever an endpoint is configured."""
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
    # embeddings on: the embedding-head method asks the same server for /v1/embeddings
    with LocalModelServer(embedding=True, logprobs=logprobs) as server:
        yield Endpoint(server.base_url, None, MODEL_NAME, embedded=True)


def model_client(settings: Settings, ep: Endpoint, *, response_format: str = "auto",
                 limiter: RateLimiter | None = None,
                 cache_lookup: Callable[[str], str | None] | None = None,
                 replay: bool = False, max_connections: int = 256) -> ModelClient:
    """The judging client for ``ep``, with the retry, re-ask and timeout settings."""
    return ModelClient(
        model=ep.model, base_url=ep.base_url, api_key=ep.api_key,
        timeout_s=settings.timeout_s, max_attempts=settings.max_retries,
        max_reasks=settings.max_reasks, max_wait_s=settings.retry_max_wait_s,
        # llama-cpp-python needs its own schema shape (see grammar.grammar_schema)
        response_format="grammar" if ep.embedded and response_format == "auto" else response_format,
        limiter=limiter, cache_lookup=cache_lookup, replay=replay,
        max_connections=max_connections, transport=settings.http_transport)


def files_client(settings: Settings, base_url: str | None = None) -> openai.OpenAI:
    """The synchronous client for the Batch API (files and batches); needs a remote endpoint."""
    key = api_key(settings)
    url = settings.base_url or base_url
    if not settings.base_url and is_redacted(base_url):
        raise ConfigError(f"the batch went to {base_url}, whose credentials are not stored: "
                          "set OPENAI_BASE_URL to that endpoint, with its key")
    if not url and not key:
        raise ConfigError("the Batch API needs an endpoint: set OPENAI_API_KEY "
                          "(and OPENAI_BASE_URL for another provider)")
    return openai.OpenAI(**client_options(url), api_key=key or "not-needed", timeout=FILE_TIMEOUT_S,
                         max_retries=3)
