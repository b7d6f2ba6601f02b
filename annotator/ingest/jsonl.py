"""JSON Lines input, and the row schema that JSONL and CSV share.

One paper per line (JSONL) or per row (CSV):

================== ======== ===============================================================
field              required JSONL type / CSV text
================== ======== ===============================================================
title              yes      string
abstract           yes      string; HTML tags are stripped and entities unescaped,
                            LaTeX is kept as written; any length is stored whole
authors                     JSONL: list of names or of objects
                            ``{"name", "openalex_id", "s2_id", "orcid"}`` (name required);
                            CSV: names separated by ``;``
affiliations                list of strings (CSV: ``;``-separated)
categories                  list of strings (CSV: ``;``-separated)
category                    string, the primary category; defaults to the first of
                            ``categories`` (and ``categories`` defaults to ``[category]``)
published                   ISO date ``YYYY-MM-DD`` (a full ISO timestamp is cut to its date)
has_code                    boolean (CSV: true/false, yes/no, 1/0)
authors_truncated           boolean: the author list is incomplete ("et al.")
arxiv_id                    string, e.g. ``2307.09782`` or ``arXiv:2307.09782v2``
doi                         string, bare or as a ``https://doi.org/`` URL
openalex_id                 string, e.g. ``W2741809807``
id                          string (JSONL also takes an integer): your own stable id,
                            stored as ``external_id``; unique within a file
venue                       string
citations                   non-negative integer
extra                       anything; ignored. In CSV, every column named ``extra`` or
                            starting with ``extra.`` or ``extra_`` is ignored.
================== ======== ===============================================================

Any other field is an error naming the line and the field, so a typo such as
``abstarct`` cannot pass silently. Empty values (``null``, ``""``, an empty CSV
cell) count as absent. A bad row is reported as one ``InputError`` and the
other rows are still read. Papers are identified by ``arxiv_id``, then ``doi``,
then ``id``, then title plus first author; a second row with the same identity
in one file is rejected.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from annotator.errors import InputError
from annotator.ingest.records import AuthorRef, PaperRecord

KINDS = {
    "title": "text",
    "abstract": "text",
    "authors": "authors",
    "affiliations": "list",
    "categories": "list",
    "category": "str",
    "published": "date",
    "has_code": "bool",
    "authors_truncated": "bool",
    "arxiv_id": "str",
    "doi": "str",
    "openalex_id": "str",
    "id": "id",
    "venue": "str",
    "citations": "int",
}
REQUIRED = ("title", "abstract")
TRUE, FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}

_TAG_NAMES = (
    r"a|abbr|b|big|blockquote|br|cite|code|dd|div|dl|dt|em|font|h[1-6]|hr|i|img|kbd|li|mark|ol|"
    r"p|pre|q|s|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|tt|u|ul|var|"
    r"sec|title|italic|bold|list|list-item|inline-formula|tex-math|abstract"
)
# A tag needs a known name right after "<" and then whitespace, "/" or ">", so
# LaTeX such as "$a<b$ and $c>d$" is left alone.
_TAG = re.compile(rf"</?(?:[a-z]+:)?(?:{_TAG_NAMES})(?:\s[^<>]*)?/?>", re.I)
_BREAK = re.compile(r"</?(?:[a-z]+:)?(?:p|div|br|sec)\b[^<>]*>", re.I)
_NEWLINE = re.compile(r"[ \t]*\n[ \t]*")
_BLANKS = re.compile(r"\n{3,}")


def clean_markup(value: str) -> str:
    """Strip HTML/JATS tags and unescape entities; paragraph tags become blank lines."""
    if "<" in value:
        value = _BREAK.sub("\n\n", value)
        value = _TAG.sub("", value)
    if "&" in value:
        value = html.unescape(value)
    if "\n" in value:
        value = _NEWLINE.sub("\n", value)
        value = _BLANKS.sub("\n\n", value)
    return value.strip()


def error_from_validation(exc: ValidationError, path: str, line: int | None) -> InputError:
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err["loc"]) or None
    return InputError(err["msg"], path=path, line=line, field=field)


def is_extra(field: str) -> bool:
    return field == "extra" or field.startswith(("extra.", "extra_"))


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _convert(field: str, value: Any, from_text: bool) -> Any:
    """One field's value in ``PaperRecord`` terms; raises ValueError with a user message."""
    kind = KINDS[field]
    if from_text:
        value = value.strip()
        if kind in ("list", "authors"):
            value = [x.strip() for x in value.split(";") if x.strip()]
    if kind in ("text", "str", "id", "date"):
        if kind == "id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {_type_name(value)}")
        if "\x00" in value:
            raise ValueError("contains a NUL byte")
        if kind == "text":
            value = clean_markup(value)
            return " ".join(value.split()) if field == "title" else value
        if kind == "date":
            try:
                if len(value) > 10 and value[10] in "T ":
                    value = value[:10]
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"not an ISO date (YYYY-MM-DD): {value[:40]!r}") from None
        return value.strip()
    if kind == "bool":
        if from_text and value.lower() in TRUE | FALSE:
            return value.lower() in TRUE
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {str(value)[:20]!r}")
        return value
    if kind == "int":
        if from_text and re.fullmatch(r"\d[\d,_]*", value):
            value = int(value.replace(",", "").replace("_", ""))
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"expected a non-negative integer, got {str(value)[:20]!r}")
        return value
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {_type_name(value)}")
    out: list[AuthorRef | dict[str, str] | str] = []
    for i, item in enumerate(value):
        if kind == "authors" and isinstance(item, dict):
            out.append(_author_object(i, item))
            continue
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"item {i} is not a non-empty string")
        if "\x00" in item:
            raise ValueError(f"item {i} contains a NUL byte")
        # a name becomes an ``AuthorRef`` when the record is validated
        out.append({"name": item.strip()} if kind == "authors" else item.strip())
    return out


