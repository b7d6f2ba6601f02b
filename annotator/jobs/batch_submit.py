"""Judging through the provider's Batch API, part one: sending.

``submit_batches`` queues what lacks a judgment (like ``annotate``), claims the
tasks, writes one request line per task (and sample) with ``custom_id``
``task-<id>`` (``task-<id>-s<k>`` with samples), uploads the file
(``purpose="batch"``), creates the batch and records it in ``batches``. Its
tasks stay ``running`` under the lease owner ``batch:<batch id>`` with a long
lease, so no synchronous run takes them meanwhile. Tasks whose every request
is already answered in ``llm_calls`` are judged from there and never sent.

Request bodies are built by ``client.build_request_body``, exactly as the
synchronous client builds them, so an answer collected from a batch also
answers the same request later (cache, ``--replay``). ``batch_collect``
stores the answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import openai
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from annotator.db.engine import writer
from annotator.db.models import Batch, BatchItem, PromptVersion
from annotator.errors import ConfigError, ModelError
from annotator.jobs import queue
from annotator.jobs.batch_types import CHAT_PATH, BatchOptions, SubmitSummary, batch_owner, custom_id
from annotator.jobs.outcomes import JudgmentProvenance, Outcome, judgment_fields, save_outcomes, table_of
from annotator.judge.cache import make_cache_lookup
from annotator.judge.client import Attempt, JudgeResult, build_request_body, request_hash, sendable
from annotator.judge.endpoint import files_client, remote_model
from annotator.judge.messages import task_messages
from annotator.judge.prices import cost_usd, estimate_messages_tokens, require_price, warn_unpriced
from annotator.prompts.registry import register_prompt
from annotator.prompts.resolve import choose_prompt
from annotator.prompts.schema import parse_reply
from annotator.provenance import code_version
from annotator.redact import redact_url
from annotator.settings import Settings

SUBMIT_LEASE_S = 3600.0  # while the file is written and uploaded
BATCH_LEASE_S = 72 * 3600.0  # 24 h completion window plus two days to collect


@dataclass
class _Line:
    task_id: int
    sample: int
    custom_id: str
    body: dict  # as built (with our "_" keys): stored as the call's request_json
    raw: bytes  # the JSONL line sent


def submit_batches(
    engine: Engine, settings: Settings, opts: BatchOptions, on_batch: Callable[[str, int], None] | None = None
) -> SubmitSummary:
    """Queue, claim and submit; returns what was sent. ``on_batch(batch_id, lines)``."""
    if opts.samples < 1:
        raise ConfigError("--samples must be at least 1")
    model = remote_model(settings, opts.model)
    if opts.max_cost is not None:
        require_price(model)
    client = files_client(settings)  # no endpoint: say so before the default judge is refused below
    prompt = choose_prompt(engine, settings, opts.prompt)
    if prompt.meta.method != "direct" or prompt.meta.related is not None or prompt.meta.samples > 1:
        raise ConfigError(
            f"{prompt.ref}: the Batch API path sends one plain request per sample, for method "
            f"'direct' without $related or front-matter samples; this prompt version uses method "
            f"'{prompt.meta.method}'{' with $related' if prompt.meta.related else ''}"
            f"{f' and samples: {prompt.meta.samples}' if prompt.meta.samples > 1 else ''}: "
            "run it with 'annotator annotate' instead"
        )
    pv = register_prompt(engine, prompt)
    assert pv.id is not None  # stored
    warn_unpriced(model)
    mode = "json_schema" if opts.response_format == "auto" else opts.response_format
    params = prompt.meta.params.model_dump(exclude_none=True)
    max_tokens = params.get("max_tokens", 300)
    lookup = make_cache_lookup(engine) if opts.use_cache else None
    summary = SubmitSummary(prompt=prompt.ref, model=model)
    provenance = JudgmentProvenance(
        params_json=json.dumps({**params, "response_format": mode, "samples": opts.samples}),
        code_version=code_version().label,
        base_url=settings.base_url,
    )

    with writer(engine).begin() as conn:
        queue.enqueue(conn, pv.id, model, paper_ids=opts.paper_ids, eval_suite=opts.eval_suite)
    queue.reclaim_dead(engine)
    per_file = max(1, opts.max_requests // opts.samples)
    taken = 0
    while summary.stopped is None:
        want = per_file if opts.limit is None else min(per_file, opts.limit - taken)
        if want <= 0:
            break
        owner = batch_owner(f"submit:{uuid.uuid4().hex[:12]}")
        claimed = queue.claim(engine, owner, want, SUBMIT_LEASE_S, prompt_version_id=pv.id, model=model)
        if not claimed:
            break
        taken += len(claimed)
        lines: list[_Line] = []
        cached: list[Outcome] = []
        over: list[int] = []
        for task in claimed:
            if summary.stopped is not None:
                over.append(task.id)
                continue
            messages, cut = task_messages(prompt, task.title, task.abstract, settings.max_abstract_chars)
            bodies = [
                build_request_body(model, mode, messages, prompt.output_model, params, s if opts.samples > 1 else 0)
                for s in range(opts.samples)
            ]
            local = _from_cache(lookup, bodies, prompt.output_model) if lookup else None
            if local is not None:
                cached.append(
                    Outcome(
                        task,
                        [r.attempts[0] for r in local],
                        judgment_fields(local, task.title, task.abstract, cut),
                        None,
                    )
                )
                continue
            estimate = cost_usd(model, estimate_messages_tokens(messages), max_tokens, batch=True) * opts.samples
            if opts.max_cost is not None and summary.estimated_cost_usd + estimate > opts.max_cost:
                summary.stopped = f"budget: ${opts.max_cost:.4f} would be crossed"
                over.append(task.id)
                continue
            summary.estimated_cost_usd += estimate
            for s, body in enumerate(bodies):
                cid = custom_id(task.id, s, opts.samples)
                raw = json.dumps(
                    {"custom_id": cid, "method": "POST", "url": CHAT_PATH, "body": sendable(body)}, ensure_ascii=False
                ).encode("utf-8")
                lines.append(_Line(task.id, s, cid, body, raw))
        if cached:
            save_outcomes(engine, cached, pv=pv, model=model, owner=owner, provenance=provenance)
            summary.cached += len(cached)
        if over:
            queue.release(engine, owner, over)
        groups = _split(lines, opts.max_bytes, opts.samples)
        for i, group in enumerate(groups):
            try:
                batch_id, file_id = _upload(client, group, pv, model, opts)
            except (openai.OpenAIError, OSError) as exc:
                left = sorted({ln.task_id for g in groups[i:] for ln in g})
                queue.release(engine, owner, left)
                raise ModelError(f"batch submit failed after {len(summary.batches)} batch(es): {exc}") from exc
            est = sum(
                cost_usd(model, estimate_messages_tokens(ln.body["messages"]), max_tokens, batch=True) for ln in group
            )
            _record(engine, group, pv, model, owner, batch_id, file_id, settings.base_url, opts.samples, est)
            summary.batches.append(batch_id)
            summary.requests += len(group)
            summary.tasks += len({ln.task_id for ln in group})
            if on_batch:
                on_batch(batch_id, len(group))
        if len(claimed) < want:
            break
    return summary


def _from_cache(
    lookup: Callable[[str], str | None], bodies: list[dict], output_model: type[BaseModel]
) -> list[JudgeResult] | None:
    """Judge results for every sample from stored replies, or None if any is missing."""
    results = []
    for body in bodies:
        h = request_hash(body)
        reply = lookup(h)
        if reply is None:
            return None
        try:
            judgment = parse_reply(reply, output_model)
        except ValueError:
            return None
        attempt = Attempt(
            request_hash=h, request_json=json.dumps(body, ensure_ascii=False), outcome="cached", response_text=reply
        )
        results.append(JudgeResult(judgment=judgment, attempts=[attempt]))
    return results


def _split(lines: list[_Line], max_bytes: int, samples: int) -> list[list[_Line]]:
    """Lines cut into files under ``max_bytes``; a task's samples stay in one file."""
    groups: list[list[_Line]] = []
    current: list[_Line] = []
    size = 0
    i = 0
    while i < len(lines):
        chunk = lines[i : i + samples]
        chunk_size = sum(len(ln.raw) + 1 for ln in chunk)
        if current and size + chunk_size > max_bytes:
            groups.append(current)
            current, size = [], 0
        current.extend(chunk)
        size += chunk_size
        i += samples
    if current:
        groups.append(current)
    return groups


