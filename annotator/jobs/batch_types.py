"""What the Batch API path shares: its limits, options, summaries and stored batch rows.

The flow lives in ``batch_submit`` (queue, claim, upload, record) and
``batch_collect`` (poll, download, validate, store, list, cancel).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Final, Literal

CHAT_PATH: Final = "/v1/chat/completions"
OWNER_PREFIX = "batch:"  # tasks in a batch are leased to "batch:<batch id>"
MAX_REQUESTS = 50_000  # OpenAI's limit per batch file
MAX_BYTES = 190 * 1024 * 1024  # OpenAI's limit is 200 MB
TERMINAL = {"completed", "failed", "expired", "cancelled"}


def batch_owner(batch_id: str) -> str:
    """The lease owner of the tasks sent in ``batch_id``."""
    return OWNER_PREFIX + batch_id


def custom_id(task_id: int, sample: int, samples: int) -> str:
    return f"task-{task_id}" if samples == 1 else f"task-{task_id}-s{sample}"


@dataclass
class BatchOptions:
    prompt: str | None = None  # NAME@VERSION or NAME; None: the default (prompts.resolve)
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
    completion_window: Literal["24h"] = "24h"


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


@dataclass
class BatchRow:
    """One stored batch (a ``batches`` row) with its prompt version's name and version."""

    id: int
    batch_id: str
    prompt_version_id: int
    model: str
    base_url: str | None
    input_file_id: str
    output_file_id: str | None
    error_file_id: str | None
    status: str
    collected: bool
    task_ids: str  # JSON list
    samples: int
    requests: int
    succeeded: int
    requeued: int
    estimated_cost_usd: float
    cost_usd: float
    error: str | None
    created_at: datetime | str  # SQLite gives the stored text
    updated_at: datetime | str
    collected_at: datetime | str | None
    prompt_name: str
    prompt_version: str

    @classmethod
    def from_mapping(cls, row: Any) -> BatchRow:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["collected"] = bool(values["collected"])
        return cls(**values)
