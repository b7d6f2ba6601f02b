"""How a record meets a stored paper: the tables and columns an ingest reads and writes,
which columns identify a paper, and the rules of a merge (which value wins, which author
list is kept). ``writer.PaperWriter`` applies them."""

from __future__ import annotations

from operator import itemgetter

from sqlalchemy import Table, bindparam, select
from sqlmodel import SQLModel

from annotator.db.models import (
    AuthorMetric,
    AuthorPaper,
    Authorship,
    Paper,
    PaperAffiliation,
    PaperMetric,
)
from annotator.ingest.records import PaperRecord


def _table(model: type[SQLModel]) -> Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


P, AS, PA = _table(Paper), _table(Authorship), _table(PaperAffiliation)
AM, PM, AP = _table(AuthorMetric), _table(PaperMetric), _table(AuthorPaper)
KEY_RANK = {"arxiv": 0, "doi": 1, "ext": 2, "title": 3}
# what a merge compares: every column a record can set, and the ones that decide how
STORED = (
    "id",
    "key",
    "title",
    "norm_title",
    "abstract",
    "content_hash",
    "category",
    "categories",
    "published",
    "has_code",
    "venue",
    "arxiv_id",
    "doi",
    "external_id",
    "openalex_id",
    "title_key",
    "authors_truncated",
    "source_format",
    "is_eval",
    "eval_suite",
)
MATCHED = ("key", "arxiv_id", "doi", "openalex_id", "title_key")  # unique in the database
GUARDED = MATCHED[1:]  # an update never gives a paper the identifier another one holds
SELECT_STORED = select(*(P.c[c] for c in STORED))
SELECT_PAPER = SELECT_STORED.where(P.c.id == bindparam("pid"))
SELECT_AUTHORS = select(AS.c.author_id).where(AS.c.paper_id == bindparam("pid")).order_by(AS.c.position)
SELECT_AFFS = select(PA.c.affiliation_id).where(PA.c.paper_id == bindparam("pid")).order_by(PA.c.position)
PAPER_COLUMNS = STORED + ("source_ref", "created_at", "updated_at")
STORED_ROW = itemgetter(*STORED, "source_ref")  # a new paper's row, but for its two timestamps


def merged(stored, value, owner: bool):
    """A field after a merge: the owning format overwrites, another one only fills gaps."""
    if value is None:
        return stored
    return value if owner or stored in (None, "", "[]") else stored


def better_authors(rec: PaperRecord, stored_truncated: bool, stored_count: int, owner: bool) -> bool:
    """Whether the record's author list should replace the stored one. A list cut
    short ("et al.") never replaces a longer complete one; from another format a
    list only fills a gap or completes a truncated one."""
    if not rec.authors:
        return False
    if owner:
        return not (rec.authors_truncated and not stored_truncated and stored_count >= len(rec.authors))
    return stored_count == 0 or (stored_truncated and not rec.authors_truncated and len(rec.authors) >= stored_count)
