"""Judging through the provider's Batch API: half the price, answers within a day.

``submit_batches`` queues what lacks a judgment (like ``annotate``), claims the
tasks, writes one request line per task (and sample) with ``custom_id``
``task-<id>`` (``task-<id>-s<k>`` with samples), uploads the file
(``purpose="batch"``), creates the batch and records it in ``batches``. Its
tasks stay ``running`` under the lease owner ``batch:<batch id>`` with a long
lease, so no synchronous run takes them meanwhile. Tasks whose every request
is already answered in ``llm_calls`` are judged from there and never sent.

``collect_batches`` polls the open batches and, for each finished one,
downloads the output and error files, validates every reply with the same
parsing as the synchronous path and stores calls, judgments and task states
with ``outcomes.save_outcomes``, in one transaction per batch. Lines that
failed, replies that did not validate and lines the provider never answered
(expired, cancelled) send their task back to the queue (``pending``) with the
reason. Batch calls are priced with the Batch API discount.

Request bodies are built by ``llm.build_request_body``, exactly as the
synchronous client builds them, so an answer collected from a batch also
answers the same request later (cache, ``--replay``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import openai
from sqlalchemy import text
from sqlalchemy.engine import Engine

from annotator.errors import ConfigError, ModelError
from annotator.jobs import queue
from annotator.jobs.annotate import DEFAULT_OPENAI_MODEL, resolve_prompt
from annotator.jobs.outcomes import Outcome, save_outcomes
from annotator.jobs.runner import judgment_fields, task_messages
from annotator.judge.cache import make_cache_lookup
from annotator.judge.client import Attempt, JudgeResult, ModelClient, build_request_body, request_hash, sendable
from annotator.judge.prices import cost_usd, estimate_messages_tokens, require_price, warn_unpriced
from annotator.judge.schema import parse_reply
from annotator.prompts.files import parse_prompt
from annotator.prompts.registry import register_prompt
from annotator.provenance import code_version_string
from annotator.settings import Settings
from db.engine import writer
from db.models import Batch, BatchItem, PromptVersion

CHAT_PATH = "/v1/chat/completions"
OWNER_PREFIX = "batch:"
SUBMIT_LEASE_S = 3600.0  # while the file is written and uploaded
BATCH_LEASE_S = 72 * 3600.0  # 24 h completion window plus two days to collect
MAX_REQUESTS = 50_000  # OpenAI's limit per batch file
MAX_BYTES = 190 * 1024 * 1024  # OpenAI's limit is 200 MB
TERMINAL = {"completed", "failed", "expired", "cancelled"}
FILE_TIMEOUT_S = 600.0


@dataclass
class BatchOptions:
    prompt: str | None = None  # NAME@VERSION; default: active or latest "score"
    model: str | None = None
    limit: int | None = None  # at most this many tasks (papers)
    samples: int = 1
    max_cost: float | None = None  # estimated, at batch prices
    use_cache: bool = True  # judge tasks answered in llm_calls locally, never send them
    response_format: str = "auto"  # auto means json_schema (no fallback inside a batch)
    eval_suite: str | None = None
    paper_ids: list[int] | None = None
    max_requests: int = MAX_REQUESTS  # lines per batch file
    max_bytes: int = MAX_BYTES  # bytes per batch file
    completion_window: str = "24h"


@dataclass
class SubmitSummary:
    prompt: str
    model: str
    batches: list[str] = field(default_factory=list)  # provider batch ids
    tasks: int = 0  # tasks sent in batches
    requests: int = 0  # request lines sent
    cached: int = 0  # tasks judged from stored calls, not sent
    estimated_cost_usd: float = 0.0
    stopped: str | None = None


@dataclass
class BatchResult:
    batch_id: str
    status: str
    collected: bool = False
    judged: int = 0
    requeued: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None
    reasons: list[str] = field(default_factory=list)  # first few requeue reasons


@dataclass
class CollectSummary:
    batches: list[BatchResult] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return sum(b.judged for b in self.batches)

    @property
    def requeued(self) -> int:
        return sum(b.requeued for b in self.batches)

    @property
    def open(self) -> int:
        return sum(1 for b in self.batches if not b.collected)

    @property
    def cost_usd(self) -> float:
        return sum(b.cost_usd for b in self.batches)


def batch_options_from(opts) -> BatchOptions:
    """``BatchOptions`` from ``AnnotateOptions`` (for ``annotate --batch``)."""
    return BatchOptions(prompt=opts.prompt, model=opts.model, limit=opts.limit,
                        samples=opts.samples, max_cost=opts.max_cost, use_cache=opts.use_cache,
                        response_format=opts.response_format, eval_suite=opts.eval_suite,
                        paper_ids=opts.paper_ids)


def make_client(settings: Settings, base_url: str | None = None) -> openai.OpenAI:
    key = settings.api_key.get_secret_value() if settings.api_key else None
    url = settings.base_url or base_url
    if not url and not key:
        raise ConfigError("the Batch API needs an endpoint: set OPENAI_API_KEY "
                          "(and OPENAI_BASE_URL for another provider)")
    return openai.OpenAI(base_url=url, api_key=key or "not-needed", timeout=FILE_TIMEOUT_S,
                         max_retries=3)


def _custom_id(task_id: int, sample: int, samples: int) -> str:
    return f"task-{task_id}" if samples == 1 else f"task-{task_id}-s{sample}"


# -- submit -----------------------------------------------------------------------
@dataclass
class _Line:
    task_id: int
    sample: int
    custom_id: str
    body: dict  # as built (with our "_" keys): stored as the call's request_json
    raw: bytes  # the JSONL line sent


def submit_batches(engine: Engine, settings: Settings, opts: BatchOptions,
                   on_batch: Callable[[str, int], None] | None = None) -> SubmitSummary:
    """Queue, claim and submit; returns what was sent. ``on_batch(batch_id, lines)``."""
    if opts.samples < 1:
        raise ConfigError("--samples must be at least 1")
    model = opts.model or settings.model or DEFAULT_OPENAI_MODEL
    if opts.max_cost is not None:
        require_price(model)
    prompt = resolve_prompt(engine, opts.prompt)
    pv = register_prompt(engine, prompt)
    client = make_client(settings)
    warn_unpriced(model)
    mode = "json_schema" if opts.response_format == "auto" else opts.response_format
    params = prompt.meta.params.model_dump(exclude_none=True)
    max_tokens = params.get("max_tokens", 300)
    lookup = make_cache_lookup(engine) if opts.use_cache else None
    summary = SubmitSummary(prompt=prompt.ref, model=model)
    params_json = json.dumps({**params, "response_format": mode, "samples": opts.samples})
    provenance = dict(code_version=code_version_string(), base_url=settings.base_url)

    with writer(engine).begin() as conn:
        queue.enqueue(conn, pv.id, model, paper_ids=opts.paper_ids, eval_suite=opts.eval_suite)
    queue.reclaim_dead(engine)
    per_file = max(1, opts.max_requests // opts.samples)
    taken = 0
    while summary.stopped is None:
        want = per_file if opts.limit is None else min(per_file, opts.limit - taken)
        if want <= 0:
            break
        owner = f"{OWNER_PREFIX}submit:{uuid.uuid4().hex[:12]}"
        claimed = queue.claim(engine, owner, want, SUBMIT_LEASE_S, prompt_version_id=pv.id,
                              model=model)
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
            messages, cut = task_messages(prompt, task.title, task.abstract,
                                          settings.max_abstract_chars)
            bodies = [build_request_body(model, mode, messages, prompt.output_model, params,
                                         s if opts.samples > 1 else 0)
                      for s in range(opts.samples)]
            local = _from_cache(lookup, bodies, prompt.output_model) if lookup else None
            if local is not None:
                cached.append(Outcome(task, [r.attempts[0] for r in local],
                                      judgment_fields(local, task.title, task.abstract, cut), None))
                continue
            estimate = cost_usd(model, estimate_messages_tokens(messages), max_tokens,
                                batch=True) * opts.samples
            if opts.max_cost is not None and summary.estimated_cost_usd + estimate > opts.max_cost:
                summary.stopped = f"budget: ${opts.max_cost:.4f} would be crossed"
                over.append(task.id)
                continue
            summary.estimated_cost_usd += estimate
            for s, body in enumerate(bodies):
                cid = _custom_id(task.id, s, opts.samples)
                raw = json.dumps({"custom_id": cid, "method": "POST", "url": CHAT_PATH,
                                  "body": sendable(body)}, ensure_ascii=False).encode("utf-8")
                lines.append(_Line(task.id, s, cid, body, raw))
        if cached:
            save_outcomes(engine, cached, pv=pv, model=model, owner=owner,
                          params_json=params_json, demo_quality=False, **provenance)
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
                raise ModelError(f"batch submit failed after {len(summary.batches)} batch(es): "
                                 f"{exc}") from exc
            est = sum(cost_usd(model, estimate_messages_tokens(ln.body["messages"]), max_tokens,
                               batch=True) for ln in group)
            _record(engine, group, pv, model, owner, batch_id, file_id, settings.base_url,
                    opts.samples, est)
            summary.batches.append(batch_id)
            summary.requests += len(group)
            summary.tasks += len({ln.task_id for ln in group})
            if on_batch:
                on_batch(batch_id, len(group))
        if len(claimed) < want:
            break
    return summary


def _from_cache(lookup, bodies: list[dict], output_model) -> list[JudgeResult] | None:
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
        attempt = Attempt(request_hash=h, request_json=json.dumps(body, ensure_ascii=False),
                          outcome="cached", response_text=reply)
        results.append(JudgeResult(judgment=judgment, attempts=[attempt]))
    return results


def _split(lines: list[_Line], max_bytes: int, samples: int) -> list[list[_Line]]:
    """Lines cut into files under ``max_bytes``; a task's samples stay in one file."""
    groups: list[list[_Line]] = []
    current: list[_Line] = []
    size = 0
    i = 0
    while i < len(lines):
        chunk = lines[i:i + samples]
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


