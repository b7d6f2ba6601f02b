"""Fetched pages into the database, through the ingest readers and writer.

A page's bytes go to a temporary file read by the same reader ``annotator
ingest`` uses (``ingest.arxiv.read_arxiv``, ``ingest.openalex.read_openalex``);
each record's ``source_ref`` and each error's location then name the response
(``label``) and the entry's line in it instead of the temporary file, and the
records are stored by ``ingest_records`` with the format's name, so a paper
fetched here and one ingested from a saved file are one and the same row.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from annotator.errors import InputError
from annotator.ingest.records import PaperRecord
from annotator.ingest.store import ingest_records

Reader = Callable[[Path], Iterator[PaperRecord | InputError]]


@dataclass
class FetchSummary:
    source: str
    query: str
    window_from: str | None = None
    window_to: str | None = None
    resumed: bool = False  # an interrupted window was taken up again
    complete: bool = False  # the window was read to its end
    through: str | None = None  # the cursor after this fetch
    pages: int = 0
    requests: int = 0
    retries: int = 0
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    older: int = 0  # an older version than the one stored: left out
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    paper_ids: list[int] = field(default_factory=list)  # every paper stored or matched
    started: float = field(default_factory=time.monotonic, repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "started"}


def _line(ref: str | None) -> int | None:
    tail = (ref or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


class PageStore:
    """Fetched pages, parsed as they come and stored in groups of about ``group`` entries.

    Each ``ingest_records`` call loads the writer's look-up tables once (0.7 s at
    50,000 stored papers), so storing page by page would pay that for every page;
    a group pays it once. The caller saves its cursor right after ``flush``, so the
    cursor never runs ahead of what is stored: a crash costs at most one group's
    requests, and those pages are stored again (idempotently) on the next run."""

    def __init__(self, engine: Engine, reader: Reader, fmt: str, summary: FetchSummary, group: int = 1000):
        self.engine, self.reader, self.fmt = engine, reader, fmt
        self.summary, self.group = summary, group
        self.items: list[PaperRecord | InputError] = []

    @property
    def due(self) -> bool:
        return len(self.items) >= self.group

    def add(self, body: bytes, label: str, entry_ids: list[str], skip: frozenset[int] = frozenset()) -> None:
        """Parse one page; ``entry_ids`` (in page order, one per entry) name the entries
        in error messages, ``label`` names the response; entries at ``skip`` (older
        versions than the stored ones) are left out."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"page.{self.fmt}"
            path.write_bytes(body)
            items = [
                _relabel(item, label, entry_ids[i] if i < len(entry_ids) else "?")
                for i, item in enumerate(self.reader(path))
            ]
        self.items += [item for i, item in enumerate(items) if i not in skip]
        self.summary.pages += 1
        self.summary.entries += len(items)
        self.summary.older += len(skip)

    def checkpoint(self, save: Callable[[], None], force: bool = False) -> None:
        """When the group is full (or ``force``): store it, then ``save`` the cursor."""
        if force or self.due:
            self.flush()
            save()

    def flush(self) -> None:
        if not self.items:
            return
        stored = ingest_records(self.engine, self.items, self.fmt)
        self.items = []
        for name in ("new", "updated", "unchanged", "rejected"):
            setattr(self.summary, name, getattr(self.summary, name) + getattr(stored, name))
        self.summary.errors += [str(e) for e in stored.errors]
        self.summary.paper_ids += stored.paper_ids


def _relabel(item: PaperRecord | InputError, label: str, entry: str) -> PaperRecord | InputError:
    """The record or error located in the response instead of the temporary file."""
    if isinstance(item, InputError):
        reason = item.reason if entry in item.reason else f"entry {entry}: {item.reason}"
        return InputError(reason, path=label, line=item.line, field=item.field)
    line = _line(item.source_ref)
    return item.model_copy(update={"source_ref": f"{label}:{line}" if line else label})
