"""The core tables (papers, authors, prompts, tasks, calls, judgments). One class per table; plain foreign keys.

Times are stored as timezone-aware UTC datetimes except lease expiries, which
are epoch seconds (floats) so that claiming a task is one cheap comparison on
both SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from annotator.db.clock import utcnow


def _partial(name: str, column: str, where: str, unique: bool = False) -> Index:
    return Index(name, column, unique=unique, sqlite_where=text(where), postgresql_where=text(where))


def _ids_index(table: str, column: str, unique: bool = False) -> Index:
    """An identifier most rows lack: an index of the rows that have one. ``col = :v`` and
    ``col IN (...)`` imply ``col IS NOT NULL``, so both planners still seek it; the NULLs
    add nothing to write (``m013_write_indexes``). A paper's match keys are unique
    (``ux_``, ``m014_unique_paper_keys``): two ingests at once cannot store one paper twice."""
    prefix = "ux" if unique else "ix"
    return _partial(f"{prefix}_{table}_{column}", column, f"{column} IS NOT NULL", unique)


class Paper(SQLModel, table=True):
    __tablename__ = "papers"
    # the few eval papers' ids without reading their rows (``NOT IN`` eval papers on
    # PostgreSQL); papers outside the suites add no entry. Added by ``m012_paper_indexes``.
    __table_args__ = (
        _partial("ix_papers_eval_ids", "id", "is_eval"),
        _ids_index("papers", "external_id"),
        *(_ids_index("papers", c, unique=True) for c in ("arxiv_id", "doi", "openalex_id", "title_key")),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The identity used for idempotent re-ingest: "arxiv:2307.09782",
    # "doi:10.1/x", "openreview:abc", or "title:<normalised title>|<first author>".
    key: str = Field(index=True, unique=True)
    arxiv_id: str | None = None
    doi: str | None = None
    openalex_id: str | None = None
    external_id: str | None = None
    # "<normalised title>|<normalised first author>": the last match key of an ingest
    title_key: str | None = None
    title: str
    norm_title: str = Field(index=True)
    abstract: str = Field(sa_column=Column(Text, nullable=False))
    category: str | None = None
    categories: str = "[]"  # JSON list
    published: date | None = Field(default=None, index=True)
    has_code: bool | None = None
    authors_truncated: bool = False  # the source listed authors with "et al."
    venue: str | None = None
    source_format: str | None = None
    source_ref: str | None = None  # "file:line" of the last ingest
    # stays: the queries compare ``is_eval = :t`` with a bound value, which SQLite
    # cannot match to the partial ``ix_papers_eval_ids``
    is_eval: bool = Field(default=False, index=True)
    eval_suite: str | None = None
    content_hash: str = ""  # sha256 of title + abstract; changes re-open judgments
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Author(SQLModel, table=True):
    __tablename__ = "authors"
    __table_args__ = tuple(_ids_index("authors", c) for c in ("openalex_id", "s2_id", "orcid"))

    id: int | None = Field(default=None, primary_key=True)
    name: str
    norm_name: str = Field(index=True)
    primary_category: str | None = None
    openalex_id: str | None = None
    s2_id: str | None = None
    orcid: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Authorship(SQLModel, table=True):
    __tablename__ = "authorships"
    # A rowid table on purpose: as WITHOUT ROWID, ``ix_authorships_author`` gains
    # ``position`` and SQLite's planner then prefers it to the paper-ordered index for
    # "this author at an earlier position" (``JUDGED_PAIRS_SQL``), and that query, behind
    # the aggregates' full refresh, took twice as long; it saved about 2 % of an ingest.
    __table_args__ = (
        Index("ix_authorships_author", "author_id", "paper_id"),
        # a paper's authors in order, without touching the table (leaderboards)
        Index("ix_authorships_paper_author", "paper_id", "author_id", "position"),
    )

    paper_id: int = Field(foreign_key="papers.id", primary_key=True)
    position: int = Field(primary_key=True)  # 0-based order on the paper
    author_id: int = Field(foreign_key="authors.id")


class Affiliation(SQLModel, table=True):
    __tablename__ = "affiliations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)


class PaperAffiliation(SQLModel, table=True):
    __tablename__ = "paper_affiliations"
    __table_args__ = (Index("ix_paper_affiliations_affiliation", "affiliation_id", "paper_id"),)

    paper_id: int = Field(foreign_key="papers.id", primary_key=True)
    affiliation_id: int = Field(foreign_key="affiliations.id", primary_key=True)
    position: int = 0


class AuthorMetric(SQLModel, table=True):
    """A dated snapshot of an author's bibliometrics from one source."""

    __tablename__ = "author_metrics"
    # the latest snapshot of an author: one index seek
    __table_args__ = (Index("ix_author_metrics_latest", "author_id", "as_of", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="authors.id", index=True)
    source: str  # "feedpage", "openalex", "semanticscholar", "csv"
    as_of: date
    h_index: int | None = None
    citations: int | None = None
    works_count: int | None = None
    # Values a source reports for its own scores (the feed page's Novelty % and
    # AI Score); kept as reported, never mixed with ours.
    reported_ai_score: float | None = None
    reported_novelty: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PaperMetric(SQLModel, table=True):
    __tablename__ = "paper_metrics"
    # also serves ``paper_id = :p`` alone (its first column)
    __table_args__ = (Index("ix_paper_metrics_latest", "paper_id", "as_of", "id", "citations"),)

    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="papers.id")
    source: str
    as_of: date
    citations: int | None = None
    influential_citations: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PromptVersion(SQLModel, table=True):
    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    version: str
    content_hash: str
    path: str | None = None
    text: str = Field(sa_column=Column(Text, nullable=False))  # the whole file
    params_json: str = "{}"
    active: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Task(SQLModel, table=True):
    """One unit of queued work: judge one paper with one prompt version and model."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("paper_id", "prompt_version_id", "model"),
        Index("ix_tasks_state_lease", "state", "lease_expires"),
        # claiming reads pending tasks of one prompt version and model in id order
        Index("ix_tasks_claim", "prompt_version_id", "model", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="papers.id")
    prompt_version_id: int = Field(foreign_key="prompt_versions.id")
    model: str
    state: str = "pending"  # pending | running | done | failed
    attempts: int = 0  # how many times a worker has taken it
    lease_owner: str | None = None
    lease_expires: float | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LLMCall(SQLModel, table=True):
    """One HTTP attempt (or one cache hit) against the model."""

    __tablename__ = "llm_calls"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int | None = Field(default=None, foreign_key="tasks.id", index=True)
    paper_id: int | None = Field(default=None, index=True)
    prompt_version_id: int | None = Field(default=None, index=True)
    model: str
    request_hash: str = Field(index=True)
    request_json: str = Field(sa_column=Column(Text, nullable=False))
    response_text: str | None = Field(default=None, sa_column=Column(Text))
    # ok | invalid (reply failed validation) | http_error | timeout | connection | cached
    outcome: str
    error: str | None = Field(default=None, sa_column=Column(Text))
    status_code: int | None = None
    attempt: int = 1  # HTTP attempt number within one request
    reask: int = 0  # how many validation re-asks preceded this request
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # The provider's batch id when the call went through the Batch API (billed at
    # half price); added by migration ``m004_batches``.
    batch_id: str | None = Field(default=None, index=True)


class Judgment(SQLModel, table=True):
    """A validated judgment. Only replies that passed validation get here."""

    __tablename__ = "judgments"
    __table_args__ = (
        UniqueConstraint("paper_id", "prompt_version_id", "model"),
        # covering index: "judgments of one prompt version and model" for
        # profiles and leaderboards, in one pass
        Index("ix_judgments_pv_model_paper", "prompt_version_id", "model", "paper_id", "ai_score", "novelty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int | None = Field(default=None, foreign_key="tasks.id", unique=True)
    paper_id: int = Field(foreign_key="papers.id", index=True)
    prompt_version_id: int = Field(foreign_key="prompt_versions.id", index=True)
    model: str
    ai_score: int
    novelty: int
    rationale: str = Field(sa_column=Column(Text, nullable=False))
    # Provenance: copied so a judgment explains itself without joins.
    prompt_name: str
    prompt_version: str
    prompt_hash: str
    params_json: str = "{}"
    code_version: str = ""
    base_url: str | None = None
    demo_quality: bool = False  # made by the embedded demo model
    # Handling recorded on the judgment.
    abstract_truncated: bool = False
    injection_flag: bool = False
    injection_reasons: str | None = None
    samples_json: str | None = None  # all samples when --samples K > 1
    ai_score_spread: float | None = None
    novelty_spread: float | None = None
    # judging method and what it measured besides the scores (m008_judgment_methods)
    method: str = Field(default="direct", sa_column_kwargs={"server_default": "direct"})
    details_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prompt_tokens: int = 0  # summed over every attempt that led here
    completion_tokens: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class AuthorPaper(SQLModel, table=True):
    """A paper a profile source says is the author's, where the author list may not show it.

    The feed page lists an author's papers with truncated author lists ("et al."), and
    OpenAlex/Semantic Scholar author works name papers the same way; these rows keep that
    membership apart from ``authorships`` (which holds the visible, ordered author list).
    Added by migration ``m003_author_papers``.
    """

    __tablename__ = "author_papers"
    __table_args__ = (Index("ix_author_papers_paper", "paper_id", "author_id"),)

    author_id: int = Field(foreign_key="authors.id", primary_key=True)
    paper_id: int = Field(foreign_key="papers.id", primary_key=True)
    source: str  # "feedpage", "openalex", "semanticscholar", "csv"
    created_at: datetime = Field(default_factory=utcnow)


# The rest of the schema lives beside this module; importing it here registers every table
# with SQLModel's metadata and keeps ``from annotator.db.models import X`` working for all of them.
from annotator.db.derived import (  # noqa: E402
    AffiliationScoreAggregate,
    AffiliationStatAggregate,
    AggregateMark,
    AuthorScoreAggregate,
    AuthorStatAggregate,
    Calibration,
    EmbeddingCacheRow,
    FittedHead,
)
from annotator.db.operations import Batch, BatchItem, FetchCursor  # noqa: E402

__all__ = [
    "AffiliationScoreAggregate",
    "AffiliationStatAggregate",
    "AggregateMark",
    "Author",
    "AuthorMetric",
    "AuthorPaper",
    "AuthorScoreAggregate",
    "AuthorStatAggregate",
    "Authorship",
    "Affiliation",
    "Batch",
    "BatchItem",
    "Calibration",
    "EmbeddingCacheRow",
    "FetchCursor",
    "FittedHead",
    "Judgment",
    "LLMCall",
    "Paper",
    "PaperAffiliation",
    "PaperMetric",
    "PromptVersion",
    "Task",
    "utcnow",
]
