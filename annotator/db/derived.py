"""Derived tables: leaderboard aggregates, calibration maps, fitted heads, the embedding cache.

Each can be rebuilt from the tables in ``db.models`` (and the eval suites); they are kept so
reads stay fast. Registered with SQLModel's metadata when ``db.models`` is imported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from annotator.db.clock import utcnow
from annotator.db.queries.derived import raise_mark


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
    __table_args__ = (
        Index("ix_agg_author_stats_h_index", "h_index", "author_id"),
        Index("ix_agg_author_stats_citations", "citations", "author_id"),
    )

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


LINKS_CHANGED = "links_changed"  # the mark raised by ``bump_links``


def bump_links(conn: Connection) -> None:
    """Say that stored papers' authors, affiliations or eval flags were rewritten (ingest
    and the tournament's re-fit call this in their transaction); the next refresh of the
    aggregates (``annotator.biblio.aggregates``) rebuilds them."""
    raise_mark(conn, LINKS_CHANGED)


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
