"""Operational tables: Batch API submissions and fetch cursors (with their leases).

Registered with SQLModel's metadata when ``db.models`` is imported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from annotator.db.clock import utcnow


class Batch(SQLModel, table=True):
    """One submission to the provider's Batch API (``annotator batch submit``).

    Its tasks stay ``running`` under the lease owner ``batch:<batch_id>`` until
    ``annotator batch collect`` stores the answers (or puts them back in the
    queue). Added by migration ``m004_batches``.
    """

    __tablename__ = "batches"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(index=True, unique=True)  # the provider's id ("batch_...")
    prompt_version_id: int = Field(foreign_key="prompt_versions.id", index=True)
    model: str
    base_url: str | None = None
    input_file_id: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    # the provider's status: validating | in_progress | finalizing | completed |
    # failed | expired | cancelling | cancelled
    status: str = "validating"
    collected: bool = Field(default=False, index=True)
    task_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    samples: int = 1
    requests: int = 0
    succeeded: int = 0  # tasks judged when collected
    requeued: int = 0  # tasks put back in the queue when collected
    estimated_cost_usd: float = 0.0
    cost_usd: float = 0.0
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    collected_at: datetime | None = None


class BatchItem(SQLModel, table=True):
    """One line of a submitted batch file, kept until the batch is collected."""

    __tablename__ = "batch_items"
    __table_args__ = (UniqueConstraint("batch_pk", "custom_id"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_pk: int = Field(foreign_key="batches.id", index=True)
    custom_id: str
    task_id: int = Field(foreign_key="tasks.id", index=True)
    sample: int = 0
    request_hash: str
    request_json: str = Field(sa_column=Column(Text, nullable=False))


class FetchCursor(SQLModel, table=True):
    """Where a recurring fetch stands (``annotator fetch``, ``feed run``), and who holds it.

    One row per (source, query). ``through`` is the newest update time stored so far
    (an ISO timestamp for arXiv, a date for OpenAlex); the next window starts after it.
    A window being read keeps its bounds and the next page's position (an arXiv
    offset or an OpenAlex cursor), so an interrupted fetch resumes at that page.
    ``holder`` and ``lease_expires`` (epoch seconds) are a lease held while a fetch
    of the query, or a feed run (source ``feed``), is running. Added by migration
    ``m010_fetch_cursors``.
    """

    __tablename__ = "fetch_cursors"
    __table_args__ = (UniqueConstraint("source", "query"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str  # "arxiv", "openalex", "feed"
    query: str
    through: str | None = None
    window_from: str | None = None
    window_to: str | None = None
    position: str | None = None
    pages: int = 0
    entries: int = 0
    holder: str | None = None
    lease_expires: float | None = None
    updated_at: datetime = Field(default_factory=utcnow)
