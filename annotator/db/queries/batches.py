"""Named queries on the Batch API's bookkeeping: the ``batches`` sent to a provider and
their requests (``batch_items``), from submission to collection. (The calls and judgments
a collected batch stores go through ``annotator.jobs.outcomes`` like any other run's.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from . import sql

_BATCHES = (
    "SELECT b.*, pv.name AS prompt_name, pv.version AS prompt_version FROM batches b "
    "JOIN prompt_versions pv ON pv.id = b.prompt_version_id"
)


def open_batches(conn: Connection, batch_ids: Sequence[str] | None = None) -> Sequence[Any]:
    """Row mappings of the batches not collected yet (only ``batch_ids``, if given), with
    ``prompt_name`` and ``prompt_version``, oldest first."""
    query = sql(
        _BATCHES + " WHERE b.collected = :f" + (" AND b.batch_id IN :ids" if batch_ids else "") + " ORDER BY b.id",
        *(["ids"] if batch_ids else []),
    )
    return conn.execute(query, {"f": False, "ids": list(batch_ids or [])}).mappings().all()


def all_batches(conn: Connection) -> Sequence[Any]:
    """Row mappings of every batch, with ``prompt_name`` and ``prompt_version``, oldest first."""
    return conn.execute(text(_BATCHES + " ORDER BY b.id")).mappings().all()


def set_batch_status(conn: Connection, batch_pk: int, status: str, updated_at: datetime | None = None) -> None:
    """Store the provider's status of a batch (and when it was read, if given)."""
    if updated_at is None:
        conn.execute(text("UPDATE batches SET status = :s WHERE id = :id"), {"s": status, "id": batch_pk})
    else:
        conn.execute(
            text("UPDATE batches SET status = :s, updated_at = :t WHERE id = :id"),
            {"s": status, "t": updated_at, "id": batch_pk},
        )


def batch_items(conn: Connection, batch_pk: int) -> list[dict[str, Any]]:
    """The requests of a batch (custom_id, task_id, sample, request_hash, request_json), by
    task and sample."""
    return [
        dict(r)
        for r in conn.execute(
            text(
                "SELECT custom_id, task_id, sample, request_hash, request_json FROM batch_items "
                "WHERE batch_pk = :pk ORDER BY task_id, sample"
            ),
            {"pk": batch_pk},
        ).mappings()
    ]


def claim_batch(conn: Connection, batch_pk: int, status: str, now: datetime) -> bool:
    """Mark a batch collected (with its final status); False if another process did first."""
    return bool(
        conn.execute(
            text("UPDATE batches SET collected = :t, status = :s, updated_at = :now WHERE id = :id AND collected = :f"),
            {"t": True, "f": False, "s": status, "now": now, "id": batch_pk},
        ).rowcount
    )


def finish_batch(
    conn: Connection,
    batch_pk: int,
    *,
    output_file_id: str | None,
    error_file_id: str | None,
    succeeded: int,
    requeued: int,
    cost_usd: float,
    error: str | None,
    now: datetime,
) -> None:
    """Store what collecting a batch found, and drop its requests."""
    conn.execute(
        text(
            "UPDATE batches SET output_file_id = :o, error_file_id = :e, succeeded = :ok, "
            "requeued = :rq, cost_usd = :c, error = :err, collected_at = :now WHERE id = :id"
        ),
        {
            "o": output_file_id,
            "e": error_file_id,
            "ok": succeeded,
            "rq": requeued,
            "c": cost_usd,
            "err": error,
            "now": now,
            "id": batch_pk,
        },
    )
    conn.execute(text("DELETE FROM batch_items WHERE batch_pk = :pk"), {"pk": batch_pk})
