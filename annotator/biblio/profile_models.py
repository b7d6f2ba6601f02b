"""What ``author_profile`` and ``leaderboard`` return: typed, and JSON-ready through
``to_json()`` (the shape ``annotator authors show/top --json`` prints).

Field meanings: see ``profiles``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class JudgmentsUsed(BaseModel):
    """The prompt version and model whose judgments were averaged, and why those."""

    prompt: str
    prompt_hash: str
    model: str | None
    chosen_by: str
    method: str | None = None  # "embedding-head": predictions of review scores, not a reviewer


class ImportedMetric(BaseModel):
    """One imported value and the snapshot it came from."""

    value: int
    source: str
    as_of: str | None


class Reported(BaseModel):
    """A source's own numbers as it printed them (the feed page's AI Score and Novelty %)."""

    ai_score: float | None = None
    novelty: float | None = None
    h_index: int | None = None
    citations: int | None = None
    papers: int | None = None
    source: str | None = None
    as_of: str | None = None


class CalibratedMean(BaseModel):
    """A mean score mapped to an eval suite's label scale."""

    value: float | None
    scale: list[int | float]
    of: str


class FittedMean(BaseModel):
    """The mean of the scores a fitted head gives an author's judged papers (0-100)."""

    ai_score: float | None
    novelty: float | None
    n: int


class Bootstrap(BaseModel):
    n_boot: int
    seed: int
    level: float = 0.95


class ProfilePaper(BaseModel):
    id: int
    title: str
    category: str | None
    published: str | None
    has_code: bool | None
    authors: list[str]
    authors_truncated: bool
    affiliations: list[str]
    ai_score: int | None
    novelty: int | None
    citations: int | None
    fitted_ai_score: float | None = None
    fitted_novelty: float | None = None


class AuthorProfile(BaseModel):
    author_id: int
    name: str
    primary_category: str | None
    h_index: int | None
    papers: int | None
    citations: int | None
    ai_score: float | None
    novelty: float | None
    ai_score_ci: list[float] | None
    novelty_ci: list[float] | None
    n_judged: int
    calibrated: dict[str, CalibratedMean]
    fitted: FittedMean | None = None  # from a head fitted on the judgments (annotator eval fit)
    h_index_computed: int | None
    h_index_computed_from: int | None
    citations_computed: int | None
    papers_stored: int
    metrics: dict[str, ImportedMetric | None]
    reported: Reported
    judgments: JudgmentsUsed | None
    bootstrap: Bootstrap
    paper_list: list[ProfilePaper]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class AuthorRow(BaseModel):
    """A leaderboard row for one author."""

    rank: int
    author_id: int
    name: str
    primary_category: str | None
    n_judged: int
    ai_score: float | None
    novelty: float | None
    h_index: int | None
    citations: int | None
    papers: int | None
    papers_stored: int


class AuthorScoreRow(AuthorRow):
    """A row of a board by mean score, with the 95% bootstrap intervals of the means."""

    ai_score_ci: list[float] | None
    novelty_ci: list[float] | None
    fitted: FittedMean | None = None


class AffiliationScoreRow(BaseModel):
    rank: int
    affiliation: str
    n_judged: int
    ai_score: float | None
    novelty: float | None


class AffiliationMetricRow(BaseModel):
    rank: int
    affiliation: str
    papers_with_citations: int
    h_index: int | None
    citations: int


BoardRow = AuthorScoreRow | AuthorRow | AffiliationScoreRow | AffiliationMetricRow


class Leaderboard(BaseModel):
    by: str
    group: str
    min_papers: int
    limit: int
    affiliation: str | None
    metrics_source: str | None
    judgments: JudgmentsUsed | None
    rows: list[BoardRow]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
