"""Writing records to the database: upsert papers, authors, affiliations, metrics.

Matching. A record matches a stored paper by its key, then arXiv id, DOI,
OpenAlex id, then normalised title plus first author, so one paper read from
two formats ends up as one row.

Merging. The format that created a paper owns it (``source_format``): when
the owner sends it again, the values the record has replace the stored ones
(a changed title or abstract is an update with a new ``content_hash``). Any
other format only fills gaps (an arXiv id, a DOI, a venue), completes an
author list cut short by "et al.", and may upgrade the key to a stronger one
(arxiv > doi > ext > title); it never rewrites the owner's title, abstract or
categories, so ingesting several sources again and again settles. A truncated
list never replaces a longer complete one. ``is_eval`` is sticky.

Idempotence. A paper whose merged state equals the stored one is not written
(counted unchanged). ``source_ref`` names the owner's last ingest that
created or changed the paper. Metric snapshots (``PaperMetric`` from a
record's ``citations``, ``AuthorMetric`` from a feed page header) are added
only when the latest snapshot from the same source holds other values.

Transactions. Records are validated before anything is written. A file is
stored in batches of ``BATCH`` records, each under a savepoint and committed
on its own; if the database refuses something, the batch is rolled back and
stored again one savepoint per record, so a failure never leaves part of a
paper behind and only the failing record is rejected. On SQLite the writes
take the write lock at BEGIN (``db.engine.writer``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from annotator.errors import InputError
from annotator.ingest.detect import SUFFIXES, detect_format, iter_items
from annotator.ingest.feedpage import PageHeader
from annotator.ingest.records import AuthorRef, PaperRecord, normalise_name, normalise_text
from db.engine import writer as db_writer
from db.models import Affiliation, Author, AuthorMetric, Authorship, Paper, PaperAffiliation, PaperMetric

BATCH = 1000
P, A, AS = Paper.__table__, Author.__table__, Authorship.__table__
AF, PA = Affiliation.__table__, PaperAffiliation.__table__
AM, PM = AuthorMetric.__table__, PaperMetric.__table__
ID_ATTRS = ("orcid", "openalex_id", "s2_id")
KEY_RANK = {"arxiv": 0, "doi": 1, "ext": 2, "title": 3}
SELECT_PAPER = select(P).where(P.c.id == bindparam("pid"))
SELECT_AUTHORS = (select(AS.c.author_id).where(AS.c.paper_id == bindparam("pid"))
                  .order_by(AS.c.position))
SELECT_AFFS = (select(PA.c.affiliation_id).where(PA.c.paper_id == bindparam("pid"))
               .order_by(PA.c.position))
INSERT_PAPER = insert(P)
AUTHOR_COLUMNS = ("name", "norm_name", "primary_category") + ID_ATTRS


@dataclass
class IngestSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    metrics_added: int = 0  # AuthorMetric / PaperMetric snapshots written
    errors: list[InputError] = field(default_factory=list)
    headers: list[PageHeader] = field(default_factory=list)
    paper_ids: list[int] = field(default_factory=list)  # every paper stored or matched, in order


def _short_id(attr: str, value: str | None) -> str | None:
    prefix = {"orcid": "https://orcid.org/", "openalex_id": "https://openalex.org/"}.get(attr, "")
    return (value.strip().removeprefix(prefix) or None) if value else None


def _merged(stored, value, owner: bool):
    """A field after a merge: the owning format overwrites, another one only fills gaps."""
    if value is None:
        return stored
    return value if owner or stored in (None, "", "[]") else stored


def _better_authors(rec: PaperRecord, stored_truncated: bool, stored_count: int,
                    owner: bool) -> bool:
    """Whether the record's author list should replace the stored one. A list cut
    short ("et al.") never replaces a longer complete one; from another format a
    list only fills a gap or completes a truncated one."""
    if not rec.authors:
        return False
    if owner:
        return not (rec.authors_truncated and not stored_truncated
                    and stored_count >= len(rec.authors))
    return stored_count == 0 or (stored_truncated and not rec.authors_truncated
                                 and len(rec.authors) >= stored_count)


class _Writer:
    """Look-up tables for one ``ingest_paths`` call, and the writes themselves.

    Authors and affiliations new in a batch are inserted together; authorship,
    affiliation and metric rows wait in ``pending_*`` until ``flush``."""

    def __init__(self, conn: Connection, is_eval: bool, eval_suite: str | None):
        self.conn, self.is_eval, self.eval_suite = conn, is_eval, eval_suite
        self.today = datetime.now(UTC).date()
        self._last_query: dict = {}
        self._names: dict[str, str] = {}
        self.load()

    def load(self) -> None:
        self.papers: dict[str, dict[str, int]] = {
            k: {} for k in ("key", "arxiv_id", "doi", "openalex_id", "title")}
        first = AS.outerjoin(A, A.c.id == AS.c.author_id)
        q = select(P.c.id, P.c.key, P.c.arxiv_id, P.c.doi, P.c.openalex_id, P.c.norm_title,
                   A.c.norm_name).select_from(
            P.outerjoin(first, (AS.c.paper_id == P.c.id) & (AS.c.position == 0)))
        for row in self.conn.execute(q).mappings():
            self._remember_paper(row["id"], row, row["norm_name"])
        self.by_name: dict[str, list[dict]] = {}
        self.by_id: dict[str, dict[str, dict]] = {a: {} for a in ID_ATTRS}
        for row in self.conn.execute(select(A.c.id, *(A.c[c] for c in AUTHOR_COLUMNS[1:]))):
            self._remember_author(dict(row._mapping))
        self.affiliations = dict(self.conn.execute(select(AF.c.name, AF.c.id)).all())
        self.pending_links: dict[int, tuple[list[int], list[int]]] = {}
        self.stored: dict[int, tuple] = {}
        self.pending_metrics: dict[tuple, dict] = {}

    def norm(self, name: str) -> str:
        """``normalise_name``, remembered: the same names come back in every batch."""
        value = self._names.get(name)
        if value is None:
            value = self._names[name] = normalise_name(name)
        return value

    def _remember_paper(self, pid: int, values, first_author: str | None) -> None:
        for attr in ("key", "arxiv_id", "doi", "openalex_id"):
            if values[attr]:
                self.papers[attr][values[attr]] = pid
        if first_author:
            self.papers["title"][f"{values['norm_title']}|{first_author}"] = pid

    def _remember_author(self, author: dict) -> None:
        self.by_name.setdefault(author["norm_name"], []).append(author)
        for attr in ID_ATTRS:
            if author[attr]:
                self.by_id[attr][author[attr]] = author

    def match(self, rec: PaperRecord, norm_title: str) -> int | None:
        first = self.norm(rec.authors[0].name) if rec.authors else None
        for attr, value in (("key", rec.key()), ("arxiv_id", rec.arxiv_id), ("doi", rec.doi),
                            ("openalex_id", rec.openalex_id),
                            ("title", first and f"{norm_title}|{first}")):
            if value and value in self.papers[attr]:
                return self.papers[attr][value]
        return None

    def prepare(self, refs: Iterable[AuthorRef], affiliations: Iterable[str],
                primary_category: str | None = None) -> None:
        """Find or create every author and affiliation named; ids go into the caches.
        Authors are matched by ORCID/OpenAlex/S2 id, then by name unless the ids clash."""
        created: list[dict] = []
        for ref in refs:
            ids = {a: _short_id(a, getattr(ref, a)) for a in ID_ATTRS}
            norm = self.norm(ref.name)
            found = next((self.by_id[a][v] for a, v in ids.items() if v and v in self.by_id[a]),
                         None) or next((c for c in self.by_name.get(norm, []) if all(
                             not v or not c[a] or c[a] == v for a, v in ids.items())), None)
            if found is None:
                found = dict(id=None, name=ref.name, norm_name=norm, primary_category=None,
                             **{a: None for a in ID_ATTRS})
                created.append(found)
                self._remember_author(found)
            fill = {a: v for a, v in ids.items() if v and not found[a]}
            if primary_category and not found["primary_category"]:
                fill["primary_category"] = primary_category
            if fill and found["id"] is not None:
                self.conn.execute(update(A).where(A.c.id == found["id"]).values(**fill))
            found.update(fill)
            for attr in ID_ATTRS:
                if attr in fill:
                    self.by_id[attr][fill[attr]] = found
        if created:
            rows = [{c: a.get(c) for c in AUTHOR_COLUMNS} for a in created]
            for author, new_id in zip(created, self._insert_many(A, rows, "norm_name")):
                author["id"] = new_id
        names = list(dict.fromkeys(n for n in affiliations if n not in self.affiliations))
        if names:
            ids = self._insert_many(AF, [{"name": n} for n in names], "name")
            self.affiliations.update(zip(names, ids))

    def _insert_many(self, table, rows: list[dict], check: str) -> list[int]:
        """Insert rows, returning their ids in order. On SQLite the transaction holds
        the write lock, so the new rows are the ones above the old maximum id:
        one executemany and one read instead of a statement per row."""
        if self.conn.dialect.name != "sqlite":
            query = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return list(self.conn.execute(query, rows).scalars())
        before = self.conn.execute(select(func.max(table.c.id))).scalar() or 0
        self.conn.execute(insert(table), rows)
        got = self.conn.execute(select(table.c.id, table.c[check]).where(table.c.id > before)
                                .order_by(table.c.id)).all()
        if [r[1] for r in got] != [r[check] for r in rows]:
            raise RuntimeError(f"{table.name}: new rows are not the ones inserted")
        return [r[0] for r in got]

    def _author_id(self, ref: AuthorRef) -> int:
        for attr in ID_ATTRS:
            value = _short_id(attr, getattr(ref, attr))
            if value and value in self.by_id[attr]:
                return self.by_id[attr][value]["id"]
        return next(a["id"] for a in self.by_name[self.norm(ref.name)])

    def prefetch(self, records: list[PaperRecord]) -> None:
        """Read the stored rows and links of the papers a batch matches, three queries in all."""
        pids = {self.match(r, normalise_text(r.title)) for r in records} - {None}
        if not pids:
            return
        self.stored = {row["id"]: (row, [], []) for row in self.conn.execute(
            select(P).where(P.c.id.in_(pids))).mappings()}
        for table, column, slot in ((AS, AS.c.author_id, 1), (PA, PA.c.affiliation_id, 2)):
            for pid, value in self.conn.execute(select(table.c.paper_id, column).where(
                    table.c.paper_id.in_(pids)).order_by(table.c.paper_id, table.c.position)):
                self.stored[pid][slot].append(value)

    def _stored(self, pid: int) -> tuple:
        """The paper's row, author ids and affiliation ids as they stand now."""
        row, authors, affs = self.stored.pop(pid, None) or (
            self.conn.execute(SELECT_PAPER, {"pid": pid}).mappings().one(),
            list(self.conn.execute(SELECT_AUTHORS, {"pid": pid}).scalars()),
            list(self.conn.execute(SELECT_AFFS, {"pid": pid}).scalars()))
        return (row, *self.pending_links.get(pid, (authors, affs)))

    def write(self, rec: PaperRecord, fmt: str) -> tuple[str, int]:
        """Store one record (after ``prepare``); returns ("new"|"updated"|"unchanged", id)."""
        norm_title = normalise_text(rec.title)
        values = dict(title=rec.title, norm_title=norm_title, abstract=rec.abstract,
                      content_hash=rec.content_hash(), category=rec.category,
                      categories=(json.dumps(rec.categories, ensure_ascii=False)
                                  if rec.categories else None),
                      published=rec.published, has_code=rec.has_code, venue=rec.venue,
                      arxiv_id=rec.arxiv_id, doi=rec.doi, external_id=rec.external_id,
                      openalex_id=_short_id("openalex_id", rec.openalex_id))
        affiliations = [self.affiliations[n] for n in dict.fromkeys(rec.affiliations)]
        stamp = dict(source_format=fmt, source_ref=rec.source_ref)
        pid = self.match(rec, norm_title)
        if pid is None:
            row = dict(values, categories=values["categories"] or "[]", key=rec.key(),
                       authors_truncated=rec.authors_truncated, is_eval=self.is_eval,
                       eval_suite=self.eval_suite if self.is_eval else None, **stamp)
            pid = self.conn.execute(INSERT_PAPER, row).inserted_primary_key[0]
            self.pending_links[pid] = ([self._author_id(a) for a in rec.authors], affiliations)
            outcome = "new"
        else:
            old, old_authors, old_affs = self._stored(pid)
            owner = old["source_format"] == fmt
            new = {k: _merged(old[k], v, owner) for k, v in values.items()}
            if _better_authors(rec, old["authors_truncated"], len(old_authors), owner):
                authors = [self._author_id(a) for a in rec.authors]
                new["authors_truncated"] = rec.authors_truncated
            else:
                authors, new["authors_truncated"] = old_authors, old["authors_truncated"]
            if not (affiliations and (owner or not old_affs)):
                affiliations = old_affs
            if self.is_eval:
                new.update(is_eval=True, eval_suite=self.eval_suite)
            key = rec.key()
            if (KEY_RANK[key.split(":")[0]] < KEY_RANK.get(old["key"].split(":")[0], 2)
                    and key not in self.papers["key"]):
                new["key"] = key
            changed = {k: v for k, v in new.items() if old[k] != v}
            if not changed and authors == old_authors and affiliations == old_affs:
                return "unchanged", pid
            self.conn.execute(update(P).where(P.c.id == pid).values(
                **changed, **(stamp if owner else {}), updated_at=datetime.now(UTC)))
            if pid not in self.pending_links:
                self.conn.execute(delete(AS).where(AS.c.paper_id == pid))
                self.conn.execute(delete(PA).where(PA.c.paper_id == pid))
            self.pending_links[pid] = (authors, affiliations)
            values = {**new, "key": new.get("key", old["key"])}
            outcome = "updated"
        self._remember_paper(pid, {"key": rec.key(), **values},
                             self.norm(rec.authors[0].name) if rec.authors else None)
        return outcome, pid

    def metric(self, table, owner: str, owner_id: int, source: str, values: dict,
               fresh: bool = False) -> int:
        """Add a dated snapshot unless the latest one from ``source`` holds the same values."""
        slot = (table.name, owner, owner_id, source)
        last = self.pending_metrics.get(slot)
        if last is None and not fresh:  # a paper created just now has no snapshots yet
            query = self._last_query.get(table.name)
            if query is None:
                query = self._last_query[table.name] = (
                    select(*(table.c[k] for k in values))
                    .where(table.c[owner] == bindparam("owner"),
                           table.c.source == bindparam("source"))
                    .order_by(table.c.as_of.desc(), table.c.id.desc()).limit(1))
            last = self.conn.execute(query, {"owner": owner_id, "source": source}
                                     ).mappings().first()
        if last is not None and {k: last[k] for k in values} == values:
            return 0
        self.pending_metrics[slot] = {owner: owner_id, "source": source, "as_of": self.today,
                                      **values}
        return 1

    def header(self, h: PageHeader) -> int:
        ref = AuthorRef(name=h.name)
        self.prepare([ref], [], primary_category=h.category)
        return self.metric(AM, "author_id", self._author_id(ref), "feedpage", dict(
            h_index=h.h_index, citations=h.citations, works_count=h.papers,
            reported_ai_score=h.ai_score, reported_novelty=h.novelty))

    def flush(self) -> None:
        authorships = [dict(paper_id=p, position=i, author_id=a)
                       for p, (authors, _) in self.pending_links.items()
                       for i, a in enumerate(authors)]
        affiliations = [dict(paper_id=p, affiliation_id=a, position=i)
                        for p, (_, affs) in self.pending_links.items() for i, a in enumerate(affs)]
        for table, rows in ((AS, authorships), (PA, affiliations)):
            if rows:
                self.conn.execute(insert(table), rows)
        for table in (AM, PM):
            rows = [r for (name, *_), r in self.pending_metrics.items() if name == table.name]
            if rows:
                self.conn.execute(insert(table), rows)
        self.pending_links, self.pending_metrics, self.stored = {}, {}, {}