def _upload(client: openai.OpenAI, group: list[_Line], pv: PromptVersion, model: str,
            opts: BatchOptions) -> tuple[str, str]:
    data = b"\n".join(ln.raw for ln in group) + b"\n"
    name = f"annotator-{pv.name}-v{pv.version}-{uuid.uuid4().hex[:8]}.jsonl"
    uploaded = client.files.create(file=(name, data, "application/jsonl"), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint=CHAT_PATH, completion_window=opts.completion_window,
        metadata={"annotator_prompt": f"{pv.name}@{pv.version}", "annotator_model": model[:500]})
    return batch.id, uploaded.id


def _record(engine: Engine, group: list[_Line], pv: PromptVersion, model: str, owner: str,
            batch_id: str, file_id: str, base_url: str | None, samples: int,
            estimate: float) -> None:
    """The batch row, its lines, and its tasks handed to the owner ``batch:<id>``."""
    task_ids = sorted({ln.task_id for ln in group})
    now = datetime.now(UTC)
    with writer(engine).begin() as conn:
        pk = conn.execute(Batch.__table__.insert().values(
            batch_id=batch_id, prompt_version_id=pv.id, model=model, base_url=base_url,
            input_file_id=file_id, status="validating", collected=False,
            task_ids=json.dumps(task_ids), samples=samples, requests=len(group), succeeded=0,
            requeued=0, estimated_cost_usd=estimate, cost_usd=0.0, created_at=now,
            updated_at=now)).inserted_primary_key[0]
        conn.execute(BatchItem.__table__.insert(), [
            dict(batch_pk=pk, custom_id=ln.custom_id, task_id=ln.task_id, sample=ln.sample,
                 request_hash=request_hash(ln.body),
                 request_json=json.dumps(ln.body, ensure_ascii=False)) for ln in group])
        conn.execute(text(
            "UPDATE tasks SET lease_owner = :new, lease_expires = :exp, "
            "updated_at = CURRENT_TIMESTAMP WHERE lease_owner = :old AND state = 'running' "
            f"AND id IN ({','.join(map(str, task_ids))})"),
            {"new": OWNER_PREFIX + batch_id, "exp": time.time() + BATCH_LEASE_S, "old": owner})


