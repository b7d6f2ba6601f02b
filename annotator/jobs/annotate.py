"""The main job as one library call: queue what lacks a judgment, then run it.

``annotate()`` resolves the prompt version (``prompts.resolve``: registering it, with the
changed-content guard), picks the endpoint (``judge.endpoint``: a configured
OpenAI-compatible URL, OpenAI itself when only a key is set, or else the
embedded local model), queues one task per paper that lacks one, and runs the
queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from annotator.db.engine import writer
from annotator.db.queries import judgments
from annotator.jobs import queue
from annotator.jobs.runner import Reporter, RunOptions, RunSummary, run_queue
from annotator.jobspec import JobSpec
from annotator.judge.cache import make_cache_lookup
from annotator.judge.client import ModelClient
from annotator.judge.endpoint import Endpoint, endpoint, model_client
from annotator.judge.local_model import MODEL_NAME
from annotator.judge.prices import cost_usd, require_price, warn_unpriced
from annotator.judge.ratelimit import RateLimiter
from annotator.methods.dispatch import method_for
from annotator.methods.interface import MethodContext, PaperInput
from annotator.prompts.files import Prompt
from annotator.prompts.resolve import resolve
from annotator.settings import Settings


@dataclass
class AnnotateOptions(JobSpec):
    """The job (prompt, model, concurrency, samples, cost and rate limits) and annotate's own."""

    limit: int | None = None
    use_cache: bool = True
    replay: bool = False
    response_format: str = "auto"
    eval_suite: str | None = None
    paper_ids: list[int] | None = None


@dataclass
class DryRun:
    papers: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    model: str
    prompt_ref: str
    calls: int = 0  # requests the run would send (calls per paper differ per method)
    method: str = "direct"


def dry_run(engine: Engine, prompt: Prompt, model: str, opts: AnnotateOptions, max_abstract_chars: int) -> DryRun:
    """What a run would cost, estimated offline (the messages as they would be sent); writes nothing."""
    if opts.paper_ids is not None and not opts.paper_ids:
        return DryRun(0, 0, 0, 0.0, model, prompt.ref)
    with engine.connect() as conn:
        rows = judgments.unjudged_papers(
            conn,
            prompt_name=prompt.name,
            prompt_version=str(prompt.version),
            model=model,
            eval_suite=opts.eval_suite,
            paper_ids=opts.paper_ids,
        )
    if opts.limit is not None:
        rows = rows[: opts.limit]
    method = method_for(
        MethodContext(
            client=None,
            prompt=prompt,
            params=prompt.meta.params.model_dump(exclude_none=True),
            samples=opts.samples if opts.samples > 1 else prompt.meta.samples,
            max_abstract_chars=max_abstract_chars,
            engine=engine,
        )
    )
    plans = [method.estimate(PaperInput(None, title, abstract)) for title, abstract in rows]
    tokens_in = sum(p.prompt_tokens for p in plans)
    tokens_out = sum(p.completion_tokens for p in plans)
    if rows and model != MODEL_NAME:
        warn_unpriced(model)
    return DryRun(
        len(rows),
        tokens_in,
        tokens_out,
        cost_usd(model, tokens_in, tokens_out),
        model,
        prompt.ref,
        calls=sum(p.calls for p in plans),
        method=prompt.meta.method,
    )


def annotate(
    engine: Engine,
    settings: Settings,
    opts: AnnotateOptions,
    reporter: Reporter | None = None,
    on_endpoint: Callable[[Endpoint], None] | None = None,
) -> RunSummary:
    resolved = resolve(engine, settings, opts.prompt)
    prompt, pv = resolved.prompt, resolved.row
    queue_only = opts.limit == 0  # queued for workers: no model needs to run here
    with endpoint(
        settings,
        opts.model,
        replay=opts.replay,
        logprobs=prompt.meta.method == "expected",
        method=prompt.meta.method,
        start=not queue_only,
    ) as ep:
        if on_endpoint:
            on_endpoint(ep)
        if opts.max_cost is not None and not ep.embedded:
            require_price(ep.model)  # before anything is queued; the runner warns if unpriced
        with writer(engine).begin() as conn:
            queue.enqueue(conn, resolved.id, ep.model, paper_ids=opts.paper_ids, eval_suite=opts.eval_suite)
        if queue_only:
            return RunSummary()
        client, run_opts = run_setup(engine, settings, ep, opts)
        return asyncio.run(run_queue(engine, client, prompt, pv, run_opts, reporter))


def run_setup(
    engine: Engine, settings: Settings, ep: Endpoint, opts: AnnotateOptions
) -> tuple[ModelClient, RunOptions]:
    """The model client and run options for ``opts`` at ``ep`` (annotate and the worker)."""
    client = model_client(
        settings,
        ep,
        response_format=opts.response_format,
        limiter=RateLimiter(opts.rpm, opts.tpm),
        cache_lookup=make_cache_lookup(engine) if (opts.use_cache or opts.replay) else None,
        replay=opts.replay,
        max_connections=max(64, opts.concurrency * 2),
    )
    # the embedded server answers one request at a time; more only queues there
    concurrency = min(opts.concurrency, 2) if ep.embedded else opts.concurrency
    return client, RunOptions(
        job=opts.spec(concurrency=concurrency),
        limit=opts.limit,
        lease_s=settings.lease_s,
        max_abstract_chars=settings.max_abstract_chars,
        demo_quality=ep.embedded,
    )
