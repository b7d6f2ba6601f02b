"""Reading a suite's JSONL data into :class:`EvalItem` rows, sampling and hashing it."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from .suite_types import EvalItem, Suite


class _Row:
    """Typed access to one JSON row, raising InputError with file, line and field."""

    def __init__(self, row: dict, path: str, line: int):
        self.row, self.path, self.line = row, path, line

    def fail(self, field: str, message: str) -> InputError:
        return InputError(message, path=self.path, line=self.line, field=field)

    def text(self, field: str) -> str:
        value = self.optional_text(field)
        if value is None:
            raise self.fail(field, "missing or empty")
        return value

    def optional_text(self, field: str) -> str | None:
        value = self.row.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self.fail(field, f"expected text, got {type(value).__name__}")
        return value

    def number(self, field: str | None, value: Any = ...) -> float | None:
        if field is None:
            return None
        if value is ...:
            value = self.row.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(field, f"expected a number or null, got {value!r}")
        return None if math.isnan(value) else float(value)

    def numbers(self, field: str | None) -> tuple[float, ...]:
        if field is None or self.row.get(field) is None:
            return ()
        values = self.row[field]
        if not isinstance(values, list):
            raise self.fail(field, f"expected a list of numbers, got {type(values).__name__}")
        nums = (self.number(field, v) for v in values)
        return tuple(v for v in nums if v is not None)

    def decision(self, field: str | None) -> bool | None:
        if field is None:
            return None
        value = self.row.get(field)
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(field, f"expected true, false or null, got {value!r}")

    def year(self, field: str | None) -> int | None:
        if field is None:
            return None
        value = self.row.get(field)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self.fail(field, f"expected a year, got {value!r}") from None


def json_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file; InputError names the
    file and line of a line that is not one JSON object."""
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON: {exc.msg}", path=str(path), line=lineno) from None
            if not isinstance(raw, dict):
                raise InputError("expected one JSON object per line", path=str(path), line=lineno)
            yield lineno, raw


def read_items(suite: Suite) -> list[EvalItem]:
    """Every row of the suite's data file, in file order."""
    path = suite.data_path
    if not path.is_file():
        raise InputError(f"data file not found: {path}", path=str(suite.path) if suite.path else None, field="data")
    f, ai, nov = suite.fields, suite.ai, suite.novelty
    cites = suite.citations.field if suite.citations else None
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for lineno, raw in json_rows(path):
        row = _Row(raw, str(path), lineno)
        item_id = row.text(f.id)
        if item_id in seen:
            raise row.fail(f.id, f"duplicate id {item_id!r} (first on line {seen[item_id]})")
        seen[item_id] = lineno
        items.append(
            EvalItem(
                id=item_id,
                title=row.optional_text(f.title) or "",
                abstract=row.text(f.abstract),
                gold_ai=row.number(ai.gold),
                gold_novelty=row.number(nov.gold) if nov else None,
                ai_reviewers=row.numbers(ai.reviewers),
                novelty_reviewers=row.numbers(nov.reviewers) if nov else (),
                accepted=row.decision(f.decision),
                venue=row.optional_text(f.venue) if f.venue else None,
                year=row.year(f.year),
                citations=row.number(cites),
            )
        )
    return items


def sample_items(items: Sequence[EvalItem], n: int | None, seed: int) -> list[EvalItem]:
    """A deterministic sample of ``n`` items, kept in their original order.

    Items are ranked by sha256(f"{seed}:{id}"): the choice does not depend on the file's
    row order or on numpy's generator, and a larger ``n`` keeps every smaller sample.
    """
    if n is None or n >= len(items):
        return list(items)
    key = {it.id: hashlib.sha256(f"{seed}:{it.id}".encode()).hexdigest() for it in items}
    chosen = set(sorted(key, key=key.__getitem__)[:n])
    return [it for it in items if it.id in chosen]


def load_items(suite: Suite, *, sample: bool = True) -> list[EvalItem]:
    """The suite's papers: its seeded sample of ``sample_size``, or all with ``sample=False``."""
    items = read_items(suite)
    return sample_items(items, suite.sample_size, suite.seed) if sample else items


def data_hash(path: Path | str) -> str:
    """sha256 of a data file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ids_hash(ids: Iterable[str]) -> str:
    """sha256 of the sorted ids, one per line: names exactly which papers were used."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()
