"""An author's page on the paper feed, saved as text.

The page starts with a header about the author, then one block per paper::

    Zhengyan Zhang            <- author name
    CL                        <- primary category
    h-index44
    45papers
    24,889citations
    Novelty54%                <- the feed's own scores for the author
    AI Score55
    45 Papers                 <- how many blocks follow

    CLJul 15, 2023Code        <- category, date, optional "Code" flag
    CA-LoRA: Adapting ...     <- title
    Weilin Zhao, Yuxiang Huang, Xu Han et al. · tsinghua    <- authors · affiliation tags
    Recently, there has been a demand ...                   <- abstract, one or more paragraphs

Blank lines between the parts are optional. A paper's ``source_ref`` is the
line of its category/date line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from annotator.errors import InputError
from annotator.ingest.records import AuthorRef, PaperRecord

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
PAPER_LINE = re.compile(rf"^(?P<cat>[A-Za-z][A-Za-z.\-]*?)(?P<date>(?:{MONTHS}) \d{{1,2}}, \d{{4}})(?P<code>Code)?$")
# Something that was meant to be a paper line but is not quite one.
NEAR_PAPER_LINE = re.compile(rf"^[A-Za-z.\-]{{1,12}}(?:{MONTHS})\b.{{0,16}}\d{{4}}\w*$")
HEADER_FIELDS = {
    "h_index": re.compile(r"^h-index\s*([\d,]+)$", re.I),
    "papers": re.compile(r"^([\d,]+)\s*papers$"),
    "citations": re.compile(r"^([\d,]+)\s*citations$", re.I),
    "novelty": re.compile(r"^Novelty\s*(\d+(?:\.\d+)?)\s*%$", re.I),
    "ai_score": re.compile(r"^AI Score\s*(\d+(?:\.\d+)?)$", re.I),
    "listed": re.compile(r"^([\d,]+) Papers$"),
}
AFFILIATION_SEP = " \u00b7 "
ET_AL = re.compile(r",?\s*et al\.?$")


class PageHeader(BaseModel):
    """The author part of a feed page. ``novelty`` and ``ai_score`` are the feed's own numbers."""

    name: str
    category: str | None = None
    h_index: int
    papers: int  # the profile's paper count
    citations: int
    novelty: float  # percent
    ai_score: float
    listed: int | None = None  # the "45 Papers" line: blocks on this page
    source_ref: str | None = None


Item = PaperRecord | InputError | PageHeader


def looks_like_feedpage(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines()[:400]]
    return any(HEADER_FIELDS["h_index"].match(x) for x in lines) and any(PAPER_LINE.match(x) for x in lines)


def _bad_chars(line: str) -> str | None:
    if "\x00" in line:
        return "contains a NUL byte"
    if any("\udc80" <= ch <= "\udcff" for ch in line):
        return "is not valid UTF-8"
    return None


def _block_starts(lines: list[str]) -> list[int]:
    """Paper lines, plus near misses after a blank line (reported, not guessed at)."""
    return [
        i
        for i, line in enumerate(lines)
        if PAPER_LINE.match(line) or (NEAR_PAPER_LINE.match(line) and (i == 0 or not lines[i - 1]))
    ]


def read_feedpage(path: Path) -> Iterator[Item]:
    """Yield the page header, then one ``PaperRecord`` or ``InputError`` per block."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    lines = [line.strip() for line in text.splitlines()]
    starts = _block_starts(lines)
    header = None
    for item in _header(lines[: starts[0] if starts else len(lines)], str(path)):
        header = item if isinstance(item, PageHeader) else header
        yield item
    bounds = starts + [len(lines)]
    for start, end in zip(bounds, bounds[1:]):
        yield from _block(lines, start, end, str(path))
    if header is not None and header.listed is not None and header.listed != len(starts):
        at = next(i for i, x in enumerate(lines) if HEADER_FIELDS["listed"].match(x))
        yield InputError(
            f"the page lists {header.listed} papers but has {len(starts)} blocks",
            path=str(path),
            line=at + 1,
            field="listed",
        )


def _header(lines: list[str], path: str) -> Iterator[Item]:
    numbered = [(i + 1, x) for i, x in enumerate(lines) if x]
    if not numbered:
        yield InputError("the page has no author header", path=path, line=1, field="name")
        return
    for lineno, line in numbered:
        if _bad_chars(line):
            yield InputError(f"header line {_bad_chars(line)}", path=path, line=lineno)
            return
    values: dict = {"name": numbered[0][1], "source_ref": f"{path}:{numbered[0][0]}"}
    for lineno, line in numbered[1:]:
        for field, pattern in HEADER_FIELDS.items():
            m = pattern.match(line)
            if m:
                values[field] = (
                    float(m.group(1)) if field in ("novelty", "ai_score") else int(m.group(1).replace(",", ""))
                )
                break
        else:
            if "category" not in values and re.fullmatch(r"[A-Za-z][A-Za-z.\-]{0,15}", line):
                values["category"] = line
            else:
                yield InputError(f"unexpected header line {line[:60]!r}", path=path, line=lineno)
                return
    try:
        yield PageHeader(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        yield InputError(f"header {err['msg'].lower()}", path=path, line=numbered[0][0], field=str(err["loc"][0]))


def _paragraphs(lines: list[str]) -> str:
    paras, current = [], []
    for line in lines + [""]:
        if line:
            current.append(line)
        elif current:
            paras.append(" ".join(current))
            current = []
    return "\n\n".join(paras)


def _block(lines: list[str], start: int, end: int, path: str) -> Iterator[Item]:
    def error(message: str, field: str | None, at: int = start) -> InputError:
        return InputError(message, path=path, line=at + 1, field=field)

    m = PAPER_LINE.match(lines[start])
    if m is None:
        yield error("not a 'CATEGORYMon D, YYYY[Code]' line", "published")
        return
    for i in range(start, end):
        if _bad_chars(lines[i]):
            yield error(f"line {_bad_chars(lines[i])}", None, i)
            return
    body = [(i, lines[i]) for i in range(start + 1, end) if lines[i]]
    if len(body) < 3:
        missing = ("title", "authors", "abstract")[len(body)]
        yield error(f"the paper block has no {missing}", missing)
        return
    (_, title), (author_at, author_line) = body[0], body[1]
    listed, _, tags = author_line.partition(AFFILIATION_SEP)
    truncated = bool(ET_AL.search(listed))
    names = [n.strip() for n in ET_AL.sub("", listed).split(",") if n.strip()]
    if not names or (len(names) == 1 and not truncated and len(names[0].split()) > 8):
        yield error("does not look like an author list", "authors", author_at)
        return
    try:
        published = datetime.strptime(m["date"], "%b %d, %Y").date()
    except ValueError:
        yield error(f"not a real date: {m['date']!r}", "published")
        return
    try:
        yield PaperRecord(
            title=title,
            abstract=_paragraphs(lines[body[2][0] : end]),
            authors=[AuthorRef(name=n) for n in names],
            authors_truncated=truncated,
            affiliations=[t.strip() for t in tags.split(",") if t.strip()],
            category=m["cat"],
            categories=[m["cat"]],
            published=published,
            has_code=bool(m["code"]),
            source_ref=f"{path}:{start + 1}",
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        yield error(err["msg"], ".".join(str(x) for x in err["loc"]))
