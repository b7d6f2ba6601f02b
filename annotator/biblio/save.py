"""Writing imported bibliometrics: dated snapshots, author-paper links, filled-in ids.

``import_bundle`` matches every record (``match.py``), then in one write transaction:

* adds an ``author_metrics`` / ``paper_metrics`` snapshot per matched record that
  carries numbers, unless the latest snapshot from the same source holds the same
  values (so importing a file twice adds nothing);
* links papers to the author whose works list they came from (``author_papers``);
* fills ids the stored row lacks (author OpenAlex/S2/ORCID ids and primary
  category; paper DOI, arXiv and OpenAlex ids) when no other row already has them,
  so the next import or ingest matches by id.

Records that match nothing are listed in the report with the reason; nothing is
created for them (papers enter through ``annotator ingest``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from annotator.biblio.importers import read_bundle
from annotator.biblio.match import Match, Matcher
from annotator.biblio.sources import Bundle, PaperMetrics
from annotator.db.engine import writer
from annotator.db.models import AuthorMetric, AuthorPaper, PaperMetric
from annotator.db.queries import papers as P

AM, PM, AP = (SQLModel.metadata.tables[str(m.__tablename__)] for m in (AuthorMetric, PaperMetric, AuthorPaper))

AUTHOR_VALUES = ("h_index", "citations", "works_count", "reported_ai_score", "reported_novelty")
PAPER_VALUES = ("citations", "influential_citations")


@dataclass
class Unmatched:
    kind: str  # "author" or "paper"
    label: str
    ref: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.label} ({self.ref}): {self.reason}"


@dataclass
class ImportReport:
    sources: list[str] = field(default_factory=list)
    authors_read: int = 0
    papers_read: int = 0
    authors_matched: int = 0
    papers_matched: int = 0
    author_metrics_added: int = 0
    paper_metrics_added: int = 0
    links_added: int = 0
    ids_filled: int = 0
    matched_by: Counter = field(default_factory=Counter)
    unmatched: list[Unmatched] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    author_ids: list[int | None] = field(default_factory=list)  # per bundle author

    @property
    def authors_unmatched(self) -> int:
        return sum(u.kind == "author" for u in self.unmatched)

    @property
    def papers_unmatched(self) -> int:
        return sum(u.kind == "paper" for u in self.unmatched)

    def to_dict(self) -> dict:
        return {
            "sources": self.sources,
            "authors": {
                "read": self.authors_read,
                "matched": self.authors_matched,
                "unmatched": self.authors_unmatched,
            },
            "papers": {"read": self.papers_read, "matched": self.papers_matched, "unmatched": self.papers_unmatched},
            "author_metrics_added": self.author_metrics_added,
            "paper_metrics_added": self.paper_metrics_added,
            "links_added": self.links_added,
            "ids_filled": self.ids_filled,
            "matched_by": dict(self.matched_by),
            "unmatched": [u.__dict__ for u in self.unmatched],
            "errors": self.errors,
        }


def _today() -> date:
    return datetime.now(UTC).date()


def _claimed(bundle: Bundle, paper: PaperMetrics) -> set[int]:
    """Indexes of the bundle authors this paper belongs to."""
    owners = {paper.claimed_by} if paper.claimed_by is not None else set()
    if paper.author_ids:
        ids = set(paper.author_ids)
        for i, a in enumerate(bundle.authors):
            if (a.openalex_id and f"openalex:{a.openalex_id}" in ids) or (a.s2_id and f"s2:{a.s2_id}" in ids):
                owners.add(i)
    return owners


def _add_snapshot(
    conn: Connection, table: Table, owner: str, owner_id: int, source: str, as_of: date, values: dict
) -> int:
    last = (
        conn.execute(
            select(*(table.c[k] for k in values))
            .where(table.c[owner] == owner_id, table.c.source == source)
            .order_by(table.c.as_of.desc(), table.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if last is not None and all(_same(last[k], v) for k, v in values.items()):
        return 0
    conn.execute(
        insert(table).values(
            {owner: owner_id, "source": source, "as_of": as_of, "created_at": datetime.now(UTC), **values}
        )
    )
    return 1


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return float(a) == float(b)


def _fill(conn: Connection, table: str, row_id: int, values: dict[str, str | None]) -> int:
    """Set columns that are empty on the row, unless another row already has the value."""
    filled = 0
    current = P.stored_ids(conn, table, row_id, list(values))
    for column, value in values.items():
        if not value or current[column]:
            continue
        if not P.id_taken(conn, table, column, value):
            P.set_id(conn, table, row_id, column, value)
            filled += 1
    return filled


def _link(conn: Connection, author_id: int, paper_id: int, source: str) -> int:
    if P.author_paper_linked(conn, author_id, paper_id):
        return 0
    conn.execute(insert(AP).values(author_id=author_id, paper_id=paper_id, source=source, created_at=datetime.now(UTC)))
    return 1


def import_bundle(engine: Engine, bundle: Bundle, *, conn: Connection | None = None) -> ImportReport:
    """Match and store one bundle; see the module docstring."""
    if conn is None:
        with writer(engine).begin() as tx:
            return import_bundle(engine, bundle, conn=tx)
    report = ImportReport(
        sources=[bundle.source],
        authors_read=len(bundle.authors),
        papers_read=len(bundle.papers),
        errors=list(bundle.errors),
    )
    matcher, today = Matcher(conn), _today()

    paper_matches: list[Match] = []
    for paper in bundle.papers:
        m = matcher.paper(paper)
        paper_matches.append(m)
        if m.ok:
            report.papers_matched += 1
            report.matched_by[f"paper:{m.by}"] += 1
        else:
            report.unmatched.append(Unmatched("paper", paper.label(), paper.ref, m.reason or ""))
    owners = [_claimed(bundle, paper) for paper in bundle.papers]

    author_ids: list[int | None] = []
    for i, author in enumerate(bundle.authors):
        hint = [m.id for m, own in zip(paper_matches, owners) if m.id is not None and i in own]
        found = matcher.author(author, hint)
        author_ids.append(found.id)
        if found.id is None:
            report.unmatched.append(Unmatched("author", author.label(), author.ref, found.reason or ""))
            continue
        report.authors_matched += 1
        report.matched_by[f"author:{found.by}"] += 1
        report.ids_filled += _fill(
            conn, "authors", found.id, {"openalex_id": author.openalex_id, "s2_id": author.s2_id, "orcid": author.orcid}
        )
        if author.primary_category:  # the feed page's category wins; others only fill a gap
            P.set_primary_category(conn, found.id, author.primary_category, overwrite=author.source == "feedpage")
        if author.has_metrics():
            report.author_metrics_added += _add_snapshot(
                conn,
                AM,
                "author_id",
                found.id,
                author.source,
                author.as_of or today,
                {k: getattr(author, k) for k in AUTHOR_VALUES},
            )
    report.author_ids = author_ids

    for paper, m, own in zip(bundle.papers, paper_matches, owners):
        if m.id is None:
            continue
        for i in own:
            owner_id = author_ids[i]
            if owner_id is not None:
                report.links_added += _link(conn, owner_id, m.id, paper.source)
        report.ids_filled += _fill(
            conn, "papers", m.id, {"doi": paper.doi, "arxiv_id": paper.arxiv_id, "openalex_id": paper.openalex_id}
        )
        if paper.citations is not None or paper.influential_citations is not None:
            report.paper_metrics_added += _add_snapshot(
                conn,
                PM,
                "paper_id",
                m.id,
                paper.source,
                paper.as_of or today,
                {k: getattr(paper, k) for k in PAPER_VALUES},
            )
    return report


def import_paths(engine: Engine, paths: Iterable[str | Path], source: str | None = None) -> ImportReport:
    """Read every file and import them together, so an author file and its works file
    (given in one call) link up."""
    bundle: Bundle | None = None
    for path in paths:
        part = read_bundle(path, source)
        if bundle is None:
            bundle = part
        else:
            bundle.extend(part)
            bundle.source = ",".join(dict.fromkeys(bundle.source.split(",") + [part.source]))
    if bundle is None:
        return ImportReport()
    report = import_bundle(engine, bundle)
    report.sources = bundle.source.split(",")
    return report


def link_feed_pages(engine: Engine, paths: Iterable[str | Path]) -> ImportReport:
    """Link the papers of ingested feed pages to the page's author (``author_papers``).

    Call it after ``ingest_paths`` on the same pages: the page is the author's profile,
    so each listed paper is theirs even where "et al." hides them in the author list.
    """
    return import_paths(engine, paths, "feedpage")