def _author_object(i: int, item: dict) -> AuthorRef:
    unknown = sorted(set(item) - set(AuthorRef.model_fields))
    if unknown:
        raise ValueError(f"author {i}: unknown key {unknown[0]!r}")
    if not isinstance(item.get("name"), str) or not item["name"].strip():
        raise ValueError(f"author {i} has no name")
    if any("\x00" in v for v in item.values() if isinstance(v, str)):
        raise ValueError(f"author {i} contains a NUL byte")
    try:
        return AuthorRef(**{k: v.strip() if isinstance(v, str) else v for k, v in item.items()})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"author {i} {err['loc'][0]}: {err['msg']}") from None


def record_from_row(row: dict, path: str, line: int, *, from_text: bool = False) -> PaperRecord:
    """Turn one JSONL object or CSV row into a record, or raise one ``InputError``."""
    values: dict[str, Any] = {}
    for field, value in row.items():
        kind = KINDS.get(field)
        if kind is None:
            if is_extra(field):
                continue
            raise InputError("unknown field (put your own data under 'extra')", path=path, line=line, field=field)
        if value is None:
            continue
        # the common cases first, with the same outcome as ``_convert``
        if type(value) is str:
            if not value.strip():
                continue
            if not from_text and "\x00" not in value:
                if kind == "str":
                    values[field] = value.strip()
                    continue
                if kind == "text" and "<" not in value and "&" not in value and "\n" not in value:
                    values[field] = " ".join(value.split()) if field == "title" else value.strip()
                    continue
        elif (
            kind in ("list", "authors")
            and type(value) is list
            and all(type(x) is str and x.strip() and "\x00" not in x for x in value)
        ):
            values[field] = [x.strip() for x in value] if kind == "list" else [{"name": x.strip()} for x in value]
            continue
        try:
            values["external_id" if field == "id" else field] = _convert(field, value, from_text)
        except ValueError as exc:
            raise InputError(str(exc), path=path, line=line, field=field) from None
    for field in REQUIRED:
        if not values.get(field):
            problem = "is missing" if row.get(field) is None else "is empty"
            raise InputError(problem, path=path, line=line, field=field)
    if values.get("category") and not values.get("categories"):
        values["categories"] = [values["category"]]
    elif values.get("categories") and not values.get("category"):
        values["category"] = values["categories"][0]
    try:
        return PaperRecord(**values, source_ref=f"{path}:{line}")
    except ValidationError as exc:
        raise error_from_validation(exc, path, line) from None


def read_jsonl(path: Path) -> Iterator[PaperRecord | InputError]:
    """One record or one error per non-blank line; lines are decoded one at a time."""
    where = str(path)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            if b"\x00" in raw:
                yield InputError("contains a NUL byte", path=where, line=lineno)
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield InputError(f"not valid UTF-8 (byte {exc.start + 1})", path=where, line=lineno)
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield InputError(f"not valid JSON: {exc.msg} at column {exc.colno}", path=where, line=lineno)
                continue
            if not isinstance(row, dict):
                yield InputError(f"expected a JSON object, got {_type_name(row)}", path=where, line=lineno)
                continue
            try:
                yield record_from_row(row, where, lineno)
            except InputError as exc:
                yield exc
