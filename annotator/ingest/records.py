"""What an input format parses into, before it touches the database.

Every reader (feed page, JSONL, CSV, arXiv Atom, OpenAlex) yields
``PaperRecord`` objects; ``annotator.ingest.store`` writes them. Keeping the
readers free of database code makes each one a small pure function to test.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")
_DOI_PREFIX = re.compile(r"^(https?://(dx\.)?doi\.org/|doi:)", re.I)
_ARXIV_PREFIX = re.compile(r"^(https?://arxiv\.org/abs/|arxiv:)", re.I)
_VERSION = re.compile(r"v\d+$")


def normalise_text(value: str) -> str:
    """Lower case, accents folded, punctuation dropped, whitespace collapsed."""
    if not value.isascii():  # ASCII has nothing to decompose or fold
        value = unicodedata.normalize("NFKD", value)
        value = "".join(ch for ch in value if not unicodedata.combining(ch))
    return _SPACE.sub(" ", _PUNCT.sub(" ", value.lower())).strip()


def normalise_name(name: str) -> str:
    return normalise_text(name)


class AuthorRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    openalex_id: str | None = None
    s2_id: str | None = None
    orcid: str | None = None


class PaperRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    abstract: str = Field(min_length=1)
    authors: list[AuthorRef] = Field(default_factory=list)
    authors_truncated: bool = False  # the source wrote "et al."
    affiliations: list[str] = Field(default_factory=list)
    category: str | None = None  # primary category, e.g. "CL" or "cs.CL"
    categories: list[str] = Field(default_factory=list)
    published: date | None = None
    has_code: bool | None = None
    arxiv_id: str | None = None
    doi: str | None = None
    openalex_id: str | None = None
    external_id: str | None = None  # any other stable id (e.g. "iclr2022:abc")
    venue: str | None = None
    citations: int | None = None  # paper-level count when the source has one
    source_ref: str | None = None  # "path:line" it came from

    @field_validator("title", "abstract")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if "\x00" in value:
            raise ValueError("contains a NUL byte")
        return value

    @field_validator("doi")
    @classmethod
    def _doi(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip()
        value = _DOI_PREFIX.sub("", value)
        return value.lower()

    @field_validator("arxiv_id")
    @classmethod
    def _arxiv(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip()
        value = _ARXIV_PREFIX.sub("", value)
        return _VERSION.sub("", value)  # versions share an identity

    def key(self) -> str:
        """The identity used for idempotent re-ingest."""
        if self.arxiv_id:
            return f"arxiv:{self.arxiv_id}"
        if self.doi:
            return f"doi:{self.doi}"
        if self.external_id:
            return f"ext:{self.external_id}"
        first = normalise_name(self.authors[0].name) if self.authors else ""
        return f"title:{normalise_text(self.title)}|{first}"

    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.abstract}".encode()).hexdigest()
