"""Reading OpenAlex, Semantic Scholar, CSV and feed-page metrics files into records."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import SEED_PAGE

from annotator.biblio.hindex import h_index, h_index_from
from annotator.biblio.importers import detect_source, read_bundle
from annotator.biblio.sources import short_arxiv, short_doi, short_openalex, short_orcid
from annotator.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "biblio"


def test_openalex_author_object():
    b = read_bundle(FIX / "openalex_author.json")
    assert b.source == "openalex" and b.papers == [] and b.errors == []
    (a,) = b.authors
    assert (a.name, a.openalex_id, a.orcid) == ("Zhengyan Zhang", "A5000000042", "0000-0000-0000-0042")
    assert (a.h_index, a.citations, a.works_count) == (41, 23210, 61)
    assert a.as_of == date(2025, 6, 1)
    assert a.primary_category == "Computer Science"


def test_openalex_works_page_keeps_ids_citations_and_authors():
    b = read_bundle(FIX / "openalex_works_page1.json")
    assert [p.openalex_id for p in b.papers] == ["W2950000001", "W2950000002", "W2950000003"]
    ernie = b.papers[0]
    assert ernie.doi == "10.18653/v1/p19-1139" and ernie.arxiv_id == "1905.07129"
    assert ernie.citations == 2900 and ernie.year == 2019 and ernie.first_author == "Zhengyan Zhang"
    assert "openalex:A5000000042" in ernie.author_ids
    assert b.papers[2].doi is None and b.papers[2].arxiv_id is None  # no ids: title matching later


def test_openalex_search_page_holds_authors():
    b = read_bundle(FIX / "openalex_authors_search.json")
    assert [a.openalex_id for a in b.authors] == ["A5000000998", "A5000000999", "A5000000042"]


def test_semantic_scholar_author_with_papers_claims_them():
    b = read_bundle(FIX / "s2_author.json")
    assert b.source == "semanticscholar"
    (a,) = b.authors
    assert (a.s2_id, a.orcid, a.h_index, a.citations, a.works_count) == (
        "2000000042",
        "0000-0000-0000-0042",
        39,
        21950,
        52,
    )
    assert len(b.papers) == 4 and all(p.claimed_by == 0 for p in b.papers)
    ernie = b.papers[0]
    assert (ernie.arxiv_id, ernie.doi, ernie.citations, ernie.influential_citations) == (
        "1905.07129",
        "10.18653/v1/p19-1139",
        2750,
        410,
    )


def test_semantic_scholar_batch_reports_null_entries():
    b = read_bundle(FIX / "s2_papers_batch.json")
    assert len(b.papers) == 2 and len(b.errors) == 1 and "null" in b.errors[0]
    assert b.papers[1].doi == "10.1007/s11633-022-1377-5"


def test_csv_author_and_paper_files():
    authors = read_bundle(FIX / "author_metrics.csv")
    assert [(a.name, a.h_index, a.source, a.as_of) for a in authors.authors] == [
        ("Zhengyan Zhang", 45, "scholar", date(2025, 7, 1)),
        ("Nobody Known", 3, "scholar", date(2025, 7, 1)),
    ]
    papers = read_bundle(FIX / "paper_metrics.csv")
    assert len(papers.papers) == 4 and papers.papers[0].citations == 12
    assert papers.papers[1].influential_citations is None and papers.papers[0].source == "csv"


def test_csv_rejects_unknown_columns_and_reports_bad_cells(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("name,h_indx\nA,3\n")
    with pytest.raises(InputError, match="unknown column 'h_indx'"):
        read_bundle(bad)
    cells = tmp_path / "c.csv"
    cells.write_text("name,h_index,citations,extra_note\nA,three,5,x\nB,-1,5,\nC,4,1200,ok\n")
    b = read_bundle(cells)
    assert [a.name for a in b.authors] == ["C"]
    assert len(b.errors) == 2 and ":2" in b.errors[0] and "whole number" in b.errors[0]
    assert ":3" in b.errors[1]


def test_feedpage_header_and_claimed_papers():
    b = read_bundle(SEED_PAGE)
    (a,) = b.authors
    assert (a.name, a.h_index, a.works_count, a.citations) == ("Zhengyan Zhang", 44, 45, 24889)
    assert (a.reported_novelty, a.reported_ai_score, a.primary_category) == (54.0, 55.0, "CL")
    assert len(b.papers) == 45 and all(p.claimed_by == 0 and p.citations is None for p in b.papers)


def test_detection_and_forced_source(tmp_path):
    assert detect_source(FIX / "openalex_author.json") == "openalex"
    assert detect_source(FIX / "s2_author.json") == "s2"
    assert detect_source(FIX / "paper_metrics.csv") == "csv"
    odd = tmp_path / "x.json"
    odd.write_text(json.dumps({"hello": 1}))
    with pytest.raises(InputError, match="--source"):
        read_bundle(odd)
    with pytest.raises(InputError, match="unknown source"):
        read_bundle(FIX / "s2_author.json", "scopus")
    # one object per line works too
    lines = tmp_path / "works.jsonl"
    page = json.loads((FIX / "openalex_works_page2.json").read_text())
    lines.write_text("\n".join(json.dumps(w) for w in page["results"]) + "\n")
    assert len(read_bundle(lines, "openalex").papers) == 2


def test_id_forms():
    assert short_openalex("https://openalex.org/a123") == "A123"
    assert short_openalex("https://api.openalex.org/works/W9") == "W9"
    assert short_orcid("https://orcid.org/0000-0001-2345-6789") == "0000-0001-2345-6789"
    assert short_doi("https://doi.org/10.1/ABC") == "10.1/abc" and short_doi("doi:10.2/x") == "10.2/x"
    assert short_arxiv("arXiv:2106.07139v3") == "2106.07139"


def test_h_index():
    assert h_index([]) == 0
    assert h_index([10, 8, 5, 4, 3]) == 4
    assert h_index([25, 8, 5, 3, 3]) == 3
    assert h_index([1, 1, 1]) == 1 and h_index([0, 0]) == 0
    assert h_index_from([None, 5, None, 1]) == (1, 2)
    assert h_index_from([None, None]) == (None, 0)
