"""The durable task queue, kept in the database itself: the one writer of task state.

A task is (paper, prompt version, model), unique. Workers *claim* tasks by
writing a lease (owner + expiry); a finished task is written in the same
transaction as its judgment, and only by the lease holder. So:

- a crash, ``kill -9`` or Ctrl-C loses nothing: an unfinished task keeps its
  lease until it expires (or, on the same host, until its owner process is
  seen to be dead) and is then claimed again;
- nothing is judged twice: the judgment row is unique per task key, and a
  worker that lost its lease cannot mark the task done.

Every change of a task's state or lease goes through a function here; the
runner, the outcome store and the Batch API path call them. Functions that
take a ``Connection`` run inside the caller's transaction, so a lease check
and what is stored under it commit (or roll back) together.

SQLite serialises claims with ``BEGIN IMMEDIATE``; PostgreSQL uses
``SELECT ... FOR UPDATE SKIP LOCKED`` so many workers claim without waiting
on each other.

Lease expiries are epoch seconds of the database's clock (``db.clock``): claims,
renewals, hand-overs and the check for a lapsed lease compute "now" in SQL, so
workers on machines whose clocks disagree still agree on who holds what.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from annotator.db.clock import epoch_now_sql
from annotator.db.engine import writer
from annotator.db.queries import sql
from annotator.jobs.owners import like_prefix, local_pid, process_alive
from annotator.prompts.registry import version_key

log = logging.getLogger("annotator")

MAX_TAKES = 5  # a task taken this often without finishing is failed (poison pill)


class TaskState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ClaimedTask:
    id: int
    paper_id: int
    title: str
    abstract: str
    attempts: int


@dataclass(frozen=True)
class QueueCount:
    """How many tasks of one prompt version and model are in one state."""

    prompt: str  # NAME@VERSION
    model: str
    state: str
    count: int


def _states(**extra: Any) -> dict[str, Any]:
    """The state names as bound parameters (plus ``extra``)."""
    return {
        "pending": TaskState.PENDING.value,
        "running": TaskState.RUNNING.value,
        "done": TaskState.DONE.value,
        "failed": TaskState.FAILED.value,
        **extra,
    }


def enqueue(
    conn: Connection,
    prompt_version_id: int,
    model: str,
    *,
    paper_ids: Iterable[int] | None = None,
    include_eval: bool = False,
    eval_suite: str | None = None,
) -> int:
    """Queue every paper that has no task for this prompt version and model."""
    where = [
        "NOT EXISTS (SELECT 1 FROM tasks t WHERE t.paper_id = p.id AND t.prompt_version_id = :pv AND t.model = :model)"
    ]
    params: dict[str, Any] = _states(pv=prompt_version_id, model=model)
    expanding: list[str] = []
    if eval_suite is not None:
        where.append("p.eval_suite = :suite")
        params["suite"] = eval_suite
    elif not include_eval:
        where.append("p.is_eval = :false")
        params["false"] = False
    if paper_ids is not None:
        ids = sorted({int(i) for i in paper_ids})
        if not ids:
            return 0
        where.append("p.id IN :ids")
        params["ids"] = ids
        expanding.append("ids")
    statement = (
        "INSERT INTO tasks (paper_id, prompt_version_id, model, state, attempts, created_at, updated_at) "
        # typed casts: PostgreSQL cannot infer one type for a parameter used twice
        "SELECT p.id, CAST(:pv AS INTEGER), CAST(:model AS VARCHAR), CAST(:pending AS VARCHAR), 0, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM papers p WHERE " + " AND ".join(where) + " ORDER BY p.id"
    )
    if conn.dialect.name == "postgresql":  # two processes queueing the same papers at once
        statement += " ON CONFLICT DO NOTHING"
    return conn.execute(sql(statement, *expanding), params).rowcount or 0


def claim(
    engine: Engine,
    owner: str,
    n: int,
    lease_s: float,
    *,
    prompt_version_id: int,
    model: str,
    task_ids: list[int] | None = None,
) -> list[ClaimedTask]:
    """Lease up to ``n`` runnable tasks (pending, or running with a lapsed lease)."""
    now = epoch_now_sql(engine.dialect.name)
    params = _states(
        pv=prompt_version_id,
        model=model,
        n=n,
        owner=owner,
        lease=float(lease_s),
        scope=[int(i) for i in task_ids or []],
        taken=f"taken {MAX_TAKES} times without finishing",
    )
    scope, expanding = "", []
    if task_ids is not None:
        if not task_ids:
            return []
        scope, expanding = " AND id IN :scope", ["scope"]
    # Two picks, not one with OR: each is an ordered index range (ix_tasks_claim,
    # ix_tasks_state_lease), so a claim stays cheap with millions of queued tasks
    # (the OR form sorted every pending task on each claim). Lapsed leases first.
    lock = " FOR UPDATE SKIP LOCKED" if engine.dialect.name == "postgresql" else ""
    base = "SELECT id FROM tasks WHERE prompt_version_id = :pv AND model = :model AND "
    lapsed = base + f"state = :running AND lease_expires <= {now}{scope} ORDER BY id LIMIT :n{lock}"
    pending = base + f"state = :pending{scope} ORDER BY id LIMIT :n{lock}"
    with writer(engine).begin() as conn:
        ids = [r[0] for r in conn.execute(sql(lapsed, *expanding), params)]
        if len(ids) < n:
            more = conn.execute(sql(pending, *expanding), {**params, "n": n - len(ids)})
            ids += [r[0] for r in more]
        if not ids:
            return []
        conn.execute(
            sql(
                f"UPDATE tasks SET state = :running, lease_owner = :owner, lease_expires = {now} + :lease, "
                "attempts = attempts + 1, updated_at = CURRENT_TIMESTAMP WHERE id IN :ids",
                "ids",
            ),
            {**params, "ids": ids},
        )
        claimed = tasks_by_id(conn, ids)
        poisoned = [t.id for t in claimed if t.attempts > MAX_TAKES]
        if poisoned:
            conn.execute(
                sql(
                    "UPDATE tasks SET state = :failed, lease_owner = NULL, lease_expires = NULL, "
                    "last_error = :taken WHERE id IN :ids",
                    "ids",
                ),
                {**params, "ids": poisoned},
            )
    return [t for t in claimed if t.attempts <= MAX_TAKES]


def tasks_by_id(conn: Connection, task_ids: Sequence[int]) -> list[ClaimedTask]:
    """The tasks with their papers' title and abstract, in id order."""
    if not task_ids:
        return []
    rows = conn.execute(
        sql(
            "SELECT t.id, t.paper_id, p.title, p.abstract, t.attempts FROM tasks t "
            "JOIN papers p ON p.id = t.paper_id WHERE t.id IN :ids ORDER BY t.id",
            "ids",
        ),
        {"ids": [int(i) for i in task_ids]},
    ).all()
    return [ClaimedTask(*r) for r in rows]


