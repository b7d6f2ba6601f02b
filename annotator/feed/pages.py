"""One fetched page into the database, through the ingest readers and writer.

The page's bytes go to a temporary file read by the same reader ``annotator
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
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    paper_ids: list[int] = field(default_factory=list)  # every paper stored or matched
    started: float = field(default_factory=time.monotonic, repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "started"}


def _line(ref: str | None) -> int | None:
    tail = (ref or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def store_page(engine: Engine, body: bytes, reader: Reader, fmt: str, label: str,
               entry_ids: list[str], summary: FetchSummary) -> None:
    """Read ``body`` with ``reader`` and store its papers; ``entry_ids`` (in page order,
    one per entry) name the entries in error messages."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"page.{fmt}"
        path.write_bytes(body)
        items: list[PaperRecord | InputError] = []
        for i, item in enumerate(reader(path)):
            entry = entry_ids[i] if i < len(entry_ids) else "?"
            if isinstance(item, InputError):
                reason = item.reason if entry in item.reason else f"entry {entry}: {item.reason}"
                items.append(InputError(reason, path=label,
                                        line=item.line, field=item.field))
            else:
                line = _line(item.source_ref)
                items.append(item.model_copy(
                    update={"source_ref": f"{label}:{line}" if line else label}))
    stored = ingest_records(engine, items, fmt)
    summary.pages += 1
    summary.entries += len(items)
    for name in ("new", "updated", "unchanged", "rejected"):
        setattr(summary, name, getattr(summary, name) + getattr(stored, name))
    summary.errors += [str(e) for e in stored.errors]
    summary.paper_ids += stored.paper_ids
