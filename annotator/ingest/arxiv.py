"""arXiv API answers: an Atom ``<feed>`` of ``<entry>`` elements.

Per entry: ``id`` (``http://arxiv.org/abs/2307.09782v2``; the version is
dropped), ``title``, ``summary`` (the abstract; arXiv's hard line breaks are
joined, blank lines kept as paragraph breaks), ``published``, ``author/name``
with ``arxiv:affiliation``, ``category/@term`` (the categories),
``arxiv:primary_category/@term``, ``arxiv:doi`` and ``arxiv:journal_ref``
(the venue). Documents with a DOCTYPE are refused, so no entity is ever
expanded; the stdlib parser never fetches external ones.

Categories. arXiv lists the authors' classification codes among the
``<category>`` terms too: MSC classes (``20M20, 20M10, 05C12``) and ACM
classes (``I.2.7``, ``F.2.2; G.2.2``). Only arXiv categories are kept
(``is_arxiv_category``: an archive such as ``cs``, ``math``, ``q-bio``,
``astro-ph``, ``hep-th`` or ``quant-ph``, with or without a subject class:
``cs.LG``, ``math.GR``, ``cond-mat.mes-hall``); the codes are dropped, as
the schema has no column for them, so they never become category pages or
leaderboard columns.
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
# arXiv's archives, current and retired (the old ones still name old papers' categories)
ARCHIVES = frozenset(
    (
        "astro-ph cond-mat cs econ eess gr-qc hep-ex hep-lat hep-ph hep-th math math-ph nlin "
        "nucl-ex nucl-th physics q-bio q-fin quant-ph stat "
        "acc-phys adap-org alg-geom ao-sci atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas "
        "dg-ga funct-an mtrl-th patt-sol plasm-ph q-alg solv-int supr-con"
    ).split()
)
CATEGORY = re.compile(r"([a-z]+(?:-[a-z]+)?)(?:\.[A-Za-z]{2,}(?:-[a-z]{2,})?)?")


def is_arxiv_category(term: str) -> bool:
    """``cs.LG``, ``math.GR``, ``q-bio.NC``, ``astro-ph.CO``, ``hep-th``: an arXiv
    category; an MSC or ACM class (``20M20, 05C25``, ``I.2.7``) is not."""
    m = CATEGORY.fullmatch(term)
    return m is not None and m.group(1) in ARCHIVES


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
    terms = (" ".join((c.get("term") or "").split()) for c in entry.findall(f"{ATOM}category"))
    categories = list(dict.fromkeys(t for t in terms if is_arxiv_category(t)))
    primary = entry.find(f"{ARXIV}primary_category")
    category = " ".join((primary.get("term") or "").split()) if primary is not None else None
    if category and not is_arxiv_category(category):
        category = None
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
