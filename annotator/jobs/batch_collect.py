"""Judging through the provider's Batch API, part two: collecting (and listing, cancelling).

``collect_batches`` polls the open batches and, for each finished one,
downloads the output and error files, validates every reply with the same
parsing as the synchronous path and stores calls, judgments and task states
with ``outcomes.save_outcomes``, in one transaction per batch. Lines that
failed, replies that did not validate and lines the provider never answered
(expired, cancelled) send their task back to the queue (``pending``) with the
reason. Batch calls are priced with the Batch API discount.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import openai
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from annotator.db.engine import writer
from annotator.db.models import PromptVersion
from annotator.db.queries import batches
from annotator.errors import ConfigError, ModelError
from annotator.jobs import queue
from annotator.jobs.batch_types import TERMINAL, BatchResult, BatchRow, CollectSummary, batch_owner
from annotator.jobs.outcomes import JudgmentProvenance, Outcome, judgment_fields, save_outcomes
from annotator.jobs.queue import TaskState
from annotator.judge.client import Attempt, JudgeResult, ModelClient
from annotator.judge.endpoint import files_client
from annotator.judge.messages import task_messages
from annotator.judge.prices import cost_usd
from annotator.prompts.files import parse_prompt
from annotator.prompts.registry import full_row
from annotator.prompts.schema import parse_reply
from annotator.provenance import code_version
from annotator.settings import Settings


def open_batches(engine: Engine, batch_ids: list[str] | None = None) -> list[BatchRow]:
    """Batches not collected yet (only ``batch_ids``, if given), oldest first."""
    with engine.connect() as conn:
        return [BatchRow.from_mapping(r) for r in batches.open_batches(conn, batch_ids)]


def list_batches(engine: Engine) -> list[BatchRow]:
    with engine.connect() as conn:
        return [BatchRow.from_mapping(r) for r in batches.all_batches(conn)]


def collect_batches(
    engine: Engine,
    settings: Settings,
    *,
    batch_ids: list[str] | None = None,
    wait: bool = False,
    poll_s: float = 30.0,
    timeout_s: float | None = None,
    on_poll: Callable[[list[BatchResult]], None] | None = None,
) -> CollectSummary:
    """Store the answers of finished batches; with ``wait``, poll until all are finished."""
    rows = open_batches(engine, batch_ids)
    if batch_ids:
        known = {r.batch_id for r in rows}
        missing = [b for b in batch_ids if b not in known]
        if missing:
            raise ConfigError(f"no open batch {', '.join(missing)} in this database (see: annotator batch list)")
    summary = CollectSummary()
    if not rows:
        return summary
    client = files_client(settings, rows[0].base_url)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    done: dict[str, BatchResult] = {}
    while True:
        waiting: list[BatchResult] = []
        for row in rows:
            if row.batch_id in done:
                continue
            result = _poll_one(engine, client, row, settings)
            if result.collected:
                done[row.batch_id] = result
            else:
                waiting.append(result)
        if on_poll:
            on_poll(list(done.values()) + waiting)
        if not waiting or not wait or (deadline is not None and time.monotonic() >= deadline):
            summary.batches = [
                done.get(r.batch_id) or next(w for w in waiting if w.batch_id == r.batch_id) for r in rows
            ]
            return summary
        time.sleep(poll_s)


def _poll_one(engine: Engine, client: openai.OpenAI, row: BatchRow, settings: Settings) -> BatchResult:
    try:
        remote = client.batches.retrieve(row.batch_id)
    except openai.OpenAIError as exc:
        raise ModelError(f"cannot read batch {row.batch_id}: {exc}") from exc
    status = remote.status
    if status not in TERMINAL:
        with writer(engine).begin() as conn:
            batches.set_batch_status(conn, row.id, status, datetime.now(UTC))
        return BatchResult(row.batch_id, status)
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


def _batch_error(remote: openai.types.Batch) -> str | None:
    errors = getattr(remote, "errors", None)
    data = getattr(errors, "data", None) or []
    parts = [f"{getattr(e, 'code', '') or ''}: {getattr(e, 'message', '') or ''}".strip(": ") for e in data[:3]]
    return "; ".join(p for p in parts if p) or None


def _attempt(
    item: dict, line: dict | None, model: str, output_model: type[BaseModel]
) -> tuple[Attempt | None, JudgeResult | None, str]:
    """(the call to store, the judge result if valid, the reason if not) for one line."""
    if line is None:
        return None, None, "no result"
    attempt = Attempt(request_hash=item["request_hash"], request_json=item["request_json"], outcome="http_error")
    response, error = line.get("response"), line.get("error")
    if isinstance(response, dict) and response.get("status_code") == 200:
        try:
            completion = openai.types.chat.ChatCompletion.model_validate(response.get("body"))
        except Exception as exc:  # pydantic.ValidationError, not a completion
            attempt.outcome, attempt.status_code = "invalid", 200
            attempt.error = f"not a chat completion: {str(exc)[:300]}"
            return attempt, None, attempt.error
        ModelClient._read_completion(
            completion.model_dump(exclude_none=True), attempt, json.loads(item["request_json"])
        )
        attempt.status_code = 200
        attempt.cost_usd = cost_usd(model, attempt.prompt_tokens, attempt.completion_tokens, batch=True)
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


def _collect_one(
    engine: Engine, client: openai.OpenAI, row: BatchRow, remote: openai.types.Batch, settings: Settings
) -> BatchResult:
    batch_id, status = row.batch_id, remote.status
    result = BatchResult(batch_id, status, collected=True, error=_batch_error(remote))
    lines = _download(client, getattr(remote, "output_file_id", None))
    lines.update(_download(client, getattr(remote, "error_file_id", None)))
    task_ids = json.loads(row.task_ids)
    with engine.connect() as conn:
        pv = PromptVersion(**full_row(conn, row.prompt_version_id))
        items = batches.batch_items(conn, row.id)
        tasks = {t.id: t for t in queue.tasks_by_id(conn, task_ids)}
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
            attempt, judge, reason = _attempt(item, lines.get(item["custom_id"]), row.model, prompt.output_model)
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
    provenance = JudgmentProvenance(
        params_json=json.dumps({**params, "response_format": mode, "samples": row.samples, "batch_id": batch_id}),
        code_version=code_version().label,
        base_url=row.base_url,
    )
    calls = [a for o in outcomes for a in o.attempts]
    result.judged = sum(1 for o in outcomes if o.judgment is not None)
    result.requeued = len(outcomes) - result.judged
    result.calls = len(calls)
    result.prompt_tokens = sum(a.prompt_tokens for a in calls)
    result.completion_tokens = sum(a.completion_tokens for a in calls)
    result.cost_usd = sum(a.cost_usd for a in calls)
    now = datetime.now(UTC)
    with writer(engine).begin() as conn:
        if not batches.claim_batch(conn, row.id, status, now):  # another process collected it meanwhile
            result.judged = result.requeued = result.calls = 0
            return result
        lost = save_outcomes(
            engine,
            outcomes,
            pv=pv,
            model=row.model,
            owner=batch_owner(batch_id),
            provenance=provenance,
            failed_state=TaskState.PENDING,
            batch_id=batch_id,
            conn=conn,
        )
        if lost:  # their leases passed to another run meanwhile: nothing of theirs was stored
            gone = [o for o in outcomes if o.task.id in lost]
            result.judged -= sum(1 for o in gone if o.judgment is not None)
            result.requeued -= sum(1 for o in gone if o.judgment is None)
            result.reasons.append(f"{len(lost)} task(s) not stored: their lease had passed on")
        batches.finish_batch(
            conn,
            row.id,
            output_file_id=getattr(remote, "output_file_id", None),
            error_file_id=getattr(remote, "error_file_id", None),
            succeeded=result.judged,
            requeued=result.requeued,
            cost_usd=result.cost_usd,
            error=result.error,
            now=now,
        )
    return result


def cancel_batch(engine: Engine, settings: Settings, batch_id: str) -> str:
    """Ask the provider to cancel; ``collect`` then stores what was answered."""
    rows = open_batches(engine, [batch_id])
    if not rows:
        raise ConfigError(f"no open batch {batch_id} in this database")
    client = files_client(settings, rows[0].base_url)
    try:
        remote = client.batches.cancel(batch_id)
    except openai.OpenAIError as exc:
        raise ModelError(f"cannot cancel batch {batch_id}: {exc}") from exc
    with writer(engine).begin() as conn:
        batches.set_batch_status(conn, rows[0].id, remote.status)
    return remote.status