def _store(writer: _Writer, item: PaperRecord | PageHeader, fmt: str,
           summary: IngestSummary) -> None:
    if isinstance(item, PageHeader):
        summary.metrics_added += writer.header(item)
        summary.headers.append(item)
        return
    outcome, pid = writer.write(item, fmt)
    if item.citations is not None:
        summary.metrics_added += writer.metric(PM, "paper_id", pid, fmt,
                                               {"citations": item.citations}, outcome == "new")
    setattr(summary, outcome, getattr(summary, outcome) + 1)
    summary.paper_ids.append(pid)


def _store_all(writer: _Writer, batch: list, fmt: str) -> IngestSummary:
    part = IngestSummary()
    records = [r for r in batch if isinstance(r, PaperRecord)]
    writer.prepare((a for r in records for a in r.authors),
                   (n for r in records for n in r.affiliations))
    writer.prefetch(records)
    for item in batch:
        _store(writer, item, fmt, part)
    writer.flush()
    return part


def _flush(writer: _Writer, batch: list, fmt: str, summary: IngestSummary) -> None:
    """Store a batch under one savepoint; if the database refuses something, roll
    it back and store it again one savepoint per record, rejecting what fails."""
    if not _attempt(writer, batch, fmt, summary, report=len(batch) == 1):
        for item in batch:
            _attempt(writer, [item], fmt, summary, report=True)


