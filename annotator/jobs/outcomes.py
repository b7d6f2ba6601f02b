"""Storing finished tasks: every attempt, the judgment and the task state, at once.

One transaction per batch of finished tasks, and only for tasks whose lease
the caller still holds (checked and locked in that same transaction), so a
worker that lost its lease to another cannot store a judgment or calls.
Used by the runner and by the Batch API collector.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from annotator.jobs.queue import ClaimedTask
from annotator.judge.client import Attempt
from db.engine import writer
from db.models import Judgment, LLMCall, PromptVersion


@dataclass
class Outcome:
    """A finished task: its attempts, and the judgment fields or the reason there are none."""

    task: ClaimedTask
    attempts: list[Attempt]
    judgment: dict | None
    error: str | None


def save_outcomes(engine: Engine, batch: list[Outcome], *, pv: PromptVersion, model: str,
                  owner: str, params_json: str, code_version: str, base_url: str | None,
                  demo_quality: bool = False, failed_state: str = "failed",
                  batch_id: str | None = None, conn: Connection | None = None) -> set[int]:
    """Store finished tasks in one transaction: every attempt, the judgments, the task states.

    Only tasks that ``owner`` still holds (checked and locked in the same
    transaction) are stored; for a task whose lease passed to another worker
    nothing is written, and its id is in the returned set. A task without a
    judgment goes to ``failed_state`` ("failed", or "pending" to be tried again)
    with its error. ``batch_id`` marks calls answered through the Batch API.
    Given ``conn``, the rows join that open transaction instead of a new one.
    """
    if conn is None:
        with writer(engine).begin() as conn:
            return _save_outcomes(conn, batch, pv, model, owner, params_json, code_version,
                                  base_url, demo_quality, failed_state, batch_id)
    return _save_outcomes(conn, batch, pv, model, owner, params_json, code_version, base_url,
                          demo_quality, failed_state, batch_id)


def _held(conn: Connection, task_ids: list[int], owner: str) -> set[int]:
    """Which of the tasks ``owner`` still leases; locked until the transaction ends.

    SQLite: the writer's ``BEGIN IMMEDIATE`` already holds the write lock.
    PostgreSQL: ``FOR UPDATE`` keeps claims (``SKIP LOCKED``) off these rows.
    """
    if not task_ids:
        return set()
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    return {r[0] for r in conn.execute(text(
        "SELECT id FROM tasks WHERE lease_owner = :owner AND state = 'running' "
        f"AND id IN ({','.join(str(int(i)) for i in task_ids)}){lock}"), {"owner": owner})}


def _save_outcomes(conn: Connection, batch: list[Outcome], pv: PromptVersion, model: str,
                   owner: str, params_json: str, code_version: str, base_url: str | None,
                   demo_quality: bool, failed_state: str, batch_id: str | None) -> set[int]:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    held = _held(conn, sorted({o.task.id for o in batch}), owner)
    lost = {o.task.id for o in batch} - held
    batch = [o for o in batch if o.task.id in held]
    calls = [dict(task_id=o.task.id, paper_id=o.task.paper_id, prompt_version_id=pv.id,
                  model=model, request_hash=a.request_hash, request_json=a.request_json,
                  response_text=a.response_text, outcome=a.outcome, error=a.error,
                  status_code=a.status_code, attempt=a.attempt, reask=a.reask,
                  prompt_tokens=a.prompt_tokens, completion_tokens=a.completion_tokens,
                  latency_ms=a.latency_ms, cost_usd=a.cost_usd,
                  batch_id=batch_id if a.outcome != "cached" else None)
             for o in batch for a in o.attempts]
    if calls:
        conn.execute(LLMCall.__table__.insert(), calls)
    rows = []
    for o in batch:
        if o.judgment is None:
            continue
        rows.append(dict(
            task_id=o.task.id, paper_id=o.task.paper_id, prompt_version_id=pv.id,
            model=model, prompt_name=pv.name, prompt_version=pv.version,
            prompt_hash=pv.content_hash, params_json=params_json,
            code_version=code_version, base_url=base_url, demo_quality=demo_quality,
            prompt_tokens=sum(a.prompt_tokens for a in o.attempts),
            completion_tokens=sum(a.completion_tokens for a in o.attempts),
            **o.judgment))
    if rows:
        conn.execute(insert(Judgment.__table__).values(rows).on_conflict_do_nothing())
    done = [o.task.id for o in batch if o.judgment is not None]
    if done:
        conn.execute(text(
            "UPDATE tasks SET state = 'done', lease_owner = NULL, lease_expires = NULL, "
            "last_error = NULL, updated_at = CURRENT_TIMESTAMP "
            f"WHERE lease_owner = :owner AND id IN ({','.join(map(str, done))})"),
            {"owner": owner})
    for o in batch:
        if o.judgment is None:
            conn.execute(text(
                "UPDATE tasks SET state = :state, lease_owner = NULL, lease_expires = NULL, "
                "last_error = :err, updated_at = CURRENT_TIMESTAMP "
                "WHERE id = :id AND lease_owner = :owner"),
                {"state": failed_state, "err": (o.error or "")[:2000], "id": o.task.id,
                 "owner": owner})
    return lost
