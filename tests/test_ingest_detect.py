"""Format detection: extensions, content sniffing, --format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from annotator.errors import InputError
from annotator.ingest import FORMATS, detect_format, read_records

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


def test_formats_listed():
    assert FORMATS == ("feedpage", "jsonl", "csv", "arxiv", "openalex")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("feedpage_small.txt", "feedpage"),
        ("papers.csv", "csv"),
        ("arxiv_feed.xml", "arxiv"),
        ("openalex_page.json", "openalex"),
    ],
)
def test_by_extension(name, expected):
    assert detect_format(FIXTURES / name) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("feedpage_small.txt", "feedpage"),
        ("papers.csv", "csv"),
        ("arxiv_feed.xml", "arxiv"),
        ("openalex_page.json", "openalex"),
    ],
)
def test_by_content_without_extension(tmp_path, name, expected):
    target = tmp_path / "download"
    shutil.copy(FIXTURES / name, target)
    assert detect_format(target) == expected


def test_jsonl_and_openalex_lines(tmp_path):
    ours = tmp_path / "ours.jsonl"
    ours.write_text(json.dumps({"title": "T", "abstract": "A"}) + "\n")
    assert detect_format(ours) == "jsonl"
    work = json.loads((FIXTURES / "openalex_page.json").read_text())["results"][0]
    snapshot = tmp_path / "snapshot.jsonl"
    snapshot.write_text(json.dumps(work) + "\n")
    assert detect_format(snapshot) == "openalex"
    unnamed = tmp_path / "unnamed"
    unnamed.write_text(json.dumps({"title": "T", "abstract": "A"}) + "\n")
    assert detect_format(unnamed) == "jsonl"


def test_format_flag_overrides_and_aliases(tmp_path):
    odd = tmp_path / "papers.dat"
    shutil.copy(FIXTURES / "papers.csv", odd)
    assert detect_format(odd, "csv") == "csv"
    assert detect_format(odd, "CSV") == "csv"
    assert detect_format(FIXTURES / "arxiv_feed.xml", "atom") == "arxiv"
    assert len([r for r in read_records(odd, fmt="csv")]) == 6


def test_unknown_content_and_unknown_flag(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\nnothing to see\n")
    with pytest.raises(InputError, match="cannot tell the format"):
        detect_format(notes)
    other_xml = tmp_path / "other.xml"
    other_xml.write_text("<rss><channel/></rss>")
    with pytest.raises(InputError, match="--format"):
        detect_format(other_xml)
    with pytest.raises(InputError, match="unknown format 'bibtex'"):
        detect_format(notes, "bibtex")
    with pytest.raises(InputError, match="no such file"):
        list(read_records(tmp_path / "absent.jsonl"))
