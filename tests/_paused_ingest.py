"""An ingest that pauses once its look-up tables are read: a test's second writer.

    python tests/_paused_ingest.py DB FILE [FILLER]

Stores FILLER made-up papers (default 5,000: one full batch, committed), prints
``paused`` and waits for a line on stdin; meanwhile no transaction is open, so
another process can ingest and commit. Then it stores FILE's papers with the
tables it read at the start, and prints the summary as JSON. The pause comes
from the input (a generator), not from a hook in the ingest code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

from annotator.db import open_db
from annotator.ingest import read_records
from annotator.ingest.records import PaperRecord
from annotator.ingest.store import BATCH, ingest_records


def items(path: str, filler: int) -> Iterator[object]:
    for i in range(filler):
        yield PaperRecord(
            title=f"Filler paper {i}",
            abstract=f"Filler abstract {i}.",
            authors=[{"name": f"Filler Author {i % 50}"}],
            external_id=f"fill-{i}",
        )
    print("paused", flush=True)  # the filler's batch is committed when the next item is asked for
    sys.stdin.readline()
    yield from read_records(path, "jsonl")


def main() -> None:
    db, path = sys.argv[1], sys.argv[2]
    filler = int(sys.argv[3]) if len(sys.argv) > 3 else BATCH
    summary = ingest_records(open_db(db), items(path, filler), "jsonl")  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "new": summary.new,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
                "errors": [str(e) for e in summary.errors],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
