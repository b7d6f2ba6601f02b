"""CSV input: a header row naming the fields, then one paper per row.

The columns are the JSONL schema's fields (see ``annotator.ingest.jsonl``);
lists (``authors``, ``affiliations``, ``categories``) are ``;``-separated and
empty cells are absent. Commas separate cells unless the header has tabs and
no commas. An unknown column is one error for the whole file (every row would
carry the typo); a bad row is one error naming its first line, and the other
rows are still read. Bytes that are not UTF-8 reject only the row they are in.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from annotator.errors import InputError
from annotator.ingest.jsonl import KINDS, REQUIRED, is_extra, record_from_row
from annotator.ingest.records import PaperRecord

csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, 2**31 - 1)))


def _invalid_utf8(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def read_csv(path: Path) -> Iterator[PaperRecord | InputError]:
    where = str(path)
    text = path.read_bytes().decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        yield InputError("the file is empty; expected a header row", path=where, line=1)
        return
    fields = [h.strip().lower() for h in header]
    problem = _header_problem(fields)
    if problem:
        yield InputError(problem[1], path=where, line=1, field=problem[0])
        return
    previous_end = reader.line_num
    while True:
        start = previous_end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield InputError(f"cannot read the row: {exc}", path=where, line=start)
            previous_end = max(reader.line_num, start)
            continue
        previous_end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(fields):
            yield InputError(f"the row has {len(row)} cells, the header {len(fields)}", path=where, line=start)
            continue
        bad = next((f for f, cell in zip(fields, row) if _invalid_utf8(cell) or "\x00" in cell), None)
        if bad is not None:
            cell = row[fields.index(bad)]
            reason = "contains a NUL byte" if "\x00" in cell else "is not valid UTF-8"
            yield InputError(reason, path=where, line=start, field=bad)
            continue
        try:
            yield record_from_row(dict(zip(fields, row)), where, start, from_text=True)
        except InputError as exc:
            yield exc


def _header_problem(fields: list[str]) -> tuple[str | None, str] | None:
    seen: set[str] = set()
    for field in fields:
        if field in seen and not is_extra(field):
            return field, "the column appears twice in the header"
        seen.add(field)
        if _invalid_utf8(field):
            return None, "the header is not valid UTF-8"
        if field not in KINDS and not is_extra(field):
            return field, "unknown column (name your own columns 'extra.<name>')"
    for field in REQUIRED:
        if field not in seen:
            return field, "required column is missing from the header"
    return None
