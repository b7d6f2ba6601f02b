"""The tables. One class per table; relationships are plain foreign keys.

Times are stored as timezone-aware UTC datetimes except lease expiries, which
are epoch seconds (floats) so that claiming a task is one cheap comparison on
both SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Paper(SQLModel, table=True):
    __tablename__ = "papers"
    # the few eval papers' ids without reading their rows (``NOT IN`` eval papers on
    # PostgreSQL); papers outside the suites add no entry. Added by ``m012_paper_indexes``.
    __table_args__ = (Index("ix_papers_eval_ids", "id", postgresql_where=text("is_eval"),
                            sqlite_where=text("is_eval")),)

    id: int | None = Field(default=None, primary_key=True)
    # The identity used for idempotent re-ingest: "arxiv:2307.09782",
    # "doi:10.1/x", "openreview:abc", or "title:<normalised title>|<first author>".
    key: str = Field(index=True, unique=True)
    arxiv_id: str | None = Field(default=None, index=True)
    doi: str | None = Field(default=None, index=True)
    openalex_id: str | None = Field(default=None, index=True)
    external_id: str | None = Field(default=None, index=True)
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
    is_eval: bool = Field(default=False, index=True)
    eval_suite: str | None = None
    content_hash: str = ""  # sha256 of title + abstract; changes re-open judgments
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Author(SQLModel, table=True):
    __tablename__ = "authors"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    norm_name: str = Field(index=True)
    primary_category: str | None = None
    openalex_id: str | None = Field(default=None, index=True)
    s2_id: str | None = Field(default=None, index=True)
    orcid: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Authorship(SQLModel, table=True):
    __tablename__ = "authorships"
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
    __table_args__ = (Index("ix_paper_metrics_latest", "paper_id", "as_of", "id", "citations"),)

    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="papers.id", index=True)
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
        Index("ix_judgments_pv_model_paper", "prompt_version_id", "model", "paper_id",
              "ai_score", "novelty"),
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


class AuthorScoreAggregate(SQLModel, table=True):
    """Per prompt version, model and author: judged papers and score sums (leaderboards).
    The ``agg_*`` tables are derived data kept by ``annotator.biblio.aggregates`` with
    the watermark in ``agg_marks``; added by ``m007_author_aggregates``."""

    __tablename__ = "agg_author_scores"
    __table_args__ = (
        Index("ix_agg_author_scores_ai", "prompt_version_id", "model", "mean_ai", "n"),
        Index("ix_agg_author_scores_novelty", "prompt_version_id", "model", "mean_novelty", "n"),
    )

    prompt_version_id: int = Field(primary_key=True)
    model: str = Field(primary_key=True)
    author_id: int = Field(primary_key=True)
    n: int
    sum_ai: int = Field(sa_type=BigInteger)
    sum_novelty: int = Field(sa_type=BigInteger)
    mean_ai: float
    mean_novelty: float


class AuthorStatAggregate(SQLModel, table=True):
    """Per author: stored non-eval papers; h-index and citations of the snapshots that count."""

    __tablename__ = "agg_author_stats"
    __table_args__ = (Index("ix_agg_author_stats_h_index", "h_index", "author_id"),
                      Index("ix_agg_author_stats_citations", "citations", "author_id"))

    author_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    papers_stored: int = 0
    h_index: int | None = None
    citations: int | None = Field(default=None, sa_type=BigInteger)


class AffiliationScoreAggregate(SQLModel, table=True):
    __tablename__ = "agg_affiliation_scores"

    prompt_version_id: int = Field(primary_key=True)
    model: str = Field(primary_key=True)
    affiliation_id: int = Field(primary_key=True)
    n: int
    sum_ai: int = Field(sa_type=BigInteger)
    sum_novelty: int = Field(sa_type=BigInteger)
    mean_ai: float
    mean_novelty: float


class AffiliationStatAggregate(SQLModel, table=True):
    __tablename__ = "agg_affiliation_stats"

    affiliation_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    papers_with_citations: int
    citations: int = Field(sa_type=BigInteger)
    h_index: int | None = None


class AggregateMark(SQLModel, table=True):
    """The aggregates' watermark (see ``annotator.biblio.aggregates``)."""

    __tablename__ = "agg_marks"

    name: str = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: int = Field(default=0, sa_type=BigInteger)


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


class Calibration(SQLModel, table=True):
    """An isotonic map from raw scores to a label's scale, fitted by an eval run."""

    __tablename__ = "calibrations"

    id: int | None = Field(default=None, primary_key=True)
    prompt_version_id: int = Field(foreign_key="prompt_versions.id", index=True)
    model: str
    suite: str
    label: str  # "ai" or "novelty"
    pred_key: str  # "ai_score" or "novelty"
    scale_low: float
    scale_high: float
    map_json: str = Field(sa_column=Column(Text, nullable=False))
    n_train: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class FittedHead(SQLModel, table=True):
    """A ridge head fitted on eval suites (``annotator.heads``; migration m009_fitted_heads)."""

    __tablename__ = "fitted_heads"
    id: int | None = Field(default=None, primary_key=True)
    prompt_version_id: int = Field(foreign_key="prompt_versions.id", index=True)
    model: str
    kind: str  # "embedding" (method embedding-head) or "judgment" (chat judgment features)
    suites: str  # comma-separated suite names
    data_hash: str
    head_hash: str  # sha256 of head_json: weights, percentile maps, split, out-of-fold predictions
    code_version: str
    split_json: str = Field(sa_column=Column(Text, nullable=False))
    metrics_json: str = Field(sa_column=Column(Text, nullable=False))
    head_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class EmbeddingCacheRow(SQLModel, table=True):
    """A text's embedding by model and sha256 of the text (migration m011_embedding_cache)."""

    __tablename__ = "embedding_cache"
    model: str = Field(primary_key=True)
    text_hash: str = Field(primary_key=True)
    dim: int
    vector: str = Field(sa_column=Column(Text, nullable=False))  # base64 of float32 values
    created_at: datetime = Field(default_factory=utcnow)


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