# -- collect ----------------------------------------------------------------------
def open_batches(engine: Engine, batch_ids: list[str] | None = None) -> list[dict]:
    sql = "SELECT * FROM batches WHERE collected = :f"
    params: dict = {"f": False}
    if batch_ids:
        sql += " AND batch_id IN (" + ",".join(f":b{i}" for i in range(len(batch_ids))) + ")"
        params.update({f"b{i}": b for i, b in enumerate(batch_ids)})
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql + " ORDER BY id"), params).mappings()]


def list_batches(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT b.*, pv.name AS prompt_name, pv.version AS prompt_version FROM batches b "
            "JOIN prompt_versions pv ON pv.id = b.prompt_version_id ORDER BY b.id")).mappings()]


def collect_batches(engine: Engine, settings: Settings, *, batch_ids: list[str] | None = None,
                    wait: bool = False, poll_s: float = 30.0, timeout_s: float | None = None,
                    on_poll: Callable[[list[BatchResult]], None] | None = None) -> CollectSummary:
    """Store the answers of finished batches; with ``wait``, poll until all are finished."""
    rows = open_batches(engine, batch_ids)
    if batch_ids:
        known = {r["batch_id"] for r in rows}
        missing = [b for b in batch_ids if b not in known]
        if missing:
            raise ConfigError(f"no open batch {', '.join(missing)} in this database "
                              "(see: annotator batch list)")
    summary = CollectSummary()
    if not rows:
        return summary
    client = make_client(settings, rows[0]["base_url"])
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    done: dict[str, BatchResult] = {}
    while True:
        waiting: list[BatchResult] = []
        for row in rows:
            if row["batch_id"] in done:
                continue
            result = _poll_one(engine, client, row, settings)
            if result.collected:
                done[row["batch_id"]] = result
            else:
                waiting.append(result)
        if on_poll:
            on_poll(list(done.values()) + waiting)
        if not waiting or not wait or (deadline is not None and time.monotonic() >= deadline):
            summary.batches = [done.get(r["batch_id"]) or next(
                w for w in waiting if w.batch_id == r["batch_id"]) for r in rows]
            return summary
        time.sleep(poll_s)


