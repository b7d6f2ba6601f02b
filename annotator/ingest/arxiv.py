"""arXiv API answers: an Atom ``<feed>`` of ``<entry>`` elements.

Per entry: ``id`` (``http://arxiv.org/abs/2307.09782v2``; the version is
dropped), ``title``, ``summary`` (the abstract; arXiv's hard line breaks are
joined, blank lines kept as paragraph breaks), ``published``, ``author/name``
with ``arxiv:affiliation``, ``category/@term`` (all categories),
``arxiv:primary_category/@term``, ``arxiv:doi`` and ``arxiv:journal_ref``
(the venue). Documents with a DOCTYPE are refused, so no entity is ever
expanded; the stdlib parser never fetches external ones.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from annotator.errors import InputError
from annotator.ingest.jsonl import error_from_validation
from annotator.ingest.records import AuthorRef, PaperRecord

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
ENTRY_TAG = re.compile(r"<(?:[\w.-]+:)?entry[\s>]")


def looks_like_atom(text: str) -> bool:
    return "<feed" in text[:4000] and "http://www.w3.org/2005/Atom" in text[:4000]


def _text(el: ET.Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def _summary(value: str) -> str:
    paragraphs = re.split(r"\n\s*\n", value.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def read_arxiv(path: Path) -> Iterator[PaperRecord | InputError]:
    where = str(path)
    raw = path.read_bytes()
    head = raw[:4096].decode("utf-8", errors="replace")
    if "<!DOCTYPE" in head.upper() or b"<!ENTITY" in raw:
        yield InputError("XML with a DOCTYPE or entities is not accepted", path=where, line=1)
        return
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        yield InputError(f"not well-formed XML: {exc}", path=where, line=exc.position[0])
        return
    if root.tag != f"{ATOM}feed":
        yield InputError(f"expected an Atom <feed>, found <{root.tag}>", path=where, line=1)
        return
    text = raw.decode("utf-8", errors="replace")
    lines = [text.count("\n", 0, m.start()) + 1 for m in ENTRY_TAG.finditer(text)]
    for i, entry in enumerate(root.iter(f"{ATOM}entry")):
        line = lines[i] if i < len(lines) else None
        try:
            yield _entry(entry, where, line)
        except InputError as exc:
            yield exc


def _entry(entry: ET.Element, where: str, line: int | None) -> PaperRecord:
    def error(message: str, field: str) -> InputError:
        return InputError(message, path=where, line=line, field=field)

    ident = _text(entry.find(f"{ATOM}id")) or ""
    if "/api/errors" in ident:  # the API reports a bad query as an entry
        raise error(_text(entry.find(f"{ATOM}summary")) or "arXiv API error", "id")
    m = re.search(r"arxiv\.org/abs/(.+)$", ident)
    if not m:
        raise error(f"not an arXiv abstract URL: {ident[:80]!r}", "id")
    title, summary = _text(entry.find(f"{ATOM}title")), _text(entry.find(f"{ATOM}summary"))
    if not title:
        raise error("the entry has no title", "title")
    if not summary:
        raise error("the entry has no summary (abstract)", "summary")
    published: date | None = None
    stamp = _text(entry.find(f"{ATOM}published"))
    if stamp:
        try:
            published = date.fromisoformat(stamp[:10])
        except ValueError:
            raise error(f"not an ISO date: {stamp[:40]!r}", "published") from None
    authors, affiliations = [], []
    for author in entry.findall(f"{ATOM}author"):
        name = _text(author.find(f"{ATOM}name"))
        if name:
            authors.append(AuthorRef(name=" ".join(name.split())))
        for aff in author.findall(f"{ARXIV}affiliation"):
            value = _text(aff)
            if value and value not in affiliations:
                affiliations.append(value)
    categories = [c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term")]
    primary = entry.find(f"{ARXIV}primary_category")
    category = primary.get("term") if primary is not None else None
    if category and category not in categories:
        categories.insert(0, category)
    try:
        return PaperRecord(
            title=" ".join(title.split()),
            abstract=_summary(summary),
            authors=authors,
            affiliations=affiliations,
            category=category or (categories[0] if categories else None),
            categories=categories,
            published=published,
            arxiv_id=m.group(1),
            doi=_text(entry.find(f"{ARXIV}doi")),
            venue=_text(entry.find(f"{ARXIV}journal_ref")),
            source_ref=f"{where}:{line}" if line else where,
        )
    except ValidationError as exc:
        raise error_from_validation(exc, where, line) from None
