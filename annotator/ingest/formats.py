"""Which reader a file needs, and reading it.

``--format`` wins. Otherwise the extension decides and the content confirms:
``.jsonl``/``.ndjson`` -> jsonl (or openalex when the lines are OpenAlex
works), ``.csv``/``.tsv`` -> csv, ``.xml``/``.atom`` holding an Atom feed ->
arxiv, ``.json`` -> openalex, ``.txt`` shaped like a feed page -> feedpage.
A file with another extension is sniffed; what cannot be told is an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from annotator.errors import InputError
from annotator.ingest.arxiv import looks_like_atom, read_arxiv
from annotator.ingest.csvfile import read_csv
from annotator.ingest.feedpage import Item, PageHeader, looks_like_feedpage, read_feedpage
from annotator.ingest.jsonl import read_jsonl
from annotator.ingest.openalex import looks_like_openalex, read_openalex
from annotator.ingest.records import PaperRecord

READERS: dict[str, Callable[[Path], Iterator]] = {
    "feedpage": read_feedpage,
    "jsonl": read_jsonl,
    "csv": read_csv,
    "arxiv": read_arxiv,
    "openalex": read_openalex,
}
FORMATS = tuple(READERS)
ALIASES = {
    "feed": "feedpage",
    "txt": "feedpage",
    "ndjson": "jsonl",
    "atom": "arxiv",
    "xml": "arxiv",
    "json": "openalex",
    "tsv": "csv",
}
SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".xml": "arxiv",
    ".atom": "arxiv",
    ".json": "openalex",
    ".txt": "feedpage",
}


def _sniff(head: str) -> str | None:
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<"):
        return "arxiv" if looks_like_atom(head) else None
    if stripped.startswith(("{", "[")):
        first = stripped.split("\n", 1)[0]
        if looks_like_openalex(head):
            return "openalex"
        try:
            return "jsonl" if isinstance(json.loads(first), dict) else None
        except json.JSONDecodeError:
            return None
    if looks_like_feedpage(head):
        return "feedpage"
    header = stripped.split("\n", 1)[0].lower()
    if "title" in header and "abstract" in header and ("," in header or "\t" in header):
        return "csv"
    return None


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The format name for ``path``; ``fmt`` (``--format``) overrides detection."""
    if fmt:
        name = ALIASES.get(fmt.lower(), fmt.lower())
        if name not in READERS:
            raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", path=str(path))
        return name
    with open(path, "rb") as fh:
        head = fh.read(65536).decode("utf-8", errors="replace")
    by_suffix = SUFFIXES.get(path.suffix.lower())
    sniffed = _sniff(head)
    if by_suffix == "jsonl" and sniffed == "openalex":
        return "openalex"
    if by_suffix in ("jsonl", "csv", "openalex"):
        return by_suffix
    if by_suffix and sniffed == by_suffix:
        return by_suffix
    if sniffed and by_suffix is None:
        return sniffed
    raise InputError(f"cannot tell the format of this file; pass --format ({', '.join(FORMATS)})", path=str(path))


# key prefix -> (field to blame, words for the message)
_KEY_FIELD = {
    "arxiv": ("arxiv_id", "arXiv id"),
    "doi": ("doi", "DOI"),
    "ext": ("id", "id"),
    "title": ("title", "title and first author"),
}


def iter_items(path: str | Path, fmt: str | None = None) -> Iterator[Item]:
    """Records, errors and (for feed pages) the page header, in file order.

    A second record with the same identity (or the same ``id``) as an earlier
    one in the file is rejected, naming the line of the first.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=str(path))
    first_seen: dict[str, str | None] = {}
    for item in READERS[detect_format(path, fmt)](path):
        if isinstance(item, PaperRecord):
            keys = [item.key()] + ([f"ext:{item.external_id}"] if item.external_id else [])
            dup = next((k for k in keys if k in first_seen), None)
            if dup is not None:
                where, _, line = (item.source_ref or "").rpartition(":")
                kind, value = dup.split(":", 1)
                field, words = _KEY_FIELD[kind]
                yield InputError(
                    f"duplicate of the paper at {first_seen[dup]} (same {words}: {value[:80]!r})",
                    path=where or str(path),
                    line=int(line) if line.isdigit() else None,
                    field=field,
                )
                continue
            for k in keys:
                first_seen[k] = item.source_ref
        yield item


def read_records(path: str | Path, fmt: str | None = None) -> Iterator[PaperRecord | InputError]:
    """Each paper in ``path`` as a ``PaperRecord``, or an ``InputError`` for a bad one."""
    for item in iter_items(path, fmt):
        if not isinstance(item, PageHeader):
            yield item