def _poll_one(engine: Engine, client: openai.OpenAI, row: dict, settings: Settings) -> BatchResult:
    try:
        remote = client.batches.retrieve(row["batch_id"])
    except openai.OpenAIError as exc:
        raise ModelError(f"cannot read batch {row['batch_id']}: {exc}") from exc
    status = remote.status
    if status not in TERMINAL:
        with writer(engine).begin() as conn:
            conn.execute(text("UPDATE batches SET status = :s, updated_at = :t WHERE id = :id"),
                         {"s": status, "t": datetime.now(UTC), "id": row["id"]})
        return BatchResult(row["batch_id"], status)
    return _collect_one(engine, client, row, remote, settings)


def _download(client: openai.OpenAI, file_id: str | None) -> dict[str, dict]:
    """custom_id -> output line, from one output or error file."""
    if not file_id:
        return {}
    try:
        content = client.files.content(file_id).text
    except openai.OpenAIError as exc:
        raise ModelError(f"cannot download batch file {file_id}: {exc}") from exc
    lines = {}
    for raw in content.splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # a broken line answers nothing; its task goes back to the queue
        if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
            lines[line["custom_id"]] = line
    return lines


def _batch_error(remote) -> str | None:
    errors = getattr(remote, "errors", None)
    data = getattr(errors, "data", None) or []
    parts = [f"{getattr(e, 'code', '') or ''}: {getattr(e, 'message', '') or ''}".strip(": ")
             for e in data[:3]]
    return "; ".join(p for p in parts if p) or None


