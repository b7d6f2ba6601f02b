"""Profiles, leaderboards, imports and the report on SQLite and on PostgreSQL (same SQL)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from _pg import db_url, pg_server_url, pg_url  # noqa: F401  (fixtures)
from conftest import SEED_PAGE
from sqlalchemy import text

from annotator.biblio.profiles import author_profile, leaderboard
from annotator.biblio.report import biblio_report
from annotator.biblio.save import import_paths, link_feed_pages
from annotator.db import open_db
from annotator.ingest import ingest_paths
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.settings import get_settings

FIX = Path(__file__).parent / "fixtures" / "biblio"


def test_biblio_on_both_databases(db_url, fake_server):  # noqa: F811
    engine = open_db(db_url)
    ingest_paths(engine, [SEED_PAGE])
    link_feed_pages(engine, [SEED_PAGE])
    settings = get_settings(base_url=fake_server.base_url, api_key="sk-test", timeout_s=5.0)
    assert annotate(engine, settings, AnnotateOptions(model="fake", concurrency=8)).failed == 0
    imported = import_paths(
        engine,
        [
            FIX / "openalex_author.json",
            FIX / "openalex_works_page1.json",
            FIX / "openalex_works_page2.json",
            FIX / "author_metrics.csv",
        ],
    )
    assert (imported.papers_matched, imported.authors_matched) == (4, 2)

    p = author_profile(engine, "Zhengyan Zhang")
    assert (p.h_index, p.papers, p.citations, p.n_judged) == (44, 45, 24889, 45)
    with engine.connect() as conn:
        scores = [r[0] for r in conn.execute(text("SELECT ai_score FROM judgments"))]
    assert p.ai_score == round(statistics.fmean(scores), 2)
    assert p.ai_score_ci[0] < p.ai_score < p.ai_score_ci[1]
    assert p.h_index_computed == 4

    rows = leaderboard(engine, "ai_score", min_papers=2, limit=100).rows
    assert any(r.name == "Zhengyan Zhang" and r.n_judged == 45 for r in rows)
    assert [r.ai_score for r in rows] == sorted((r.ai_score for r in rows), reverse=True)
    assert leaderboard(engine, "novelty", affiliation="TSINGHUA").rows
    assert leaderboard(engine, "h_index").rows[0].h_index == 44
    assert leaderboard(engine, "citations", metrics_source="openalex").rows[0].citations == 23210
    groups = leaderboard(engine, "ai_score", group="affiliation").rows
    assert {g.affiliation for g in groups} >= {"tsinghua", "princeton"}
    import_paths(engine, [FIX / "paper_metrics.csv"])  # CA-LoRA (tagged tsinghua): 12 citations
    by_h = {g.affiliation: g for g in leaderboard(engine, "h_index", group="affiliation").rows}
    assert by_h["tsinghua"].citations >= 12 and by_h["tsinghua"].h_index >= 1

    report = biblio_report(engine, n_boot=200, min_papers=1)
    assert report.data["papers"]["n"] == 7  # the papers with imported citations
    assert report.data["authors"]["n"] == 1
