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
take the write lock at BEGIN (``db.engine.writer``), and the ingest connection
keeps a larger page cache while it works (``CACHE_KIB``; durability is the
project's WAL + synchronous=NORMAL either way).

Concurrency. A paper's match keys (key, arXiv id, DOI, OpenAlex id, title plus
first author) are unique in the database (``m014_unique_paper_keys``). The
writer's look-up tables are read once, so another process (a second ingest, a
feed) may have stored one of a batch's papers since: the insert then fails on
the unique index, the batch is rolled back, the tables are read again and the
batch is stored again, now updating the paper the other process stored
(``CONFLICT_TRIES`` times; a deadlock between two PostgreSQL writers is retried
the same way). Each paper is stored once, whichever process comes first.

Feed pages. The papers a page lists are linked to the page's author as they are
stored (see ``writer``), so an ingested page is its author's profile.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from annotator.db.engine import writer as db_writer
from annotator.errors import InputError
from annotator.ingest.feedpage import PageHeader
from annotator.ingest.formats import SUFFIXES, detect_format, iter_items
from annotator.ingest.merging import PM
from annotator.ingest.records import PaperRecord
from annotator.ingest.writer import PaperWriter

# records a transaction: each commit rewrites the index pages the batch touched, and
# 5,000 costs about 5 % less than 2,000 a row while holding the write lock for ~2 s
BATCH = 5000
GC_THRESHOLD = 50_000  # allocations between young-generation collections while ingesting
CACHE_KIB = 65536  # SQLite page cache of the ingest connection: the papers' indexes stay in memory
Storable = PaperRecord | PageHeader
CONFLICT_TRIES = 4  # a batch that collides with another writer's commits: read again, store again
# unique violation, serialization failure, deadlock (PostgreSQL's SQLSTATEs)
CONFLICT_STATES = ("23505", "40001", "40P01")


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


def _store(writer: PaperWriter, item: Storable, fmt: str, summary: IngestSummary) -> None:
    if isinstance(item, PageHeader):
        summary.metrics_added += writer.header(item)
        summary.headers.append(item)
        return
    outcome, pid = writer.write(item, fmt)
    writer.link_to_page(pid)
    if item.citations is not None:
        summary.metrics_added += writer.metric(
            PM, "paper_id", pid, fmt, {"citations": item.citations}, outcome == "new"
        )
    setattr(summary, outcome, getattr(summary, outcome) + 1)
    summary.paper_ids.append(pid)


def _store_all(writer: PaperWriter, batch: list[Storable], fmt: str) -> IngestSummary:
    part = IngestSummary()
    records = [r for r in batch if isinstance(r, PaperRecord)]
    writer.prepare((a for r in records for a in r.authors), (n for r in records for n in r.affiliations))
    writer.prefetch(records, fmt)
    for item in batch:
        _store(writer, item, fmt, part)
    writer.flush()
    return part


def _flush(writer: PaperWriter, batch: list[Storable], fmt: str, summary: IngestSummary) -> None:
    """Store a batch under one savepoint; if the database refuses something, roll
    it back and store it again one savepoint per record, rejecting what fails."""
    failed = _store_retrying(writer, batch, fmt, summary)
    if failed is not None and len(batch) == 1:
        _reject(batch[0], failed, summary)
    elif failed is not None:
        for item in batch:
            failed = _store_retrying(writer, [item], fmt, summary)
            if failed is not None:
                _reject(item, failed, summary)


def _conflict(exc: SQLAlchemyError) -> bool:
    """Whether another writer's rows, committed since the look-up tables were read,
    explain the failure (reading them again and retrying can then succeed)."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in CONFLICT_STATES:
        return True
    return "UNIQUE constraint failed" in str(exc.orig)  # SQLite


def _store_retrying(
    writer: PaperWriter, items: list[Storable], fmt: str, summary: IngestSummary
) -> SQLAlchemyError | None:
    """Store ``items`` under a savepoint; after a conflict with another writer, again
    with fresh look-up tables. Returns the last failure, or None once stored."""
    failed = None
    for _ in range(CONFLICT_TRIES):
        failed = _attempt(writer, items, fmt, summary)
        if failed is None or not _conflict(failed):
            return failed
    return failed


def _reject(item: Storable, exc: SQLAlchemyError, summary: IngestSummary) -> None:
    where, _, line = (getattr(item, "source_ref", None) or "").rpartition(":")
    summary.errors.append(
        InputError(
            f"could not be stored: {exc.__class__.__name__}: {str(exc).splitlines()[0]}",
            path=where or None,
            line=int(line) if line.isdigit() else None,
        )
    )
    summary.rejected += 1


def _attempt(writer: PaperWriter, items: list[Storable], fmt: str, summary: IngestSummary) -> SQLAlchemyError | None:
    savepoint = writer.conn.begin_nested()
    try:
        part = _store_all(writer, items, fmt)
        savepoint.commit()
    except SQLAlchemyError as exc:
        savepoint.rollback()
        writer.load()  # forget the ids and rows the rollback took back; see others' commits
        return exc
    except BaseException:
        savepoint.rollback()
        raise
    for name in ("new", "updated", "unchanged", "metrics_added"):
        setattr(summary, name, getattr(summary, name) + getattr(part, name))
    summary.headers += part.headers
    summary.paper_ids += part.paper_ids
    return None


def _ingest_file(writer: PaperWriter, items: Iterator[Storable | InputError], fmt: str, summary: IngestSummary) -> None:
    writer.start_file()
    batch: list[Storable] = []
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


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cyclic collector runs less often until the ingest ends: the writer's
    look-up tables hold hundreds of thousands of long-lived objects that every full
    pass would walk again (about 0.1 ms a row at 100,000 rows)."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_THRESHOLD), max(before[1], 20), max(before[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextlib.contextmanager
def _connection(engine: Engine) -> Iterator[Connection]:
    """The writer connection, with a larger page cache on SQLite until the ingest ends."""
    with _fewer_collections(), db_writer(engine).connect() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES and not f.name.startswith(".")
            )
        else:
            out.append(p)
    return out


def ingest_paths(
    engine: Engine,
    paths: Iterable[str | Path],
    fmt: str | None = None,
    *,
    is_eval: bool = False,
    eval_suite: str | None = None,
) -> IngestSummary:
    """Read every file (folders are searched for known extensions) and store the papers.

    Problems with the input land in ``summary.errors``; only unexpected
    failures raise (after rolling back the batch in progress)."""
    summary = IngestSummary()
    with _connection(engine) as conn:
        writer = None
        for path in _expand(paths):
            try:
                if not path.is_file():
                    raise InputError("no such file", path=str(path))
                name = detect_format(path, fmt)
                writer = writer or PaperWriter(conn, is_eval, eval_suite)
                _ingest_file(writer, iter_items(path, name), name, summary)
            except InputError as exc:  # the file as a whole: missing, unknown format
                summary.errors.append(exc)
                if conn.in_transaction():
                    conn.commit()
    return summary


def ingest_records(
    engine: Engine,
    items: Iterable[PaperRecord | InputError | PageHeader],
    fmt: str = "records",
    *,
    is_eval: bool = False,
    eval_suite: str | None = None,
) -> IngestSummary:
    """Store records made in code (an eval suite's items, say) as if read from a file;
    ``fmt`` becomes the papers' ``source_format`` and their citation snapshots' source."""
    summary = IngestSummary()
    with _connection(engine) as conn:
        _ingest_file(PaperWriter(conn, is_eval, eval_suite), iter(items), fmt, summary)
    return summary