def _attempt(item: dict, line: dict | None, model: str, output_model
             ) -> tuple[Attempt | None, JudgeResult | None, str]:
    """(the call to store, the judge result if valid, the reason if not) for one line."""
    if line is None:
        return None, None, "no result"
    attempt = Attempt(request_hash=item["request_hash"], request_json=item["request_json"],
                      outcome="http_error")
    response, error = line.get("response"), line.get("error")
    if isinstance(response, dict) and response.get("status_code") == 200:
        try:
            completion = openai.types.chat.ChatCompletion.model_validate(response.get("body"))
        except Exception as exc:  # pydantic.ValidationError, not a completion
            attempt.outcome, attempt.status_code = "invalid", 200
            attempt.error = f"not a chat completion: {str(exc)[:300]}"
            return attempt, None, attempt.error
        ModelClient._read_completion(completion, attempt, json.loads(item["request_json"]))
        attempt.status_code = 200
        attempt.cost_usd = cost_usd(model, attempt.prompt_tokens, attempt.completion_tokens,
                                    batch=True)
        try:
            judgment = parse_reply(attempt.response_text, output_model)
        except ValueError as exc:
            reason = f"{attempt.error}; {exc}" if attempt.error else str(exc)
            attempt.outcome, attempt.error = "invalid", reason
            return attempt, None, f"invalid reply: {reason}"
        attempt.outcome = "ok"
        return attempt, JudgeResult(judgment=judgment, attempts=[attempt]), ""
    if isinstance(response, dict):
        attempt.status_code = response.get("status_code")
        body = response.get("body") or {}
        message = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
        attempt.error = f"HTTP {attempt.status_code}: {message or body}"[:500]
    else:
        err = error if isinstance(error, dict) else {}
        attempt.error = f"batch error {err.get('code') or ''}: {err.get('message') or error}"[:500]
    return attempt, None, attempt.error


def _request_mode(request_json: str) -> str:
    fmt = json.loads(request_json).get("response_format")
    return fmt.get("type", "none") if isinstance(fmt, dict) else "none"


