"""Reading papers from files and storing them.

Readers (one module per format) turn a file into ``PaperRecord`` objects and
``InputError`` values for the bad parts; ``store.ingest_paths`` writes them.

    from annotator.ingest import ingest_paths, read_records
    summary = ingest_paths(engine, ["papers.jsonl"])        # format from the file
    for item in read_records("page.txt", fmt="feedpage"):   # PaperRecord | InputError
        ...
"""

from annotator.ingest.feedpage import PageHeader
from annotator.ingest.formats import FORMATS, detect_format, iter_items, read_records
from annotator.ingest.store import IngestSummary, ingest_paths, ingest_records

__all__ = [
    "FORMATS",
    "IngestSummary",
    "PageHeader",
    "detect_format",
    "ingest_paths",
    "ingest_records",
    "iter_items",
    "read_records",
]
