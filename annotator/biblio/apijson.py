"""Reading OpenAlex and Semantic Scholar JSON: API pages, lists, JSON lines.

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
"""

from __future__ import annotations

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
from annotator.ingest.openalex import mapping


# -- JSON containers ---------------------------------------------------------------
def load_json(path: Path) -> list[Any]:
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
                    raise InputError(f"not valid JSON: {err.msg}", path=str(path), line=lineno) from None
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
        if "openalex.org" in ident or any(
            k in obj for k in ("summary_stats", "cited_by_count", "authorships", "works_count")
        ):
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
    stats = mapping(obj, "summary_stats")
    ids = mapping(obj, "ids")
    topics = obj.get("topics") or obj.get("x_concepts") or []
    category = None
    if topics and isinstance(topics[0], dict):
        category = (
            (topics[0].get("field") or {}).get("display_name") if isinstance(topics[0].get("field"), dict) else None
        ) or topics[0].get("display_name")
    ident = short_openalex(obj.get("id"))
    return AuthorMetrics(
        source="openalex",
        ref=f"{ref}: openalex author {ident or '?'}",
        name=obj.get("display_name") or None,
        openalex_id=ident,
        orcid=short_orcid(obj.get("orcid") or ids.get("orcid")),
        primary_category=category,
        h_index=_int(stats.get("h_index")),
        citations=_int(obj.get("cited_by_count")),
        works_count=_int(obj.get("works_count")),
        as_of=_as_of(obj.get("updated_date")),
    )


def openalex_work(obj: dict, ref: str) -> PaperMetrics:
    ids = mapping(obj, "ids")
    ident = short_openalex(obj.get("id") or ids.get("openalex"))
    arxiv = ids.get("arxiv")
    if not arxiv:
        for loc in obj.get("locations") or []:
            url = str((loc or {}).get("landing_page_url") or "")
            if "arxiv.org/abs/" in url:
                arxiv = url.split("arxiv.org/abs/", 1)[1]
                break
    authorships = [a for a in obj.get("authorships") or [] if isinstance(a, dict)]
    first = next(
        (a for a in authorships if a.get("author_position") == "first"), authorships[0] if authorships else None
    )
    first_name = ((first or {}).get("author") or {}).get("display_name") if first else None
    author_ids = [
        f"openalex:{short_openalex((a.get('author') or {}).get('id'))}"
        for a in authorships
        if (a.get("author") or {}).get("id")
    ]
    return PaperMetrics(
        source="openalex",
        ref=f"{ref}: openalex work {ident or '?'}",
        title=obj.get("title") or obj.get("display_name") or None,
        doi=short_doi(obj.get("doi") or ids.get("doi")),
        arxiv_id=short_arxiv(arxiv),
        openalex_id=ident,
        year=_int(obj.get("publication_year")),
        first_author=first_name,
        citations=_int(obj.get("cited_by_count")),
        author_ids=author_ids,
        as_of=_as_of(obj.get("updated_date")),
    )


def read_openalex_metrics(path: Path) -> Bundle:
    """An OpenAlex file's authors and works as bibliometrics (``ingest.openalex.read_openalex``
    reads the same files as papers to judge)."""
    return openalex_bundle(load_json(path), str(path))


def openalex_bundle(objects: list[Any], where: str) -> Bundle:
    def add(bundle: Bundle, obj: dict) -> None:
        if is_openalex_author(obj):
            bundle.authors.append(openalex_author(obj, where))
        else:
            bundle.papers.append(openalex_work(obj, where))

    return collect_bundle(
        Bundle(source="openalex"), objects, where, add, not_object="expected an OpenAlex author or work object"
    )


# -- Semantic Scholar --------------------------------------------------------------
def s2_paper(obj: dict, ref: str, claimed_by: int | None = None) -> PaperMetrics:
    ext = mapping(obj, "externalIds")
    authors = [a for a in obj.get("authors") or [] if isinstance(a, dict)]
    pid = obj.get("paperId") or None
    return PaperMetrics(
        source="semanticscholar",
        ref=f"{ref}: s2 paper {pid or '?'}",
        title=obj.get("title") or None,
        doi=short_doi(ext.get("DOI")),
        arxiv_id=short_arxiv(ext.get("ArXiv")),
        s2_id=pid,
        year=_int(obj.get("year")),
        first_author=authors[0].get("name") if authors else None,
        citations=_int(obj.get("citationCount")),
        influential_citations=_int(obj.get("influentialCitationCount")),
        author_ids=[f"s2:{a['authorId']}" for a in authors if a.get("authorId")],
        claimed_by=claimed_by,
    )


def s2_author(obj: dict, ref: str) -> AuthorMetrics:
    ext = mapping(obj, "externalIds")
    orcid = ext.get("ORCID")
    aid = obj.get("authorId") or None
    return AuthorMetrics(
        source="semanticscholar",
        ref=f"{ref}: s2 author {aid or '?'}",
        name=obj.get("name") or None,
        s2_id=str(aid) if aid else None,
        orcid=short_orcid(
            str(orcid[0]) if isinstance(orcid, list) and orcid else orcid if isinstance(orcid, str) else None
        ),
        h_index=_int(obj.get("hIndex")),
        citations=_int(obj.get("citationCount")),
        works_count=_int(obj.get("paperCount")),
    )


def read_s2(path: Path) -> Bundle:
    return s2_bundle(load_json(path), str(path))


def s2_bundle(objects: list[Any], where: str) -> Bundle:
    def add(bundle: Bundle, obj: dict) -> None:
        if "authorId" in obj and "paperId" not in obj:
            bundle.authors.append(s2_author(obj, where))
            owner = len(bundle.authors) - 1
            for paper in obj.get("papers") or []:
                if isinstance(paper, dict):
                    bundle.papers.append(s2_paper(paper, where, claimed_by=owner))
        else:
            bundle.papers.append(s2_paper(obj, where))

    # the batch endpoints answer null for an unknown id
    return collect_bundle(
        Bundle(source="semanticscholar"),
        objects,
        where,
        add,
        not_object="expected a Semantic Scholar author or paper object",
        null="null (an id Semantic Scholar did not know)",
    )


def collect_bundle(
    bundle: Bundle,
    objects: list[Any],
    where: str,
    add: Callable[[Bundle, dict], None],
    *,
    not_object: str,
    null: str | None = None,
) -> Bundle:
    """``add`` each JSON object to ``bundle``; an item that is not an object, or that fails
    validation, becomes an error naming its place (``null`` is the message for a JSON null)."""
    for i, obj in enumerate(objects, start=1):
        ref = f"{where} item {i}"
        if not isinstance(obj, dict):
            bundle.errors.append(f"{ref}: {null if obj is None and null else not_object}")
            continue
        try:
            add(bundle, obj)
        except ValidationError as exc:
            bundle.errors.append(f"{ref}: {first_error(exc)}")
    return bundle


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return f"field '{loc}': {err['msg']}" if loc else err["msg"]