def _collect_one(engine: Engine, client: openai.OpenAI, row: dict, remote,
                 settings: Settings) -> BatchResult:
    batch_id, status = row["batch_id"], remote.status
    result = BatchResult(batch_id, status, collected=True, error=_batch_error(remote))
    lines = _download(client, getattr(remote, "output_file_id", None))
    lines.update(_download(client, getattr(remote, "error_file_id", None)))
    task_ids = json.loads(row["task_ids"])
    with engine.connect() as conn:
        pv_row = conn.execute(text("SELECT * FROM prompt_versions WHERE id = :id"),
                              {"id": row["prompt_version_id"]}).mappings().first()
        items = [dict(r) for r in conn.execute(text(
            "SELECT custom_id, task_id, sample, request_hash, request_json FROM batch_items "
            "WHERE batch_pk = :pk ORDER BY task_id, sample"), {"pk": row["id"]}).mappings()]
        tasks = {r[0]: queue.ClaimedTask(*r) for r in conn.execute(text(
            "SELECT t.id, t.paper_id, p.title, p.abstract, t.attempts FROM tasks t "
            "JOIN papers p ON p.id = t.paper_id WHERE t.id IN "
            f"({','.join(str(int(i)) for i in task_ids) or 'NULL'})"))}
    pv = PromptVersion(**pv_row)
    prompt = parse_prompt(pv.text, f"{pv.name}@{pv.version} (stored text)")
    by_task: dict[int, list[dict]] = {}
    for item in items:
        by_task.setdefault(item["task_id"], []).append(item)
    missing_reason = f"batch {batch_id} {status}"
    if result.error:
        missing_reason += f" ({result.error})"
    outcomes: list[Outcome] = []
    for task_id in task_ids:
        task = tasks.get(task_id)
        if task is None:  # the task row is gone; nothing to store it against
            continue
        attempts, judged, reasons = [], [], []
        for item in by_task.get(task_id, []):
            attempt, judge, reason = _attempt(item, lines.get(item["custom_id"]), row["model"],
                                              prompt.output_model)
            if attempt is not None:
                attempts.append(attempt)
            if judge is not None:
                judged.append(judge)
            elif reason:
                reasons.append(f"{item['custom_id']}: {reason if attempt else missing_reason}")
        if judged and not reasons:
            _, cut = task_messages(prompt, task.title, task.abstract, settings.max_abstract_chars)
            fields = judgment_fields(judged, task.title, task.abstract, cut)
            outcomes.append(Outcome(task, attempts, fields, None))
        else:
            error = f"batch {batch_id}: " + ("; ".join(reasons) or "no lines")
            outcomes.append(Outcome(task, attempts, None, error))
            if len(result.reasons) < 10:
                result.reasons.append(f"task {task_id}: {error}")
    mode = _request_mode(items[0]["request_json"]) if items else "json_schema"
    params = prompt.meta.params.model_dump(exclude_none=True)
    params_json = json.dumps({**params, "response_format": mode, "samples": row["samples"],
                              "batch_id": batch_id})
    calls = [a for o in outcomes for a in o.attempts]
    result.judged = sum(1 for o in outcomes if o.judgment is not None)
    result.requeued = len(outcomes) - result.judged
    result.calls = len(calls)
    result.prompt_tokens = sum(a.prompt_tokens for a in calls)
    result.completion_tokens = sum(a.completion_tokens for a in calls)
    result.cost_usd = sum(a.cost_usd for a in calls)
    now = datetime.now(UTC)
    with writer(engine).begin() as conn:
        claimed = conn.execute(text(
            "UPDATE batches SET collected = :t, status = :s, updated_at = :now "
            "WHERE id = :id AND collected = :f"),
            {"t": True, "f": False, "s": status, "now": now, "id": row["id"]}).rowcount
        if not claimed:  # another process collected it meanwhile
            result.judged = result.requeued = result.calls = 0
            return result
        lost = save_outcomes(engine, outcomes, pv=pv, model=row["model"],
                             owner=OWNER_PREFIX + batch_id, params_json=params_json,
                             code_version=code_version_string(), base_url=row["base_url"],
                             failed_state="pending", batch_id=batch_id, conn=conn)
        if lost:  # their leases passed to another run meanwhile: nothing of theirs was stored
            gone = [o for o in outcomes if o.task.id in lost]
            result.judged -= sum(1 for o in gone if o.judgment is not None)
            result.requeued -= sum(1 for o in gone if o.judgment is None)
            result.reasons.append(f"{len(lost)} task(s) not stored: their lease had passed on")
        conn.execute(text(
            "UPDATE batches SET output_file_id = :o, error_file_id = :e, succeeded = :ok, "
            "requeued = :rq, cost_usd = :c, error = :err, collected_at = :now WHERE id = :id"),
            {"o": getattr(remote, "output_file_id", None),
             "e": getattr(remote, "error_file_id", None), "ok": result.judged,
             "rq": result.requeued, "c": result.cost_usd, "err": result.error, "now": now,
             "id": row["id"]})
        conn.execute(text("DELETE FROM batch_items WHERE batch_pk = :pk"), {"pk": row["id"]})
    return result


def cancel_batch(engine: Engine, settings: Settings, batch_id: str) -> str:
    """Ask the provider to cancel; ``collect`` then stores what was answered."""
    rows = open_batches(engine, [batch_id])
    if not rows:
        raise ConfigError(f"no open batch {batch_id} in this database")
    client = make_client(settings, rows[0]["base_url"])
    try:
        remote = client.batches.cancel(batch_id)
    except openai.OpenAIError as exc:
        raise ModelError(f"cannot cancel batch {batch_id}: {exc}") from exc
    with writer(engine).begin() as conn:
        conn.execute(text("UPDATE batches SET status = :s WHERE id = :id"),
                     {"s": remote.status, "id": rows[0]["id"]})
    return remote.status
