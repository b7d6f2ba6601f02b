"""OpenAlex works: one work object, a list of works, an API page
``{"meta": ..., "results": [...]}``, or one work per line (a snapshot file).

Per work: ``id`` -> ``openalex_id`` (``W...``), ``title``/``display_name``,
``abstract_inverted_index`` -> the abstract rebuilt word by word (a work without
one is rejected), ``authorships[].author`` -> authors with their OpenAlex id
and ORCID, ``authorships[].institutions[].display_name`` -> affiliations,
``doi``, ``ids.arxiv`` or an arxiv.org location -> ``arxiv_id``,
``publication_date``, ``primary_topic``/``topics``/``concepts`` -> categories,
``primary_location.source.display_name`` -> venue, ``cited_by_count`` ->
citations, ``is_authors_truncated``. ``source_ref`` is the line where the
work's object starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from annotator.errors import InputError
from annotator.ingest.jsonl import clean_markup, error_from_validation
from annotator.ingest.records import AuthorRef, PaperRecord

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[\s,]*")
_COLON = re.compile(r"\s*:\s*")


def looks_like_openalex(text: str) -> bool:
    head = text[:20000]
    return any(k in head for k in ('"abstract_inverted_index"', '"authorships"', "openalex.org/W"))


def _skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where ``pattern`` (which matches the empty string too) ends from ``pos``."""
    found = pattern.match(text, pos)
    return found.end() if found else pos


def mapping(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """``obj[key]`` when it is a JSON object, else an empty one."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _array(text: str, pos: int) -> Iterator[tuple[int, Any]]:
    """The elements of the (already validated) JSON array at ``pos``, with offsets."""
    pos += 1
    while not text.startswith("]", pos := _skip(_WS, text, pos)):
        obj, end = _DECODER.raw_decode(text, pos)
        yield pos, obj
        pos = end


def _results(text: str, pos: int) -> Iterator[tuple[int, Any]]:
    """The works in the ``results`` member of the API page object at ``pos``."""
    pos += 1
    while not text.startswith("}", pos := _skip(_WS, text, pos)):
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(_COLON, text, pos)
        if key == "results":
            yield from _array(text, pos)
            return
        _, pos = _DECODER.raw_decode(text, pos)


def _json_lines(text: str, where: str) -> Iterator[tuple[int, Any] | InputError]:
    offset = 0
    for lineno, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.strip():
            try:
                yield offset, json.loads(line)
            except json.JSONDecodeError as exc:
                yield InputError(f"not valid JSON: {exc.msg}", path=where, line=lineno)
        offset += len(line)


def read_openalex(path: Path) -> Iterator[PaperRecord | InputError]:
    where = str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        yield InputError("not valid UTF-8", path=where, line=raw[: exc.start].count(b"\n") + 1)
        return
    start = _skip(_WS, text, 0)
    try:
        doc = json.loads(text)
        if isinstance(doc, list):
            items: Iterator = _array(text, start)
        elif isinstance(doc, dict) and isinstance(doc.get("results"), list):
            items = _results(text, start)
        else:
            items = iter([(start, doc)])
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            yield InputError(f"not valid JSON: {exc.msg} at column {exc.colno}", path=where, line=exc.lineno)
            return
        items = _json_lines(text, where)  # one work per line
    seen, line = 0, 1
    for item in items:
        if isinstance(item, InputError):
            yield item
            continue
        offset, work = item
        line, seen = line + text.count("\n", seen, offset), offset
        try:
            yield _work(work, where, line)
        except InputError as exc:
            yield exc


def _short(value: Any, prefix: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().removeprefix(prefix)


def rebuild_abstract(index: dict) -> str:
    """Put an ``abstract_inverted_index`` ({word: [positions]}) back in order."""
    slots: dict[int, str] = {}
    for word, positions in index.items():
        if not isinstance(positions, list) or not all(isinstance(p, int) for p in positions):
            raise ValueError(f"positions of {word!r} are not a list of integers")
        for p in positions:
            slots[p] = word
    return " ".join(slots[p] for p in sorted(slots))


def _arxiv_id(work: dict) -> str | None:
    ids = mapping(work, "ids")
    if ids.get("arxiv"):
        return str(ids["arxiv"])
    for loc in work.get("locations") or []:
        url = (loc or {}).get("landing_page_url") or ""
        m = re.search(r"arxiv\.org/abs/([^\s?#]+)", url)
        if m:
            return m.group(1)
    return None


def _work(work: Any, where: str, line: int) -> PaperRecord:
    if not isinstance(work, dict):
        raise InputError("expected a work object", path=where, line=line)
    ident = _short(work.get("id"), "https://openalex.org/")

    def error(message: str, field: str) -> InputError:
        return InputError(f"work {ident or '?'}: {message}", path=where, line=line, field=field)

    title = work.get("title") or work.get("display_name")
    if not isinstance(title, str) or not title.strip():
        raise error("has no title", "title")
    index = work.get("abstract_inverted_index")
    if not index:
        raise error("has no abstract (abstract_inverted_index is empty)", "abstract_inverted_index")
    if not isinstance(index, dict):
        raise error("abstract_inverted_index is not an object", "abstract_inverted_index")
    try:
        abstract = rebuild_abstract(index)
    except ValueError as exc:
        raise error(str(exc), "abstract_inverted_index") from None
    authors, affiliations = [], []
    for a in work.get("authorships") or []:
        person = (a or {}).get("author") or {}
        name = person.get("display_name") or (a or {}).get("raw_author_name")
        if isinstance(name, str) and name.strip():
            authors.append(
                AuthorRef(
                    name=name.strip(),
                    openalex_id=_short(person.get("id"), "https://openalex.org/"),
                    orcid=_short(person.get("orcid"), "https://orcid.org/"),
                )
            )
        for inst in (a or {}).get("institutions") or []:
            name = (inst or {}).get("display_name")
            if isinstance(name, str) and name.strip() and name.strip() not in affiliations:
                affiliations.append(name.strip())
    published = None
    if work.get("publication_date"):
        try:
            published = date.fromisoformat(str(work["publication_date"])[:10])
        except ValueError:
            raise error("publication_date is not an ISO date", "publication_date") from None
    primary = (work.get("primary_topic") or {}).get("display_name")
    categories = [
        t.get("display_name")
        for t in (work.get("topics") or work.get("concepts") or [])
        if isinstance(t, dict) and t.get("display_name")
    ]
    if primary and primary not in categories:
        categories.insert(0, primary)
    source = (work.get("primary_location") or {}).get("source") or {}
    venue = source.get("display_name") or (work.get("host_venue") or {}).get("display_name")
    citations = work.get("cited_by_count")
    try:
        return PaperRecord(
            title=" ".join(clean_markup(title).split()),
            abstract=clean_markup(abstract),
            authors=authors,
            authors_truncated=bool(work.get("is_authors_truncated")),
            affiliations=affiliations,
            category=primary or (categories[0] if categories else None),
            categories=categories,
            published=published,
            doi=work.get("doi"),
            arxiv_id=_arxiv_id(work),
            openalex_id=ident,
            venue=venue,
            citations=citations if isinstance(citations, int) and citations >= 0 else None,
            source_ref=f"{where}:{line}",
        )
    except ValidationError as exc:
        raise error_from_validation(exc, where, line) from None