def _upload(
    client: openai.OpenAI, group: list[_Line], pv: PromptVersion, model: str, opts: BatchOptions
) -> tuple[str, str]:
    data = b"\n".join(ln.raw for ln in group) + b"\n"
    name = f"annotator-{pv.name}-v{pv.version}-{uuid.uuid4().hex[:8]}.jsonl"
    uploaded = client.files.create(file=(name, data, "application/jsonl"), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint=CHAT_PATH,
        completion_window=opts.completion_window,
        metadata={"annotator_prompt": f"{pv.name}@{pv.version}", "annotator_model": model[:500]},
    )
    return batch.id, uploaded.id


def _record(
    engine: Engine,
    group: list[_Line],
    pv: PromptVersion,
    model: str,
    owner: str,
    batch_id: str,
    file_id: str,
    base_url: str | None,
    samples: int,
    estimate: float,
) -> None:
    """The batch row, its lines, and its tasks handed to the owner ``batch:<id>``."""
    task_ids = sorted({ln.task_id for ln in group})
    now = datetime.now(UTC)
    with writer(engine).begin() as conn:
        inserted = conn.execute(
            table_of(Batch)
            .insert()
            .values(
                batch_id=batch_id,
                prompt_version_id=pv.id,
                model=model,
                base_url=redact_url(base_url),
                input_file_id=file_id,
                status="validating",
                collected=False,
                task_ids=json.dumps(task_ids),
                samples=samples,
                requests=len(group),
                succeeded=0,
                requeued=0,
                estimated_cost_usd=estimate,
                cost_usd=0.0,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key
        assert inserted is not None
        pk = inserted[0]
        conn.execute(
            table_of(BatchItem).insert(),
            [
                dict(
                    batch_pk=pk,
                    custom_id=ln.custom_id,
                    task_id=ln.task_id,
                    sample=ln.sample,
                    request_hash=request_hash(ln.body),
                    request_json=json.dumps(ln.body, ensure_ascii=False),
                )
                for ln in group
            ],
        )
        queue.hand_over(conn, task_ids, owner, batch_owner(batch_id), BATCH_LEASE_S)