def runnable(engine: Engine, prompt_version_id: int, model: str) -> int:
    """How many tasks a claim could take now (pending, or running with a lapsed lease)."""
    now = epoch_now_sql(engine.dialect.name)
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT COUNT(*) FROM tasks WHERE prompt_version_id = :pv AND model = :m "
                f"AND (state = :pending OR (state = :running AND lease_expires <= {now}))"
            ),
            _states(pv=prompt_version_id, m=model),
        ).scalar_one()


def renew(engine: Engine, owner: str, task_ids: list[int], lease_s: float) -> None:
    if not task_ids:
        return
    now = epoch_now_sql(engine.dialect.name)
    with writer(engine).begin() as conn:
        conn.execute(
            sql(
                f"UPDATE tasks SET lease_expires = {now} + :lease WHERE lease_owner = :owner "
                "AND state = :running AND id IN :ids",
                "ids",
            ),
            _states(lease=float(lease_s), owner=owner, ids=[int(i) for i in task_ids]),
        )


def hand_over(conn: Connection, task_ids: Sequence[int], old_owner: str, new_owner: str, lease_s: float) -> int:
    """Pass the leases ``old_owner`` holds on these tasks to ``new_owner`` (caller's transaction)."""
    if not task_ids:
        return 0
    now = epoch_now_sql(conn.dialect.name)
    return (
        conn.execute(
            sql(
                f"UPDATE tasks SET lease_owner = :new, lease_expires = {now} + :lease, "
                "updated_at = CURRENT_TIMESTAMP WHERE lease_owner = :old AND state = :running "
                "AND id IN :ids",
                "ids",
            ),
            _states(new=new_owner, old=old_owner, lease=float(lease_s), ids=[int(i) for i in task_ids]),
        ).rowcount
        or 0
    )


def release(engine: Engine, owner: str, task_ids: list[int] | None = None) -> int:
    """Give leased, unfinished tasks back (Ctrl-C, budget reached)."""
    scope, expanding = "", []
    if task_ids is not None:
        if not task_ids:
            return 0
        scope, expanding = " AND id IN :ids", ["ids"]
    with writer(engine).begin() as conn:
        return (
            conn.execute(
                sql(
                    "UPDATE tasks SET state = :pending, lease_owner = NULL, lease_expires = NULL, "
                    "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
                    f"WHERE lease_owner = :owner AND state = :running{scope}",
                    *expanding,
                ),
                _states(owner=owner, ids=[int(i) for i in task_ids or []]),
            ).rowcount
            or 0
        )


