"""What a bibliometrics source parses into, before it is matched to stored rows.

Importers (``importers.py``) and the live fetcher (``fetch.py``) turn OpenAlex,
Semantic Scholar, CSV and feed-page data into these two records; ``store.py``
matches them to stored authors and papers and writes dated snapshots. Ids are
kept in their short forms: OpenAlex ``A123``/``W123``, bare ORCID
``0000-0002-...``, DOI lower case without ``https://doi.org/``, arXiv without
version.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator


def short_openalex(value: str | None) -> str | None:
    if not value or not str(value).strip():
        return None
    return (
        re.sub(r"^https?://(api\.)?openalex\.org/(authors/|works/)?", "", str(value).strip(), flags=re.I).upper()
        or None
    )


def short_orcid(value: str | None) -> str | None:
    if not value or not str(value).strip():
        return None
    return re.sub(r"^https?://orcid\.org/", "", str(value).strip(), flags=re.I) or None


def short_doi(value: str | None) -> str | None:
    if not value or not str(value).strip():
        return None
    value = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", str(value).strip(), flags=re.I)
    return value.lower() or None


def short_arxiv(value: str | None) -> str | None:
    if not value or not str(value).strip():
        return None
    value = re.sub(r"^(https?://arxiv\.org/abs/|arxiv:)", "", str(value).strip(), flags=re.I)
    return re.sub(r"v\d+$", "", value) or None


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    as_of: date | None = None  # None: the day it is stored
    ref: str = ""  # where it came from: "file:line" or "openalex author A123"

    @field_validator("source")
    @classmethod
    def _known(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("source must not be empty")
        return value.strip()


class AuthorMetrics(_Record):
    """One author's numbers from one source at one date."""

    name: str | None = None
    openalex_id: str | None = None
    s2_id: str | None = None
    orcid: str | None = None
    primary_category: str | None = None
    h_index: int | None = Field(default=None, ge=0)
    citations: int | None = Field(default=None, ge=0)
    works_count: int | None = Field(default=None, ge=0)
    reported_ai_score: float | None = None
    reported_novelty: float | None = None

    def has_metrics(self) -> bool:
        return any(
            v is not None
            for v in (self.h_index, self.citations, self.works_count, self.reported_ai_score, self.reported_novelty)
        )

    def label(self) -> str:
        ids = [f"{k}={v}" for k, v in (("openalex", self.openalex_id), ("s2", self.s2_id), ("orcid", self.orcid)) if v]
        return " ".join([self.name or "?"] + ids)


class PaperMetrics(_Record):
    """One paper's citation counts from one source at one date.

    A paper belongs to a bundle author (and, once matched, is linked to that author in
    ``author_papers`` even when its stored author list is truncated) when
    ``claimed_by`` is that author's index in ``Bundle.authors`` (an S2 author's nested
    papers, the papers of a feed page) or when one of ``author_ids`` is that author's
    OpenAlex or S2 id (an OpenAlex author's works).
    """

    title: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    openalex_id: str | None = None
    s2_id: str | None = None
    external_id: str | None = None
    year: int | None = None
    first_author: str | None = None
    citations: int | None = Field(default=None, ge=0)
    influential_citations: int | None = Field(default=None, ge=0)
    author_ids: list[str] = Field(default_factory=list)  # "openalex:A1", "s2:123"
    claimed_by: int | None = None

    def label(self) -> str:
        ids = [
            f"{k}={v}"
            for k, v in (
                ("doi", self.doi),
                ("arxiv", self.arxiv_id),
                ("openalex", self.openalex_id),
                ("s2", self.s2_id),
            )
            if v
        ]
        title = (self.title or "?")[:80]
        return " ".join([repr(title)] + ids)


class Bundle(BaseModel):
    """Everything read from one file or one fetch."""

    source: str
    authors: list[AuthorMetrics] = Field(default_factory=list)
    papers: list[PaperMetrics] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)  # rows that could not be read

    def extend(self, other: Bundle) -> None:
        offset = len(self.authors)
        self.authors += other.authors
        for p in other.papers:
            self.papers.append(
                p if p.claimed_by is None else p.model_copy(update={"claimed_by": p.claimed_by + offset})
            )
        self.errors += other.errors