def _attempt(writer: _Writer, items: list, fmt: str, summary: IngestSummary, report: bool) -> bool:
    savepoint = writer.conn.begin_nested()
    try:
        part = _store_all(writer, items, fmt)
        savepoint.commit()
    except SQLAlchemyError as exc:
        savepoint.rollback()
        writer.load()  # forget the ids and rows the rollback took back
        if report:
            where, _, line = (getattr(items[0], "source_ref", None) or "").rpartition(":")
            summary.errors.append(InputError(
                f"could not be stored: {exc.__class__.__name__}: {str(exc).splitlines()[0]}",
                path=where or None, line=int(line) if line.isdigit() else None))
            summary.rejected += 1
        return False
    except BaseException:
        savepoint.rollback()
        raise
    for name in ("new", "updated", "unchanged", "metrics_added"):
        setattr(summary, name, getattr(summary, name) + getattr(part, name))
    summary.headers += part.headers
    summary.paper_ids += part.paper_ids
    return True


def _ingest_file(writer: _Writer, items, fmt: str, summary: IngestSummary) -> None:
    batch: list = []
    for item in items:
        if isinstance(item, InputError):
            summary.errors.append(item)
            summary.rejected += 1
            continue
        batch.append(item)
        if len(batch) >= BATCH:
            _flush(writer, batch, fmt, summary)
            writer.conn.commit()
            batch = []
    _flush(writer, batch, fmt, summary)
    writer.conn.commit()


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file()
                          and f.suffix.lower() in SUFFIXES and not f.name.startswith("."))
        else:
            out.append(p)
    return out


