"""Reading bibliometrics files: OpenAlex, Semantic Scholar, CSV, the feed page header.

Each reader takes a path and returns a :class:`Bundle` of author and paper metrics.
JSON files may hold one object, a list, an API page (OpenAlex ``{"meta", "results"}``,
Semantic Scholar ``{"data": [...]}``) or one object per line.

OpenAlex and Semantic Scholar JSON: see ``apijson``.
CSV: see :data:`AUTHOR_COLUMNS` and :data:`PAPER_COLUMNS`; a file with any paper
identifier column (``title``, ``doi``, ``arxiv_id``, ``s2_paper_id``, ``external_id``)
holds papers, otherwise authors. Unknown columns are an error (columns named
``extra...`` are ignored).
Feed page: the header (h-index, papers, citations, the page's Novelty % and AI Score)
and the page's papers, which belong to the page's author.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from annotator.biblio.apijson import first_error, load_json, read_openalex_metrics, read_s2, sniff_json_source
from annotator.biblio.sources import (
    AuthorMetrics,
    Bundle,
    PaperMetrics,
    short_arxiv,
    short_doi,
    short_openalex,
    short_orcid,
)
from annotator.errors import InputError
from annotator.ingest.feedpage import PageHeader, looks_like_feedpage, read_feedpage

IMPORT_SOURCES = ("openalex", "s2", "csv", "feedpage")


# -- CSV ---------------------------------------------------------------------------
AUTHOR_COLUMNS = {
    "name": "name",
    "author": "name",
    "openalex_id": "openalex_id",
    "s2_id": "s2_id",
    "s2_author_id": "s2_id",
    "orcid": "orcid",
    "primary_category": "primary_category",
    "h_index": "h_index",
    "citations": "citations",
    "works_count": "works_count",
    "papers": "works_count",
    "reported_ai_score": "reported_ai_score",
    "reported_novelty": "reported_novelty",
    "as_of": "as_of",
    "source": "source",
}
PAPER_COLUMNS = {
    "title": "title",
    "doi": "doi",
    "arxiv_id": "arxiv_id",
    "openalex_id": "openalex_id",
    "s2_id": "s2_id",
    "s2_paper_id": "s2_id",
    "external_id": "external_id",
    "id": "external_id",
    "year": "year",
    "first_author": "first_author",
    "citations": "citations",
    "influential_citations": "influential_citations",
    "as_of": "as_of",
    "source": "source",
}
PAPER_MARKERS = {"title", "doi", "arxiv_id", "s2_paper_id", "external_id", "id", "influential_citations"}
_INT_FIELDS = {"h_index", "citations", "works_count", "year", "influential_citations"}
_FLOAT_FIELDS = {"reported_ai_score", "reported_novelty"}
_ID_CLEAN: dict[str, Callable[[str], str | None]] = {
    "openalex_id": short_openalex,
    "orcid": short_orcid,
    "doi": short_doi,
    "arxiv_id": short_arxiv,
}


def _cell(field: str, raw: str) -> Any:
    value = raw.strip()
    if not value:
        return None
    if field in _INT_FIELDS:
        try:
            return int(value.replace(",", ""))
        except ValueError:
            raise ValueError(f"expected a whole number, got {value!r}") from None
    if field in _FLOAT_FIELDS:
        try:
            return float(value.rstrip("%"))
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
    if field == "as_of":
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise ValueError(f"expected an ISO date YYYY-MM-DD, got {value!r}") from None
    return _ID_CLEAN.get(field, lambda v: v)(value)


def read_csv_metrics(path: Path) -> Bundle:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8", path=where) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=where) from None
    dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise InputError("the file is empty", path=where, line=1)
    names = [h.strip().lower() for h in header]
    kind = "papers" if PAPER_MARKERS & set(names) else "authors"
    columns = PAPER_COLUMNS if kind == "papers" else AUTHOR_COLUMNS
    for name in names:
        if name not in columns and not name.startswith("extra"):
            raise InputError(
                f"unknown column {name!r} in a {kind} metrics file; known: {', '.join(sorted(columns))}",
                path=where,
                line=1,
                field=name,
            )
    if kind == "authors" and not {"name", "author", "openalex_id", "s2_id", "s2_author_id", "orcid"} & set(names):
        raise InputError("an author metrics file needs a name or an author id column", path=where, line=1)
    bundle = Bundle(source="csv")
    for lineno, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        values: dict[str, Any] = {"source": "csv", "ref": f"{where}:{lineno}"}
        try:
            for name, raw in zip(names, row):
                if name in columns:
                    field = columns[name]
                    value = _cell(field, raw)
                    if value is not None:
                        values[field] = value
            if kind == "papers":
                bundle.papers.append(PaperMetrics(**values))
            else:
                bundle.authors.append(AuthorMetrics(**values))
        except ValidationError as exc:
            bundle.errors.append(str(InputError(first_error(exc), path=where, line=lineno)))
        except ValueError as exc:
            bundle.errors.append(str(InputError(str(exc), path=where, line=lineno, field=name)))
    return bundle


# -- the feed page -----------------------------------------------------------------
def read_feedpage_header(path: Path) -> Bundle:
    """The page's author numbers, and its papers (which belong to that author)."""
    bundle = Bundle(source="feedpage")
    owner: int | None = None
    for item in read_feedpage(path):
        if isinstance(item, PageHeader):
            bundle.authors.append(
                AuthorMetrics(
                    source="feedpage",
                    ref=item.source_ref or str(path),
                    name=item.name,
                    primary_category=item.category,
                    h_index=item.h_index,
                    citations=item.citations,
                    works_count=item.papers,
                    reported_ai_score=item.ai_score,
                    reported_novelty=item.novelty,
                )
            )
            owner = len(bundle.authors) - 1
        elif isinstance(item, InputError):
            bundle.errors.append(str(item))
        else:
            bundle.papers.append(
                PaperMetrics(
                    source="feedpage",
                    ref=item.source_ref or str(path),
                    title=item.title,
                    arxiv_id=item.arxiv_id,
                    doi=item.doi,
                    year=item.published.year if item.published else None,
                    first_author=item.authors[0].name if item.authors else None,
                    claimed_by=owner,
                )
            )
    if not bundle.authors:
        raise InputError("no author header found on the page", path=str(path), line=1)
    return bundle


# -- dispatch ----------------------------------------------------------------------
READERS: dict[str, Callable[[Path], Bundle]] = {
    "openalex": read_openalex_metrics,
    "s2": read_s2,
    "csv": read_csv_metrics,
    "feedpage": read_feedpage_header,
}


def detect_source(path: Path) -> str:
    """``openalex``, ``s2``, ``csv`` or ``feedpage`` from the extension and content."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    try:
        head = path.read_bytes()[:65536].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if head.startswith(("{", "[")):
        found = sniff_json_source(load_json(path))
        if found:
            return found
    elif looks_like_feedpage(head):
        return "feedpage"
    raise InputError(
        f"cannot tell the source of this file; pass --source ({', '.join(IMPORT_SOURCES)})", path=str(path)
    )


def read_bundle(path: Path | str, source: str | None = None) -> Bundle:
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=str(path))
    if source is not None:
        source = source.lower()
        if source == "semanticscholar":
            source = "s2"
        if source not in READERS:
            raise InputError(f"unknown source {source!r}; choose one of {', '.join(IMPORT_SOURCES)}", path=str(path))
    return READERS[source or detect_source(path)](path)
