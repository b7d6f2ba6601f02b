"""Storing finished tasks: every attempt, the judgment and the task state, at once.

One transaction per batch of finished tasks, and only for tasks whose lease
the caller still holds (checked and locked in that same transaction through
``queue.held``), so a worker that lost its lease to another cannot store a
judgment or calls. Used by the runner and by the Batch API collector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from annotator.db.engine import writer
from annotator.db.models import Judgment, LLMCall, PromptVersion
from annotator.injection.detect import detect
from annotator.jobs import queue
from annotator.jobs.queue import ClaimedTask, TaskState
from annotator.judge.client import Attempt, JudgeResult
from annotator.judge.stored_replies import pack_reply
from annotator.methods.sampling import combine_samples
from annotator.redact import redact_url


@dataclass
class Outcome:
    """A finished task: its attempts, and the judgment fields or the reason there are none."""

    task: ClaimedTask
    attempts: list[Attempt]
    judgment: dict | None
    error: str | None


@dataclass(frozen=True)
class JudgmentProvenance:
    """What every stored judgment of one run records about how it was made."""

    params_json: str
    code_version: str
    base_url: str | None
    demo_quality: bool = False


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class (its ``__table__``, which the stubs do not declare)."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass
    return table


_ADD_CALL = table_of(LLMCall).insert()
# judgments: a row already stored for the same task is kept; keyed by "is PostgreSQL"
_ADD_JUDGMENT = {
    True: pg_insert(table_of(Judgment)).on_conflict_do_nothing(),
    False: sqlite_insert(table_of(Judgment)).on_conflict_do_nothing(),
}


def paper_flags(title: str, abstract: str, cut: bool) -> dict[str, Any]:
    """What every judgment records about its input, whatever the method: cut, injection."""
    reasons = detect(f"{title}\n{abstract}")
    return dict(abstract_truncated=cut, injection_flag=bool(reasons), injection_reasons="; ".join(reasons) or None)


def judgment_fields(results: list[JudgeResult], title: str, abstract: str, cut: bool) -> dict:
    """The stored fields of a direct judgment from its (all valid) samples: medians, spreads, flags."""
    ok: list[Any] = [r.judgment for r in results if r.judgment is not None]
    fields, _ = combine_samples(ok, "median")
    fields.update(paper_flags(title, abstract, cut))
    return fields


def save_outcomes(
    engine: Engine,
    batch: list[Outcome],
    *,
    pv: PromptVersion,
    model: str,
    owner: str,
    provenance: JudgmentProvenance,
    failed_state: TaskState = TaskState.FAILED,
    batch_id: str | None = None,
    conn: Connection | None = None,
) -> set[int]:
    """Store finished tasks in one transaction: every attempt, the judgments, the task states.

    Only tasks that ``owner`` still holds (checked and locked in the same
    transaction) are stored; for a task whose lease passed to another worker
    nothing is written, and its id is in the returned set. A task without a
    judgment goes to ``failed_state`` (failed, or pending to be tried again)
    with its error. ``batch_id`` marks calls answered through the Batch API.
    Given ``conn``, the rows join that open transaction instead of a new one.
    """
    if conn is None:
        with writer(engine).begin() as conn:
            return _save(conn, batch, pv, model, owner, provenance, failed_state, batch_id)
    return _save(conn, batch, pv, model, owner, provenance, failed_state, batch_id)


def _save(
    conn: Connection,
    batch: list[Outcome],
    pv: PromptVersion,
    model: str,
    owner: str,
    provenance: JudgmentProvenance,
    failed_state: TaskState,
    batch_id: str | None,
) -> set[int]:
    held = queue.held(conn, sorted({o.task.id for o in batch}), owner)
    lost = {o.task.id for o in batch} - held
    batch = [o for o in batch if o.task.id in held]
    calls = [
        dict(
            task_id=o.task.id,
            paper_id=o.task.paper_id,
            prompt_version_id=pv.id,
            model=model,
            request_hash=a.request_hash,
            request_json=a.request_json,
            response_text=pack_reply(a.response_text, a.logprobs),
            outcome=a.outcome,
            error=a.error,
            status_code=a.status_code,
            attempt=a.attempt,
            reask=a.reask,
            prompt_tokens=a.prompt_tokens,
            completion_tokens=a.completion_tokens,
            latency_ms=a.latency_ms,
            cost_usd=a.cost_usd,
            batch_id=batch_id if a.outcome != "cached" else None,
        )
        for o in batch
        for a in o.attempts
    ]
    if calls:
        conn.execute(_ADD_CALL, calls)
    rows = [
        dict(
            task_id=o.task.id,
            paper_id=o.task.paper_id,
            prompt_version_id=pv.id,
            model=model,
            prompt_name=pv.name,
            prompt_version=pv.version,
            prompt_hash=pv.content_hash,
            params_json=provenance.params_json,
            code_version=provenance.code_version,
            base_url=redact_url(provenance.base_url),
            demo_quality=provenance.demo_quality,
            prompt_tokens=sum(a.prompt_tokens for a in o.attempts),
            completion_tokens=sum(a.completion_tokens for a in o.attempts),
            **o.judgment,
        )
        for o in batch
        if o.judgment is not None
    ]
    # executemany of one cached statement per set of columns (rows of one run share
    # theirs): a multi-row VALUES would be compiled afresh for every batch size
    by_columns: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(row)
    for same in by_columns.values():
        conn.execute(_ADD_JUDGMENT[conn.dialect.name == "postgresql"], same)
    queue.mark_done(conn, [o.task.id for o in batch if o.judgment is not None], owner)
    queue.mark_unjudged(conn, {o.task.id: o.error or "" for o in batch if o.judgment is None}, owner, failed_state)
    return lost
