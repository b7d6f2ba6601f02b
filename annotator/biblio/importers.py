"""Reading bibliometrics files: OpenAlex, Semantic Scholar, CSV, the feed page header.

Each reader takes a path and returns a :class:`Bundle` of author and paper metrics.
JSON files may hold one object, a list, an API page (OpenAlex ``{"meta", "results"}``,
Semantic Scholar ``{"data": [...]}``) or one object per line.

OpenAlex (``/authors/{id}``, ``/authors?search=``, ``/works?filter=author.id:``):
  author: ``id``, ``display_name``, ``orcid``, ``summary_stats.h_index``,
  ``cited_by_count``, ``works_count``, ``updated_date`` (-> ``as_of``),
  ``topics[0]``/``x_concepts[0]`` (-> primary category).
  work: ``id``, ``title``/``display_name``, ``doi``, ``ids``, ``publication_year``,
  ``cited_by_count``, ``authorships[].author.id`` (-> the work belongs to that author).
Semantic Scholar (Graph API ``/author/{id}``, ``/author/search``, ``/author/{id}/papers``,
``/paper/batch``):
  author: ``authorId``, ``name``, ``externalIds.ORCID``, ``hIndex``, ``citationCount``,
  ``paperCount``, nested ``papers`` (each belongs to the author).
  paper: ``paperId``, ``title``, ``externalIds.DOI``/``ArXiv``, ``year``,
  ``citationCount``, ``influentialCitationCount``, ``authors[].authorId``.
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
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

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

IMPORT_SOURCES = ("openalex", "s2", "csv", "feedpage")
SOURCE_NAMES = {"openalex": "openalex", "s2": "semanticscholar", "semanticscholar": "semanticscholar",
                "csv": "csv", "feedpage": "feedpage"}


# -- JSON containers ---------------------------------------------------------------
def _load_json(path: Path) -> list[Any]:
    """The objects in a JSON file: unwraps API pages and lists; JSON lines allowed."""
    try:
        text = path.read_text(encoding="utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise InputError(f"not valid JSON: {exc.msg}", path=str(path), line=exc.lineno) from None
        docs = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    docs.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise InputError(f"not valid JSON: {err.msg}", path=str(path),
                                     line=lineno) from None
    out: list[Any] = []
    for doc in docs:
        out += unwrap(doc)
    return out


def unwrap(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return [x for item in doc for x in unwrap(item)]
    if isinstance(doc, dict):
        for key in ("results", "data"):  # OpenAlex page, Semantic Scholar page
            if isinstance(doc.get(key), list) and ("meta" in doc or key == "data"):
                return list(doc[key])
    return [doc]


def sniff_json_source(objects: list[Any]) -> str | None:
    for obj in objects[:50]:
        if not isinstance(obj, dict):
            continue
        if any(k in obj for k in ("authorId", "paperId", "hIndex", "citationCount")):
            return "s2"
        ident = str(obj.get("id") or "")
        if "openalex.org" in ident or any(k in obj for k in ("summary_stats", "cited_by_count",
                                                              "authorships", "works_count")):
            return "openalex"
    return None


# -- OpenAlex ----------------------------------------------------------------------
def _as_of(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def is_openalex_author(obj: dict) -> bool:
    ident = short_openalex(obj.get("id")) or ""
    return ident.startswith("A") or ("summary_stats" in obj and "authorships" not in obj)


def openalex_author(obj: dict, ref: str) -> AuthorMetrics:
    stats = obj.get("summary_stats") if isinstance(obj.get("summary_stats"), dict) else {}
    ids = obj.get("ids") if isinstance(obj.get("ids"), dict) else {}
    topics = obj.get("topics") or obj.get("x_concepts") or []
    category = None
    if topics and isinstance(topics[0], dict):
        category = ((topics[0].get("field") or {}).get("display_name")
                    if isinstance(topics[0].get("field"), dict) else None) or topics[0].get("display_name")
    ident = short_openalex(obj.get("id"))
    return AuthorMetrics(
        source="openalex", ref=f"{ref}: openalex author {ident or '?'}",
        name=obj.get("display_name") or None, openalex_id=ident,
        orcid=short_orcid(obj.get("orcid") or ids.get("orcid")),
        primary_category=category,
        h_index=_int(stats.get("h_index")), citations=_int(obj.get("cited_by_count")),
        works_count=_int(obj.get("works_count")), as_of=_as_of(obj.get("updated_date")))


def openalex_work(obj: dict, ref: str) -> PaperMetrics:
    ids = obj.get("ids") if isinstance(obj.get("ids"), dict) else {}
    ident = short_openalex(obj.get("id") or ids.get("openalex"))
    arxiv = ids.get("arxiv")
    if not arxiv:
        for loc in obj.get("locations") or []:
            url = str((loc or {}).get("landing_page_url") or "")
            if "arxiv.org/abs/" in url:
                arxiv = url.split("arxiv.org/abs/", 1)[1]
                break
    authorships = [a for a in obj.get("authorships") or [] if isinstance(a, dict)]
    first = next((a for a in authorships if a.get("author_position") == "first"),
                 authorships[0] if authorships else None)
    first_name = ((first or {}).get("author") or {}).get("display_name") if first else None
    author_ids = [f"openalex:{short_openalex((a.get('author') or {}).get('id'))}"
                  for a in authorships if (a.get("author") or {}).get("id")]
    return PaperMetrics(
        source="openalex", ref=f"{ref}: openalex work {ident or '?'}",
        title=obj.get("title") or obj.get("display_name") or None,
        doi=short_doi(obj.get("doi") or ids.get("doi")), arxiv_id=short_arxiv(arxiv),
        openalex_id=ident, year=_int(obj.get("publication_year")), first_author=first_name,
        citations=_int(obj.get("cited_by_count")), author_ids=author_ids,
        as_of=_as_of(obj.get("updated_date")))


def read_openalex(path: Path) -> Bundle:
    return openalex_bundle(_load_json(path), str(path))


def openalex_bundle(objects: list[Any], where: str) -> Bundle:
    bundle = Bundle(source="openalex")
    for i, obj in enumerate(objects, start=1):
        ref = f"{where} item {i}"
        if not isinstance(obj, dict):
            bundle.errors.append(f"{ref}: expected an OpenAlex author or work object")
            continue
        try:
            if is_openalex_author(obj):
                bundle.authors.append(openalex_author(obj, where))
            else:
                bundle.papers.append(openalex_work(obj, where))
        except ValidationError as exc:
            bundle.errors.append(f"{ref}: {_first_error(exc)}")
    return bundle


# -- Semantic Scholar --------------------------------------------------------------
def s2_paper(obj: dict, ref: str, claimed_by: int | None = None) -> PaperMetrics:
    ext = obj.get("externalIds") if isinstance(obj.get("externalIds"), dict) else {}
    authors = [a for a in obj.get("authors") or [] if isinstance(a, dict)]
    pid = obj.get("paperId") or None
    return PaperMetrics(
        source="semanticscholar", ref=f"{ref}: s2 paper {pid or '?'}",
        title=obj.get("title") or None, doi=short_doi(ext.get("DOI")),
        arxiv_id=short_arxiv(ext.get("ArXiv")), s2_id=pid, year=_int(obj.get("year")),
        first_author=authors[0].get("name") if authors else None,
        citations=_int(obj.get("citationCount")),
        influential_citations=_int(obj.get("influentialCitationCount")),
        author_ids=[f"s2:{a['authorId']}" for a in authors if a.get("authorId")],
        claimed_by=claimed_by)


def s2_author(obj: dict, ref: str) -> AuthorMetrics:
    ext = obj.get("externalIds") if isinstance(obj.get("externalIds"), dict) else {}
    orcid = ext.get("ORCID")
    aid = obj.get("authorId") or None
    return AuthorMetrics(
        source="semanticscholar", ref=f"{ref}: s2 author {aid or '?'}",
        name=obj.get("name") or None, s2_id=str(aid) if aid else None,
        orcid=short_orcid(orcid[0] if isinstance(orcid, list) and orcid else orcid),
        h_index=_int(obj.get("hIndex")), citations=_int(obj.get("citationCount")),
        works_count=_int(obj.get("paperCount")))


def read_s2(path: Path) -> Bundle:
    return s2_bundle(_load_json(path), str(path))


def s2_bundle(objects: list[Any], where: str) -> Bundle:
    bundle = Bundle(source="semanticscholar")
    for i, obj in enumerate(objects, start=1):
        ref = f"{where} item {i}"
        if obj is None:  # the batch endpoints answer null for an unknown id
            bundle.errors.append(f"{ref}: null (an id Semantic Scholar did not know)")
            continue
        if not isinstance(obj, dict):
            bundle.errors.append(f"{ref}: expected a Semantic Scholar author or paper object")
            continue
        try:
            if "authorId" in obj and "paperId" not in obj:
                bundle.authors.append(s2_author(obj, where))
                owner = len(bundle.authors) - 1
                for paper in obj.get("papers") or []:
                    if isinstance(paper, dict):
                        bundle.papers.append(s2_paper(paper, where, claimed_by=owner))
            else:
                bundle.papers.append(s2_paper(obj, where))
        except ValidationError as exc:
            bundle.errors.append(f"{ref}: {_first_error(exc)}")
    return bundle


# -- CSV ---------------------------------------------------------------------------
AUTHOR_COLUMNS = {
    "name": "name", "author": "name", "openalex_id": "openalex_id", "s2_id": "s2_id",
    "s2_author_id": "s2_id", "orcid": "orcid", "primary_category": "primary_category",
    "h_index": "h_index", "citations": "citations", "works_count": "works_count",
    "papers": "works_count", "reported_ai_score": "reported_ai_score",
    "reported_novelty": "reported_novelty", "as_of": "as_of", "source": "source",
}
PAPER_COLUMNS = {
    "title": "title", "doi": "doi", "arxiv_id": "arxiv_id", "openalex_id": "openalex_id",
    "s2_id": "s2_id", "s2_paper_id": "s2_id", "external_id": "external_id", "id": "external_id",
    "year": "year", "first_author": "first_author", "citations": "citations",
    "influential_citations": "influential_citations", "as_of": "as_of", "source": "source",
}
PAPER_MARKERS = {"title", "doi", "arxiv_id", "s2_paper_id", "external_id", "id",
                 "influential_citations"}
_INT_FIELDS = {"h_index", "citations", "works_count", "year", "influential_citations"}
_FLOAT_FIELDS = {"reported_ai_score", "reported_novelty"}
_ID_CLEAN: dict[str, Callable[[str], str | None]] = {
    "openalex_id": short_openalex, "orcid": short_orcid, "doi": short_doi, "arxiv_id": short_arxiv}


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
            raise InputError(f"unknown column {name!r} in a {kind} metrics file; known: "
                             f"{', '.join(sorted(columns))}", path=where, line=1, field=name)
    if kind == "authors" and not {"name", "author", "openalex_id", "s2_id", "s2_author_id",
                                  "orcid"} & set(names):
        raise InputError("an author metrics file needs a name or an author id column",
                         path=where, line=1)
    bundle = Bundle(source="csv")
    model = PaperMetrics if kind == "papers" else AuthorMetrics
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
            (bundle.papers if kind == "papers" else bundle.authors).append(model(**values))
        except ValueError as exc:
            msg = _first_error(exc) if isinstance(exc, ValidationError) else str(exc)
            field = name if not isinstance(exc, ValidationError) else None
            bundle.errors.append(str(InputError(msg, path=where, line=lineno, field=field)))
    return bundle


# -- the feed page -----------------------------------------------------------------
def read_feedpage_header(path: Path) -> Bundle:
    """The page's author numbers, and its papers (which belong to that author)."""
    from annotator.ingest.feedpage import PageHeader, read_feedpage

    bundle = Bundle(source="feedpage")
    owner: int | None = None
    for item in read_feedpage(path):
        if isinstance(item, PageHeader):
            bundle.authors.append(AuthorMetrics(
                source="feedpage", ref=item.source_ref or str(path), name=item.name,
                primary_category=item.category, h_index=item.h_index,
                citations=item.citations, works_count=item.papers,
                reported_ai_score=item.ai_score, reported_novelty=item.novelty))
            owner = len(bundle.authors) - 1
        elif isinstance(item, InputError):
            bundle.errors.append(str(item))
        else:
            bundle.papers.append(PaperMetrics(
                source="feedpage", ref=item.source_ref or str(path), title=item.title,
                arxiv_id=item.arxiv_id, doi=item.doi,
                year=item.published.year if item.published else None,
                first_author=item.authors[0].name if item.authors else None, claimed_by=owner))
    if not bundle.authors:
        raise InputError("no author header found on the page", path=str(path), line=1)
    return bundle


# -- dispatch ----------------------------------------------------------------------
READERS: dict[str, Callable[[Path], Bundle]] = {
    "openalex": read_openalex, "s2": read_s2, "csv": read_csv_metrics,
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
        found = sniff_json_source(_load_json(path))
        if found:
            return found
    else:
        from annotator.ingest.feedpage import looks_like_feedpage

        if looks_like_feedpage(head):
            return "feedpage"
    raise InputError("cannot tell the source of this file; pass --source "
                     f"({', '.join(IMPORT_SOURCES)})", path=str(path))


def read_bundle(path: Path | str, source: str | None = None) -> Bundle:
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=str(path))
    if source is not None:
        source = source.lower()
        if source == "semanticscholar":
            source = "s2"
        if source not in READERS:
            raise InputError(f"unknown source {source!r}; choose one of {', '.join(IMPORT_SOURCES)}",
                             path=str(path))
    return READERS[source or detect_source(path)](path)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return f"field '{loc}': {err['msg']}" if loc else err["msg"]