def ingest_paths(engine: Engine, paths: Iterable[str | Path], fmt: str | None = None,
                 *, is_eval: bool = False, eval_suite: str | None = None) -> IngestSummary:
    """Read every file (folders are searched for known extensions) and store the papers.

    Problems with the input land in ``summary.errors``; only unexpected
    failures raise (after rolling back the batch in progress)."""
    summary = IngestSummary()
    with db_writer(engine).connect() as conn:
        writer = None
        for path in _expand(paths):
            try:
                name = detect_format(path, fmt) if path.is_file() else None
                items = iter_items(path, name)
                writer = writer or _Writer(conn, is_eval, eval_suite)
                _ingest_file(writer, items, name, summary)
            except InputError as exc:  # the file as a whole: missing, unknown format
                summary.errors.append(exc)
                if conn.in_transaction():
                    conn.commit()
    if summary.headers:
        # a feed page is its author's profile: every listed paper is theirs, even
        # where "et al." hides the name in the author list
        from annotator.biblio import link_feed_pages

        pages = sorted({h.source_ref.rsplit(":", 1)[0] for h in summary.headers if h.source_ref})
        link_feed_pages(engine, pages)
    return summary


def ingest_records(engine: Engine, items: Iterable[PaperRecord | InputError | PageHeader],
                   fmt: str = "records", *, is_eval: bool = False,
                   eval_suite: str | None = None) -> IngestSummary:
    """Store records made in code (an eval suite's items, say) as if read from a file;
    ``fmt`` becomes the papers' ``source_format`` and their citation snapshots' source."""
    summary = IngestSummary()
    with db_writer(engine).connect() as conn:
        _ingest_file(_Writer(conn, is_eval, eval_suite), iter(items), fmt, summary)
    return summary
