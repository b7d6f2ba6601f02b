"""The durable task queue, kept in the database itself.

A task is (paper, prompt version, model), unique. Workers *claim* tasks by
writing a lease (owner + expiry); a finished task is written in the same
transaction as its judgment, and only by the lease holder. So:

- a crash, ``kill -9`` or Ctrl-C loses nothing: an unfinished task keeps its
  lease until it expires (or, on the same host, until its owner process is
  seen to be dead) and is then claimed again;
- nothing is judged twice: the judgment row is unique per task key, and a
  worker that lost its lease cannot mark the task done.

SQLite serialises claims with ``BEGIN IMMEDIATE``; PostgreSQL uses
``SELECT ... FOR UPDATE SKIP LOCKED`` so many workers claim without waiting
on each other.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from db.engine import writer

MAX_TAKES = 5  # a task taken this often without finishing is failed (poison pill)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class ClaimedTask:
    id: int
    paper_id: int
    title: str
    abstract: str
    attempts: int


def enqueue(conn: Connection, prompt_version_id: int, model: str, *,
            paper_ids: Iterable[int] | None = None, include_eval: bool = False,
            eval_suite: str | None = None) -> int:
    """Queue every paper that has no task for this prompt version and model."""
    now = "CURRENT_TIMESTAMP"
    where = ["NOT EXISTS (SELECT 1 FROM tasks t WHERE t.paper_id = p.id "
             "AND t.prompt_version_id = :pv AND t.model = :model)"]
    params: dict = {"pv": prompt_version_id, "model": model}
    if eval_suite is not None:
        where.append("p.eval_suite = :suite")
        params["suite"] = eval_suite
    elif not include_eval:
        where.append("p.is_eval = :false")
        params["false"] = False
    if paper_ids is not None:
        ids = sorted(set(paper_ids))
        if not ids:
            return 0
        where.append(f"p.id IN ({','.join(str(int(i)) for i in ids)})")
    sql = (
        "INSERT INTO tasks (paper_id, prompt_version_id, model, state, attempts, created_at, updated_at) "
        # typed casts: PostgreSQL cannot infer one type for a parameter used twice
        f"SELECT p.id, CAST(:pv AS INTEGER), CAST(:model AS VARCHAR), 'pending', 0, {now}, {now} "
        "FROM papers p WHERE "
        + " AND ".join(where) + " ORDER BY p.id"
    )
    if conn.dialect.name == "postgresql":  # two processes queueing the same papers at once
        sql += " ON CONFLICT DO NOTHING"
    return conn.execute(text(sql), params).rowcount or 0


def claim(engine: Engine, owner: str, n: int, lease_s: float, *, prompt_version_id: int,
          model: str, task_ids: list[int] | None = None) -> list[ClaimedTask]:
    """Lease up to ``n`` runnable tasks (pending, or running with a lapsed lease)."""
    now = time.time()
    params = {"pv": prompt_version_id, "model": model, "now": now, "n": n,
              "owner": owner, "exp": now + lease_s}
    scope = ""
    if task_ids is not None:
        scope = f" AND id IN ({','.join(str(int(i)) for i in task_ids) or 'NULL'})"
    # Two picks, not one with OR: each is an ordered index range (ix_tasks_claim,
    # ix_tasks_state_lease), so a claim stays cheap with millions of queued tasks
    # (the OR form sorted every pending task on each claim). Lapsed leases first.
    lock = " FOR UPDATE SKIP LOCKED" if engine.dialect.name == "postgresql" else ""
    base = "SELECT id FROM tasks WHERE prompt_version_id = :pv AND model = :model AND "
    lapsed = base + f"state = 'running' AND lease_expires < :now{scope} ORDER BY id LIMIT :n{lock}"
    pending = base + f"state = 'pending'{scope} ORDER BY id LIMIT :n{lock}"
    with writer(engine).begin() as conn:
        ids = [r[0] for r in conn.execute(text(lapsed), params)]
        if len(ids) < n:
            ids += [r[0] for r in conn.execute(text(pending), {**params, "n": n - len(ids)})]
        if not ids:
            return []
        id_list = ",".join(str(i) for i in ids)
        conn.execute(text(
            "UPDATE tasks SET state = 'running', lease_owner = :owner, lease_expires = :exp, "
            f"attempts = attempts + 1, updated_at = CURRENT_TIMESTAMP WHERE id IN ({id_list})"
        ), params)
        rows = conn.execute(text(
            "SELECT t.id, t.paper_id, p.title, p.abstract, t.attempts FROM tasks t "
            f"JOIN papers p ON p.id = t.paper_id WHERE t.id IN ({id_list}) ORDER BY t.id"
        )).all()
        claimed = [ClaimedTask(*r) for r in rows]
        poisoned = [t.id for t in claimed if t.attempts > MAX_TAKES]
        if poisoned:
            conn.execute(text(
                "UPDATE tasks SET state = 'failed', lease_owner = NULL, lease_expires = NULL, "
                f"last_error = 'taken {MAX_TAKES} times without finishing' "
                f"WHERE id IN ({','.join(map(str, poisoned))})"))
    return [t for t in claimed if t.attempts <= MAX_TAKES]


def renew(engine: Engine, owner: str, task_ids: list[int], lease_s: float) -> None:
    if not task_ids:
        return
    with writer(engine).begin() as conn:
        conn.execute(text(
            "UPDATE tasks SET lease_expires = :exp WHERE lease_owner = :owner AND state = 'running' "
            f"AND id IN ({','.join(str(int(i)) for i in task_ids)})"
        ), {"exp": time.time() + lease_s, "owner": owner})


def release(engine: Engine, owner: str, task_ids: list[int] | None = None) -> int:
    """Give leased, unfinished tasks back (Ctrl-C, budget reached)."""
    scope = ""
    if task_ids is not None:
        if not task_ids:
            return 0
        scope = f" AND id IN ({','.join(str(int(i)) for i in task_ids)})"
    with writer(engine).begin() as conn:
        return conn.execute(text(
            "UPDATE tasks SET state = 'pending', lease_owner = NULL, lease_expires = NULL, "
            "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
            f"WHERE lease_owner = :owner AND state = 'running'{scope}"
        ), {"owner": owner}).rowcount or 0


def reclaim_dead(engine: Engine) -> int:
    """Free tasks leased by processes on this host that no longer exist."""
    host = socket.gethostname()
    with writer(engine).begin() as conn:
        owners = [r[0] for r in conn.execute(text(
            "SELECT DISTINCT lease_owner FROM tasks WHERE state = 'running' AND lease_owner LIKE :h"
        ), {"h": f"{host}:%"})]
        dead = [o for o in owners if not _alive(int(o.split(":")[1]))]
        for owner in dead:
            conn.execute(text(
                "UPDATE tasks SET state = 'pending', lease_owner = NULL, lease_expires = NULL "
                "WHERE lease_owner = :o AND state = 'running'"), {"o": owner})
    return len(dead)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def retry_failed(engine: Engine, *, prompt_version_id: int | None = None,
                 model: str | None = None) -> int:
    where, params = ["state = 'failed'"], {}
    if prompt_version_id is not None:
        where.append("prompt_version_id = :pv")
        params["pv"] = prompt_version_id
    if model is not None:
        where.append("model = :model")
        params["model"] = model
    with writer(engine).begin() as conn:
        return conn.execute(text(
            "UPDATE tasks SET state = 'pending', attempts = 0, last_error = NULL, "
            "lease_owner = NULL, lease_expires = NULL WHERE " + " AND ".join(where)
        ), params).rowcount or 0


def version_key(version: str | None) -> tuple:
    """Sorts prompt versions as numbers ("2" before "10"); other text after them."""
    text_ = str(version or "")
    return (0, int(text_), "") if text_.isdigit() else (1, 0, text_)


def counts(engine: Engine) -> list[dict]:
    """Task counts by prompt version (in numeric order), model and state."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT pv.name, pv.version, t.model, t.state, COUNT(*) FROM tasks t "
            "JOIN prompt_versions pv ON pv.id = t.prompt_version_id "
            "GROUP BY pv.name, pv.version, t.model, t.state"
        )).all()
    rows = sorted(rows, key=lambda r: (r[0], version_key(r[1]), r[2], r[3]))
    return [dict(prompt=f"{r[0]}@{r[1]}", model=r[2], state=r[3], count=r[4]) for r in rows]
