"""Matching imported records to stored papers and authors.

Papers: by id first -- DOI, arXiv id, OpenAlex work id, Semantic Scholar paper id
(stored as ``external_id`` ``s2:<id>`` or bare), the record's own ``external_id`` --
then by normalised title. Several papers with the same title are told apart by
publication year (within one year) and then by first author; what is still
ambiguous is reported unmatched, never guessed.

Authors: by OpenAlex id, Semantic Scholar id or ORCID, then by normalised name
among authors whose stored ids do not contradict the record's. Several
candidates are told apart by the papers the record's works list matched (the
candidate who wrote the most of them wins); otherwise the record is unmatched
("ambiguous").

Every look-up is one indexed query, so matching a few thousand rows against a
database of a million papers stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from annotator.biblio.sources import AuthorMetrics, PaperMetrics
from annotator.db.queries import papers as P
from annotator.ingest.records import normalise_name, normalise_text


@dataclass
class Match:
    id: int | None = None
    by: str | None = None  # which id or "title"/"name" matched
    reason: str | None = None  # why there is no match

    @property
    def ok(self) -> bool:
        return self.id is not None


class Matcher:
    def __init__(self, conn: Connection):
        self.conn = conn

    # -- papers ------------------------------------------------------------------
    def paper(self, rec: PaperMetrics) -> Match:
        checks = (
            ("doi", rec.doi),
            ("arxiv", rec.arxiv_id),
            ("openalex", rec.openalex_id),
            ("s2", rec.s2_id),
            ("external_id", rec.external_id),
        )
        for by, value in checks:
            if not value:
                continue
            found = P.paper_ids_by(self.conn, by, value)
            if len(found) == 1:
                return Match(found[0], by)
            if len(found) > 1:
                narrowed = self._narrow(found, rec)
                if len(narrowed) == 1:
                    return Match(narrowed[0], by)
                return Match(reason=f"{len(found)} stored papers share {by} {value}")
        if not rec.title:
            return Match(reason="no stored paper has its ids, and it has no title")
        norm = normalise_text(rec.title)
        found = P.paper_ids_titled(self.conn, norm)
        if not found:
            return Match(reason="no stored paper has its ids or title")
        narrowed = self._narrow(found, rec) if len(found) > 1 else found
        if len(narrowed) == 1:
            return Match(narrowed[0], "title")
        return Match(reason=f"{len(found)} stored papers have this title; give an id to tell them apart")

    def _narrow(self, ids: list[int], rec: PaperMetrics) -> list[int]:
        keep = ids
        if rec.year:
            years = P.published_dates(self.conn, ids)
            close = [pid for pid in keep if _within_a_year(year_of(years.get(pid)), rec.year)]
            keep = close or keep
        if len(keep) > 1 and rec.first_author:
            first = normalise_name(rec.first_author)
            rows = P.first_author_names(self.conn, keep)
            same = [pid for pid, name in rows if name == first]
            keep = same or keep
        return keep

    # -- authors -----------------------------------------------------------------
    def author(self, rec: AuthorMetrics, paper_hint: Iterable[int] = ()) -> Match:
        checks = (
            ("openalex", "openalex_id", rec.openalex_id),
            ("s2", "s2_id", rec.s2_id),
            ("orcid", "orcid", rec.orcid),
        )
        for by, column, value in checks:
            if value:
                found = P.author_ids_by(self.conn, column, value)
                if len(found) == 1:
                    return Match(found[0], by)
                if len(found) > 1:
                    best = self._by_papers(found, paper_hint)
                    if best is not None:
                        return Match(best, by)
                    return Match(reason=f"{len(found)} stored authors share {by} {value}")
        if not rec.name:
            return Match(reason="no stored author has its ids, and it has no name")
        rows = P.authors_named(self.conn, normalise_name(rec.name))
        candidates = [
            r.id
            for r in rows
            if all(
                not mine or not theirs or mine == theirs
                for mine, theirs in ((rec.openalex_id, r.openalex_id), (rec.s2_id, r.s2_id), (rec.orcid, r.orcid))
            )
        ]
        if not candidates:
            if rows:
                return Match(reason=f"the stored authors named {rec.name!r} have other ids")
            return Match(reason=f"no stored author has its ids or the name {rec.name!r}")
        if len(candidates) == 1:
            return Match(candidates[0], "name")
        best = self._by_papers(candidates, paper_hint)
        if best is not None:
            return Match(best, "name")
        return Match(
            reason=f"{len(candidates)} stored authors are named {rec.name!r} "
            f"(ids {', '.join(map(str, candidates))}); add an id to tell them apart"
        )

    def _by_papers(self, author_ids: list[int], paper_ids: Iterable[int]) -> int | None:
        papers = sorted(set(paper_ids))
        if not papers:
            return None
        counts = P.papers_written(self.conn, author_ids, papers)
        if not counts:
            return None
        top = max(counts.values())
        winners = [a for a, n in counts.items() if n == top]
        return winners[0] if len(winners) == 1 else None


def _within_a_year(year: int | None, other: int) -> bool:
    return year is not None and abs(year - other) <= 1


def year_of(value: object) -> int | None:
    """The year of a stored date (a ``date`` on PostgreSQL, text on SQLite)."""
    if value is None:
        return None
    return value.year if hasattr(value, "year") else int(str(value)[:4])
