"""The rows of a citations file for ``report biblio --data/--suite``: which fields to read
(:class:`FileSpec`, from a suite or the options) and the rows, checked, with the file, line
and field named in every error."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from annotator.errors import InputError
from annotator.evaluation.items import json_rows
from annotator.evaluation.suites import load_suite


@dataclass
class FileSpec:
    path: Path
    id_field: str = "id"
    title_field: str = "title"
    year_field: str = "year"
    citations_field: str = "citations"
    score_field: str | None = None  # None: stored judgments of the eval papers
    suite_name: str | None = None


def _number(row: dict, name: str, path: Path, line: int) -> float | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"expected a number or null, got {value!r}", path=str(path), line=line, field=name)
    return float(value)


def read_file(spec: FileSpec) -> list[dict]:
    if not spec.path.is_file():
        raise InputError("data file not found", path=str(spec.path))
    rows = []
    for line_no, row in json_rows(spec.path):
        year = row.get(spec.year_field)
        rows.append(
            {
                "id": str(row.get(spec.id_field)) if row.get(spec.id_field) is not None else None,
                "title": row.get(spec.title_field) or "",
                "year": int(year) if isinstance(year, (int, str)) and str(year).isdigit() else None,
                "citations": _number(row, spec.citations_field, spec.path, line_no),
                "score": _number(row, spec.score_field, spec.path, line_no) if spec.score_field else None,
            }
        )
    if rows and all(r["citations"] is None for r in rows):
        raise InputError(
            f"no row has a value in {spec.citations_field!r}", path=str(spec.path), field=spec.citations_field
        )
    return rows


def file_spec(data, suite_file, score_field, id_field, year_field, citations_field) -> FileSpec | None:
    if data is None and suite_file is None:
        return None
    spec = FileSpec(path=Path(data) if data else Path())
    if suite_file is not None:
        suite = load_suite(suite_file)
        spec.path = Path(data) if data else suite.data_path
        spec.id_field, spec.title_field = suite.fields.id, suite.fields.title
        spec.year_field = suite.fields.year or spec.year_field
        if suite.citations is None and citations_field is None:
            raise InputError("the suite has no [citations] table; pass --citations-field", path=str(suite_file))
        spec.citations_field = suite.citations.field if suite.citations else spec.citations_field
        spec.suite_name = suite.name
    spec.id_field = id_field or spec.id_field
    spec.year_field = year_field or spec.year_field
    spec.citations_field = citations_field or spec.citations_field
    spec.score_field = score_field
    return spec
