"""Importing metrics into a database holding the seed page: matching, snapshots, links, export."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import SEED_PAGE
from sqlalchemy import text

from annotator.biblio.match import Matcher
from annotator.biblio.profiles import author_profile
from annotator.biblio.save import import_paths, link_feed_pages
from annotator.biblio.sources import AuthorMetrics, PaperMetrics
from annotator.export import iter_papers
from annotator.ingest import ingest_paths

FIX = Path(__file__).parent / "fixtures" / "biblio"
OPENALEX = [FIX / "openalex_author.json", FIX / "openalex_works_page1.json", FIX / "openalex_works_page2.json"]


@pytest.fixture
def seeded(engine):
    summary = ingest_paths(engine, [SEED_PAGE])
    assert summary.new == 45
    return engine


def _one(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def _paper_id(engine, title):
    return _one(engine, "SELECT id FROM papers WHERE title = :t", t=title)[0][0]


def test_openalex_author_and_works_match_and_link(seeded):
    report = import_paths(seeded, OPENALEX)
    d = report.to_dict()
    assert d["authors"] == {"read": 1, "matched": 1, "unmatched": 0}
    assert d["papers"] == {"read": 5, "matched": 4, "unmatched": 1}
    (miss,) = report.unmatched
    assert miss.kind == "paper" and "Never Ingested" in miss.label and "no stored paper" in miss.reason
    assert d["matched_by"] == {"paper:title": 4, "author:name": 1}
    assert d["author_metrics_added"] == 1 and d["paper_metrics_added"] == 4
    (author,) = _one(seeded, "SELECT id, openalex_id, orcid FROM authors WHERE norm_name = 'zhengyan zhang'")
    assert author[1:] == ("A5000000042", "0000-0000-0000-0042")
    # the survey lists him behind "et al.": the works list links it to him
    gnn = _paper_id(seeded, "Graph Neural Networks: A Review of Methods and Applications")
    assert not _one(seeded, "SELECT 1 FROM authorships WHERE paper_id = :p AND author_id = :a", p=gnn, a=author[0])
    # ingesting the page already linked it (the page is his profile); the works list agrees
    assert _one(
        seeded, "SELECT source FROM author_papers WHERE paper_id = :p AND author_id = :a", p=gnn, a=author[0]
    ) == [("feedpage",)]
    ernie = _one(seeded, "SELECT doi, arxiv_id, openalex_id FROM papers WHERE title LIKE 'ERNIE%'")[0]
    assert ernie == ("10.18653/v1/p19-1139", "1905.07129", "W2950000001")
    # importing again adds nothing and now matches by id
    again = import_paths(seeded, OPENALEX).to_dict()
    assert again["author_metrics_added"] == again["paper_metrics_added"] == again["links_added"] == 0
    assert again["matched_by"]["author:openalex"] == 1 and "paper:title" not in again["matched_by"]
    assert sum(n for k, n in again["matched_by"].items() if k.startswith("paper:")) == 4


def test_semantic_scholar_and_csv_imports(seeded):
    s2 = import_paths(seeded, [FIX / "s2_author.json"]).to_dict()
    assert s2["authors"]["matched"] == 1 and s2["papers"] == {"read": 4, "matched": 3, "unmatched": 1}
    assert _one(seeded, "SELECT s2_id FROM authors WHERE norm_name = 'zhengyan zhang'") == [("2000000042",)]
    rows = _one(
        seeded,
        "SELECT citations, influential_citations, source FROM paper_metrics m "
        "JOIN papers p ON p.id = m.paper_id WHERE p.title LIKE 'ERNIE%'",
    )
    assert rows == [(2750, 410, "semanticscholar")]
    batch = import_paths(seeded, [FIX / "s2_papers_batch.json"])
    assert batch.papers_matched == 2 and batch.errors
    csv_papers = import_paths(seeded, [FIX / "paper_metrics.csv"])
    assert (csv_papers.papers_matched, csv_papers.papers_unmatched) == (3, 1)
    csv_authors = import_paths(seeded, [FIX / "author_metrics.csv"])
    assert (csv_authors.authors_matched, csv_authors.authors_unmatched) == (1, 1)
    assert "Nobody Known" in csv_authors.unmatched[0].label


def test_precedence_latest_as_of_then_last_stored_field_by_field(seeded, tmp_path):
    import_paths(seeded, OPENALEX)  # as_of 2025-06-01, older than the page (ingested today)
    import_paths(seeded, [FIX / "author_metrics.csv"])  # as_of 2025-07-01
    p = author_profile(seeded, "Zhengyan Zhang")
    assert (p.h_index, p.citations, p.papers) == (44, 24889, 45)
    assert p.metrics["h_index"].source == "feedpage"
    assert author_profile(seeded, "Zhengyan Zhang", metrics_source="openalex").h_index == 41
    assert author_profile(seeded, "Zhengyan Zhang", metrics_source="scholar").h_index == 45
    # a newer snapshot that lacks citations: h-index from it, citations from the page
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    newer = tmp_path / "newer.csv"
    newer.write_text(f"name,h_index,as_of,source\nZhengyan Zhang,46,{tomorrow},manual\n")
    import_paths(seeded, [newer])
    p = author_profile(seeded, "Zhengyan Zhang")
    assert (p.h_index, p.citations) == (46, 24889)
    assert (p.metrics["h_index"].source, p.metrics["citations"].source) == ("manual", "feedpage")
    # the page's own numbers stay as the page printed them
    assert (p.reported.ai_score, p.reported.novelty, p.reported.h_index) == (55.0, 54.0, 44)
    # h-index computed from the imported per-paper counts (2900, 6100, 120, 95 citations)
    assert (p.h_index_computed, p.h_index_computed_from) == (4, 4)


def test_feed_page_links_hidden_papers(seeded):
    # named on only 28 of the 45 blocks ("et al."), but ingesting the page linked all 45
    with seeded.connect() as conn:
        named = conn.execute(
            text(
                "SELECT COUNT(*) FROM authorships s JOIN authors a ON a.id = s.author_id "
                "WHERE a.norm_name = 'zhengyan zhang'"
            )
        ).scalar_one()
    assert named == 28
    assert author_profile(seeded, "Zhengyan Zhang").papers_stored == 45
    report = link_feed_pages(seeded, [SEED_PAGE])  # linking again adds nothing
    assert report.papers_matched == 45 and report.author_metrics_added == 0
    assert report.links_added == 0


def test_title_matching_tells_papers_apart_or_refuses(engine, tmp_path):
    page = tmp_path / "papers.jsonl"
    page.write_text(
        '{"title": "Deep Nets", "abstract": "One.", "authors": ["Ann Lee"], "published": "2019-01-01"}\n'
        '{"title": "Deep  nets!", "abstract": "Two.", "authors": ["Bo Chen"], "published": "2023-01-01"}\n'
        '{"title": "Deep Nets", "abstract": "Three.", "authors": ["Cy Dee"], "published": "2023-02-01"}\n'
    )
    assert ingest_paths(engine, [page]).new == 3
    with engine.connect() as conn:
        m = Matcher(conn)
        by_year = m.paper(PaperMetrics(source="x", title="deep nets", year=2019))
        assert by_year.ok and by_year.by == "title"
        by_author = m.paper(PaperMetrics(source="x", title="Deep Nets", year=2023, first_author="Cy Dee"))
        assert by_author.ok
        assert by_author.id != by_year.id
        unsure = m.paper(PaperMetrics(source="x", title="Deep Nets", year=2023))
        assert not unsure.ok and "3 stored papers have this title" in unsure.reason
        assert not m.paper(PaperMetrics(source="x", doi="10.9/none")).ok


def test_author_matching_by_id_name_and_ambiguity(engine, tmp_path):
    page = tmp_path / "papers.jsonl"
    page.write_text(
        '{"title": "P1", "abstract": "a", "authors": [{"name": "Wei Wang", "orcid": "0000-0000-0000-0001"}]}\n'
        '{"title": "P2", "abstract": "b", "authors": [{"name": "Wei Wang", "orcid": "0000-0000-0000-0002"}]}\n'
    )
    ingest_paths(engine, [page])
    with engine.connect() as conn:
        m = Matcher(conn)
        by_orcid = m.author(AuthorMetrics(source="x", name="W. Wang", orcid="0000-0000-0000-0002"))
        assert by_orcid.ok and by_orcid.by == "orcid"
        unsure = m.author(AuthorMetrics(source="x", name="Wei Wang"))
        assert not unsure.ok and "2 stored authors are named" in unsure.reason
        p1 = conn.execute(text("SELECT id FROM papers WHERE title = 'P1'")).scalar()
        hinted = m.author(AuthorMetrics(source="x", name="Wei Wang"), paper_hint=[p1])
        assert hinted.ok and hinted.id != by_orcid.id
        clash = m.author(AuthorMetrics(source="x", name="Wei Wang", orcid="0000-0000-0000-0009"))
        assert not clash.ok and "other ids" in clash.reason


def test_export_carries_imported_metrics(seeded):
    import_paths(seeded, OPENALEX)
    rows = {p["title"]: p for p in iter_papers(seeded)}
    ernie = rows["ERNIE: Enhanced Language Representation with Informative Entities"]
    assert ernie["citations"] == 2900
    assert ernie["first_author_h_index"] is not None
    assert (
        rows[
            "CA-LoRA: Adapting Existing LoRA for Compressed LLMs to Enable Efficient Multi-Tasking on Personal Devices"
        ]["citations"]
        is None
    )


def test_export_and_profile_agree_on_the_snapshot_that_counts(seeded):
    import_paths(seeded, [FIX / "openalex_author.json"])  # stored after the page, but older
    ernie = next(p for p in iter_papers(seeded) if p["title"].startswith("ERNIE"))
    assert ernie["first_author_h_index"] == author_profile(seeded, "Zhengyan Zhang").h_index == 44


def test_snapshot_dates(seeded):
    import_paths(seeded, [FIX / "openalex_author.json"])
    dates = _one(seeded, "SELECT source, as_of FROM author_metrics ORDER BY id")
    assert [s for s, _ in dates] == ["feedpage", "openalex"]
    assert str(dates[1][1])[:10] == date(2025, 6, 1).isoformat()