def held(conn: Connection, task_ids: Sequence[int], owner: str) -> set[int]:
    """Which of the tasks ``owner`` still leases; locked until the caller's transaction ends.

    SQLite: the writer's ``BEGIN IMMEDIATE`` already holds the write lock.
    PostgreSQL: ``FOR UPDATE`` keeps claims (``SKIP LOCKED``) off these rows.
    """
    if not task_ids:
        return set()
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    return {
        r[0]
        for r in conn.execute(
            sql(f"SELECT id FROM tasks WHERE lease_owner = :owner AND state = :running AND id IN :ids{lock}", "ids"),
            _states(owner=owner, ids=[int(i) for i in task_ids]),
        )
    }


def mark_done(conn: Connection, task_ids: Sequence[int], owner: str) -> None:
    """Tasks judged: ``done``, lease cleared (caller's transaction, after ``held``)."""
    if not task_ids:
        return
    conn.execute(
        sql(
            "UPDATE tasks SET state = :done, lease_owner = NULL, lease_expires = NULL, "
            "last_error = NULL, updated_at = CURRENT_TIMESTAMP "
            "WHERE lease_owner = :owner AND id IN :ids",
            "ids",
        ),
        _states(owner=owner, ids=[int(i) for i in task_ids]),
    )


def mark_unjudged(conn: Connection, errors: dict[int, str], owner: str, state: TaskState = TaskState.FAILED) -> None:
    """Tasks without a judgment: to ``state`` (failed, or pending to be tried again) with
    their error, lease cleared (caller's transaction, after ``held``)."""
    for task_id, error in errors.items():
        conn.execute(
            text(
                "UPDATE tasks SET state = :state, lease_owner = NULL, lease_expires = NULL, "
                "last_error = :err, updated_at = CURRENT_TIMESTAMP "
                "WHERE id = :id AND lease_owner = :owner"
            ),
            {"state": state.value, "err": error[:2000], "id": task_id, "owner": owner},
        )


def reclaim_dead(engine: Engine, *, host: str | None = None) -> int:
    """Free tasks leased by processes on this host that no longer exist.

    ``host`` is this machine's name (default ``socket.gethostname()``). Its ``_`` and
    ``%`` are matched literally; an owner that does not read as ``host:pid:tag`` is
    left alone with a warning (never guessed at: it may be another machine's).
    """
    host = host or socket.gethostname()
    with writer(engine).begin() as conn:
        owners = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT DISTINCT lease_owner FROM tasks WHERE state = :running AND lease_owner LIKE :h ESCAPE '!'"
                ),
                _states(h=like_prefix(host + ":")),
            )
        ]
        dead = []
        for owner in owners:
            pid = local_pid(owner, host)
            if pid is None:
                log.warning("tasks leased by %r are left alone: the owner does not read as %s:PID:TAG", owner, host)
            elif not process_alive(pid):
                dead.append(owner)
        for owner in dead:
            conn.execute(
                text(
                    "UPDATE tasks SET state = :pending, lease_owner = NULL, lease_expires = NULL "
                    "WHERE lease_owner = :o AND state = :running"
                ),
                _states(o=owner),
            )
    return len(dead)


def retry_failed(engine: Engine, *, prompt_version_id: int | None = None, model: str | None = None) -> int:
    where, params = ["state = :failed"], _states()
    if prompt_version_id is not None:
        where.append("prompt_version_id = :pv")
        params["pv"] = prompt_version_id
    if model is not None:
        where.append("model = :model")
        params["model"] = model
    with writer(engine).begin() as conn:
        return (
            conn.execute(
                text(
                    "UPDATE tasks SET state = :pending, attempts = 0, last_error = NULL, "
                    "lease_owner = NULL, lease_expires = NULL WHERE " + " AND ".join(where)
                ),
                params,
            ).rowcount
            or 0
        )


def counts(engine: Engine) -> list[QueueCount]:
    """Task counts by prompt version (in numeric order), model and state."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pv.name, pv.version, t.model, t.state, COUNT(*) FROM tasks t "
                "JOIN prompt_versions pv ON pv.id = t.prompt_version_id "
                "GROUP BY pv.name, pv.version, t.model, t.state"
            )
        ).all()
    rows = sorted(rows, key=lambda r: (r[0], version_key(r[1]), r[2], r[3]))
    return [QueueCount(prompt=f"{r[0]}@{r[1]}", model=r[2], state=r[3], count=r[4]) for r in rows]
