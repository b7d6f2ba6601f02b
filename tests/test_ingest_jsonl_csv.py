"""JSONL and CSV readers: the documented row schema and every way a row can be bad."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from annotator.errors import InputError
from annotator.ingest import read_records
from annotator.ingest.jsonl import clean_markup
from annotator.ingest.records import PaperRecord

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def _write_jsonl(path: Path, rows: list) -> Path:
    lines = [r if isinstance(r, bytes) else (r if isinstance(r, str) else json.dumps(r)).encode() for r in rows]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _split(items):
    records = [i for i in items if isinstance(i, PaperRecord)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(records) + len(errors) == len(items)
    return records, errors


GOOD = {"id": "x1", "title": "Good Paper", "abstract": "A fine abstract."}


def test_jsonl_full_row(tmp_path):
    row = {
        "id": 17,
        "title": "  Quiet   Gradients ",
        "abstract": "We show $\\nabla f < 0$ often.",
        "authors": [
            "Ines Varga",
            {"name": "Kofi Mensah", "orcid": "0000-0001-0000-0002", "openalex_id": "A123", "s2_id": "99"},
        ],
        "affiliations": ["Uni A"],
        "categories": ["cs.LG", "stat.ML"],
        "published": "2023-02-28T10:00:00Z",
        "has_code": True,
        "arxiv_id": "arXiv:2302.00001v4",
        "doi": "https://doi.org/10.5555/ABC",
        "venue": "Imaginary",
        "citations": 5,
        "authors_truncated": True,
        "openalex_id": "W9",
        "extra": {"anything": [1, 2]},
    }
    (rec,) = read_records(_write_jsonl(tmp_path / "a.jsonl", [row]))
    assert isinstance(rec, PaperRecord)
    assert rec.title == "Quiet Gradients"
    assert rec.abstract == "We show $\\nabla f < 0$ often."
    assert [a.name for a in rec.authors] == ["Ines Varga", "Kofi Mensah"]
    assert (rec.authors[1].orcid, rec.authors[1].openalex_id, rec.authors[1].s2_id) == (
        "0000-0001-0000-0002",
        "A123",
        "99",
    )
    assert (rec.category, rec.categories) == ("cs.LG", ["cs.LG", "stat.ML"])
    assert rec.published == date(2023, 2, 28)
    assert (rec.arxiv_id, rec.doi, rec.external_id) == ("2302.00001", "10.5555/abc", "17")
    assert (rec.has_code, rec.citations, rec.authors_truncated, rec.venue) == (True, 5, True, "Imaginary")
    assert rec.source_ref == f"{tmp_path / 'a.jsonl'}:1"


def test_jsonl_bad_rows_each_one_error_good_rows_kept(tmp_path):
    rows = [
        GOOD,  # 1 ok
        '{"title": "Broken", "abstract": ',  # 2 broken JSON
        {"title": "No abstract"},  # 3 missing
        {"title": "Blank abstract", "abstract": "   "},  # 4 empty
        {"title": "T", "abstract": "A", "abstarct": "typo"},  # 5 unknown field
        {"title": "T", "abstract": "A", "authors": "Ines Varga"},  # 6 wrong type
        {"title": "T", "abstract": "A", "published": "March 2020"},  # 7 bad date
        {"title": "T", "abstract": "A", "citations": -3},  # 8 negative
        {"title": "T", "abstract": "A", "has_code": "yes"},  # 9 JSON wants a boolean
        {"title": "T", "abstract": "A", "authors": [{"nam": "X"}]},  # 10 bad author key
        "[1, 2]",  # 11 not an object
        {"id": "x1", "title": "Again", "abstract": "Same id."},  # 12 duplicate id
        {"id": "x3", "title": "Fine too", "abstract": "Yes."},  # 13 ok
    ]
    path = _write_jsonl(tmp_path / "b.jsonl", rows)
    records, errors = _split(list(read_records(path)))
    assert [r.external_id for r in records] == ["x1", "x3"]
    assert [(e.line, e.field) for e in errors] == [
        (2, None),
        (3, "abstract"),
        (4, "abstract"),
        (5, "abstarct"),
        (6, "authors"),
        (7, "published"),
        (8, "citations"),
        (9, "has_code"),
        (10, "authors"),
        (11, None),
        (12, "id"),
    ]
    assert all(e.path == str(path) for e in errors)
    assert "not valid JSON" in str(errors[0])
    assert "is missing" in str(errors[1]) and "is empty" in str(errors[2])
    assert "unknown field" in str(errors[3])
    assert "'nam'" in str(errors[8])
    assert f"{path}:1" in str(errors[10])  # names the first occurrence


def test_jsonl_invalid_utf8_and_nul_bytes(tmp_path):
    rows = [
        GOOD,
        b'{"title": "Bad \xff bytes", "abstract": "x"}',
        b'{"title": "Raw NUL \x00", "abstract": "x"}',
        {"title": "Escaped NUL", "abstract": "a\u0000b"},
        {"id": "x2", "title": "Still read", "abstract": "After the bad lines."},
    ]
    records, errors = _split(list(read_records(_write_jsonl(tmp_path / "c.jsonl", rows))))
    assert [r.title for r in records] == ["Good Paper", "Still read"]
    assert [(e.line, e.field) for e in errors] == [(2, None), (3, None), (4, "abstract")]
    assert "UTF-8" in str(errors[0]) and "NUL" in str(errors[1]) and "NUL" in str(errors[2])


def test_html_stripped_latex_kept_and_long_abstract_whole(tmp_path):
    long_text = "word " * 200_000  # about 1 MB
    rows = [
        {
            "id": "h",
            "title": "<i>Italic</i> Title &amp; More",
            "abstract": "<p>First &lt;para&gt; with $a<b$ and $c>d$.</p><p>Second&nbsp;one, "
            "<jats:italic>x</jats:italic> &#8805; y.</p>",
        },
        {"id": "long", "title": "Long", "abstract": long_text},
    ]
    html, long = read_records(_write_jsonl(tmp_path / "d.jsonl", rows))
    assert html.title == "Italic Title & More"
    assert html.abstract == "First <para> with $a<b$ and $c>d$.\n\nSecond\xa0one, x \u2265 y."
    assert len(long.abstract) == len(long_text.strip())


def test_clean_markup_leaves_plain_text_alone():
    text = "Plain $x_{i} < y^{2}$ text with 5 > 3 and a & b unescaped"
    assert clean_markup(text) == text


def test_csv_fixture(tmp_path):
    path = FIXTURES / "papers.csv"
    records, errors = _split(list(read_records(path)))
    assert [r.external_id for r in records] == ["c1", "c3"]
    first, multi = records
    assert [a.name for a in first.authors] == ["Ines Varga", "Kofi Mensah"]
    assert (first.affiliations, first.categories, first.category) == (["Uni A", "Uni B"], ["cs.LG", "cs.IR"], "cs.LG")
    assert (first.has_code, first.citations, first.doi) == (True, 12, "10.5555/tiny.1")
    assert first.published == date(2022, 4, 1) and first.source_ref == f"{path}:2"
    assert multi.title == "Quoted, Multi-line Title Row" and multi.has_code is False
    assert multi.abstract == "An abstract that\nspans two physical lines."
    assert [(e.line, e.field) for e in errors] == [(3, "abstract"), (6, "published"), (7, "citations"), (8, "id")]


def test_csv_unknown_or_missing_column_stops_the_file(tmp_path):
    typo = tmp_path / "typo.csv"
    typo.write_text("title,abstarct\nT,A\n")
    (err,) = read_records(typo)
    assert isinstance(err, InputError) and (err.line, err.field) == (1, "abstarct")
    missing = tmp_path / "missing.csv"
    missing.write_text("title,authors\nT,A\n")
    (err,) = read_records(missing)
    assert (err.line, err.field) == (1, "abstract")


def test_csv_bad_bytes_wrong_width_and_big_cells(tmp_path):
    big = "y" * 300_000  # over the csv module's default field limit
    raw = (
        b"title,abstract,extra_source\n"
        b"Ok One,Fine,a\n"
        b"Bad \xfe Bytes,Fine,b\n"
        b"Too,Many,Cells,Here\n"
        b"Nul,Has \x00 nul,c\n" + f"Big,{big},d\n".encode()
    )
    path = tmp_path / "e.csv"
    path.write_bytes(raw)
    records, errors = _split(list(read_records(path)))
    assert [r.title for r in records] == ["Ok One", "Big"]
    assert len(records[1].abstract) == 300_000
    assert [(e.line, e.field) for e in errors] == [(3, "title"), (4, None), (5, "abstract")]
    assert "UTF-8" in str(errors[0]) and "NUL" in str(errors[2])
