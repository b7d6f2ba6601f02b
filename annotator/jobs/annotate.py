"""The main job as one library call: queue what lacks a judgment, then run it.

``annotate()`` resolves the prompt version (registering it, with the
changed-content guard), picks the endpoint (a configured OpenAI-compatible
URL, OpenAI itself when only a key is set, or else the embedded local model),
queues one task per paper that lacks one, and runs the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine

from annotator.errors import ConfigError
from annotator.jobs import queue
from annotator.jobs.runner import Reporter, RunOptions, RunSummary, prepare_abstract, run_queue
from annotator.judge.cache import make_cache_lookup
from annotator.judge.client import ModelClient
from annotator.judge.prices import cost_usd, estimate_messages_tokens, require_price, warn_unpriced
from annotator.judge.ratelimit import RateLimiter
from annotator.prompts.files import Prompt, load_prompt
from annotator.prompts.registry import active_version, register_prompt
from annotator.settings import Settings
from db.engine import writer

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
TYPICAL_OUTPUT_TOKENS = 120  # a judgment reply, for estimates


@dataclass
class AnnotateOptions:
    prompt: str | None = None  # NAME@VERSION; default: active or latest "score"
    model: str | None = None
    concurrency: int = 8
    limit: int | None = None
    samples: int = 1
    max_cost: float | None = None
    rpm: float | None = None
    tpm: float | None = None
    use_cache: bool = True
    replay: bool = False
    response_format: str = "auto"
    eval_suite: str | None = None
    paper_ids: list[int] | None = None


@dataclass
class Endpoint:
    base_url: str | None
    api_key: str | None
    model: str
    embedded: bool = False


@dataclass
class DryRun:
    papers: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    model: str
    prompt_ref: str


def resolve_prompt(engine: Engine, ref: str | None) -> Prompt:
    if ref:
        return load_prompt(ref)
    active = active_version(engine, "score")
    return load_prompt(f"score@{active.version}" if active else "score")


@contextlib.contextmanager
def endpoint(settings: Settings, model: str | None, *, replay: bool = False) -> Iterator[Endpoint]:
    """The model endpoint to use; starts (and stops) the embedded model if none is set."""
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if settings.base_url or key:
        yield Endpoint(settings.base_url, key, model or settings.model or DEFAULT_OPENAI_MODEL)
        return
    from annotator.judge import local_model

    if replay:  # answers come from the store; nothing needs to run
        yield Endpoint("http://127.0.0.1:9/v1", None, local_model.MODEL_NAME, embedded=True)
        return
    if model and model != local_model.MODEL_NAME:
        raise ConfigError(f"model '{model}' needs an endpoint: set OPENAI_BASE_URL (and OPENAI_API_KEY)")
    with local_model.LocalModelServer() as server:
        yield Endpoint(server.base_url, None, local_model.MODEL_NAME, embedded=True)


def local_model_name() -> str:
    from annotator.judge import local_model

    return local_model.MODEL_NAME


def queue_papers(engine: Engine, pv_id: int, model: str, opts: AnnotateOptions) -> int:
    with writer(engine).begin() as conn:
        return queue.enqueue(conn, pv_id, model, paper_ids=opts.paper_ids,
                             eval_suite=opts.eval_suite)


def dry_run(engine: Engine, prompt: Prompt, model: str, opts: AnnotateOptions,
            max_abstract_chars: int) -> DryRun:
    """What a run would cost, estimated offline; writes nothing."""
    where = "p.eval_suite = :suite" if opts.eval_suite else "p.is_eval = :false"
    sql = ("SELECT p.title, p.abstract FROM papers p WHERE " + where +
           " AND NOT EXISTS (SELECT 1 FROM judgments j JOIN prompt_versions pv "
           "ON pv.id = j.prompt_version_id WHERE j.paper_id = p.id AND pv.name = :name "
           "AND pv.version = :version AND j.model = :model)")
    params = {"suite": opts.eval_suite, "false": False, "name": prompt.name,
              "version": str(prompt.version), "model": model}
    if opts.paper_ids is not None:
        sql += f" AND p.id IN ({','.join(str(int(i)) for i in opts.paper_ids) or 'NULL'})"
    with engine.connect() as conn:
        rows = conn.execute(text(sql + " ORDER BY p.id"), params).all()
    if opts.limit is not None:
        rows = rows[: opts.limit]
    tokens_in = sum(
        estimate_messages_tokens(prompt.render(
            title=title, abstract=prepare_abstract(abstract, max_abstract_chars)[0]))
        for title, abstract in rows) * opts.samples
    tokens_out = TYPICAL_OUTPUT_TOKENS * len(rows) * opts.samples
    if rows and model != local_model_name():
        warn_unpriced(model)
    return DryRun(len(rows), tokens_in, tokens_out, cost_usd(model, tokens_in, tokens_out),
                  model, prompt.ref)


def annotate(engine: Engine, settings: Settings, opts: AnnotateOptions,
             reporter: Reporter | None = None, on_endpoint=None) -> RunSummary:
    prompt = resolve_prompt(engine, opts.prompt)
    pv = register_prompt(engine, prompt)
    with endpoint(settings, opts.model, replay=opts.replay) as ep:
        if on_endpoint:
            on_endpoint(ep)
        if opts.max_cost is not None and not ep.embedded:
            require_price(ep.model)  # before anything is queued; the runner warns if unpriced
        queue_papers(engine, pv.id, ep.model, opts)
        client = ModelClient(
            model=ep.model, base_url=ep.base_url, api_key=ep.api_key,
            timeout_s=settings.timeout_s, max_attempts=settings.max_retries,
            max_reasks=settings.max_reasks, max_wait_s=settings.retry_max_wait_s,
            # llama-cpp-python needs its own schema shape (see local_model.grammar_schema)
            response_format="grammar" if ep.embedded and opts.response_format == "auto"
            else opts.response_format,
            limiter=RateLimiter(opts.rpm, opts.tpm),
            cache_lookup=make_cache_lookup(engine) if (opts.use_cache or opts.replay) else None,
            replay=opts.replay, max_connections=max(64, opts.concurrency * 2),
        )
        # the embedded server answers one request at a time; more only queues there
        concurrency = min(opts.concurrency, 2) if ep.embedded else opts.concurrency
        run_opts = RunOptions(concurrency=concurrency, limit=opts.limit, samples=opts.samples,
                              max_cost=opts.max_cost, lease_s=settings.lease_s,
                              max_abstract_chars=settings.max_abstract_chars,
                              demo_quality=ep.embedded)
        return asyncio.run(run_queue(engine, client, prompt, pv, run_opts, reporter))
