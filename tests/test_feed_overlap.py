"""arXiv windows read honestly: papers announced late with an older ``<updated>`` are
caught by the overlap re-read on the next run, a window read short of its reported
total stays open, and ``<category>`` terms that are classification codes (MSC, ACM)
are not stored as categories, by ``annotator ingest`` or by the feed.

The responses are recorded pages (``tests/data/recorded_overlap``) played back by
``ReplayServer``; each route answers one exact ``search_query``, as arXiv would
answer that window, so a window that starts too late misses the late paper."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text
from test_feed_runs import RECORDED

from annotator.feed.arxiv_api import fetch_arxiv
from annotator.feed.cursors import read_cursor
from annotator.feed.replay import ReplayServer
from annotator.ingest.arxiv import is_arxiv_category, read_arxiv
from annotator.ingest.store import ingest_paths
from annotator.settings import feed_settings

DATA = RECORDED.parent / "recorded_overlap"
SINCE, UNTIL = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 23, 59, tzinfo=UTC)


def settings(server: ReplayServer, **kw):
    return feed_settings(arxiv_url=f"{server.base_url}/api/query", arxiv_interval_s=0, **{"arxiv_page_size": 10, **kw})


def stored(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_a_paper_announced_late_with_an_older_timestamp_is_read_on_the_next_run(engine):
    with ReplayServer(DATA / "late.json") as server:
        first = fetch_arxiv(engine, ["math.GR"], since=SINCE, until=UNTIL, settings=settings(server))
        assert first.complete and first.through == "2026-11-24T16:45:00+00:00"
        # 2611.00303 (updated 24 Nov 10:00) was announced after the first run had read
        # the window up to 16:45 the same day
        second = fetch_arxiv(engine, ["math.GR"], until=LATER, settings=settings(server))
        queries = [r["query"]["search_query"] for r in server.requests]
    assert second.window_from == "2026-11-22T16:45:00+00:00"  # two days before the cursor
    assert "[202611221645 TO 202611272359]" in queries[-1]
    assert (second.new, second.unchanged, second.rejected) == (2, 2, 0)  # re-read: unchanged
    assert second.through == "2026-11-26T08:00:00+00:00"
    assert stored(engine, "SELECT arxiv_id FROM papers ORDER BY arxiv_id") == [
        ("2611.00301",),
        ("2611.00302",),
        ("2611.00303",),
        ("2611.00304",),
    ]


def test_a_window_read_short_of_its_total_stays_open_and_is_resumed(engine):
    with ReplayServer(DATA / "short.json") as server:
        short = fetch_arxiv(engine, ["math.GR"], since=SINCE, until=UNTIL, settings=settings(server, arxiv_page_size=2))
        cursor = read_cursor(engine, "arxiv", "cat:math.GR")
        # every retry of the page at offset 2 came back empty although the total is 3
        assert not short.complete and short.retries == 3
        assert (cursor.window_from, cursor.position) == ("2026-11-20T00:00:00+00:00", "2")
        again = fetch_arxiv(engine, ["math.GR"], until=LATER, settings=settings(server, arxiv_page_size=2))
        starts = [r["query"]["start"] for r in server.requests]
    assert again.resumed and again.complete and again.new == 1
    assert starts == ["0", "2", "2", "2", "2", "2"]
    assert "202611242359" in server.requests[-1]["query"]["search_query"]  # the same window
    assert read_cursor(engine, "arxiv", "cat:math.GR").window_from is None
    assert stored(engine, "SELECT COUNT(*) FROM papers") == [(3,)]


def test_only_arxiv_categories_are_categories():
    for term in (
        "cs.LG",
        "math.GR",
        "q-bio.NC",
        "astro-ph.CO",
        "cond-mat.mes-hall",
        "hep-th",
        "quant-ph",
        "gr-qc",
        "math-ph",
        "nucl-th",
        "cond-mat",
        "stat.ML",
        "eess.SP",
    ):
        assert is_arxiv_category(term), term
    for term in (
        "20M20, 20M10, 05C12, 05C25",
        "I.2.7",
        "F.4.2; G.2.2",
        "68Q42",
        "03D40",
        "Primary 20M20",
        "cs.LG, cs.AI",
        "",
        "algebra.GR",
        "math.GR extra",
    ):
        assert not is_arxiv_category(term), term


EXPECTED = {
    "2611.00301": ["math.GR", "math.CO"],
    "2611.00302": ["math.GR", "cs.LG"],
    "2611.00303": ["math.GR"],
    "2611.00304": ["math.GR", "hep-th", "q-bio.NC", "astro-ph.CO", "gr-qc"],
}


def test_classification_codes_are_not_read_as_categories():
    records = list(read_arxiv(DATA / "arxiv" / "overlap.xml"))
    assert {r.arxiv_id: r.categories for r in records} == EXPECTED
    assert {r.category for r in records} == {"math.GR"}


def test_classification_codes_are_stored_by_neither_ingest_nor_the_feed(engine, db_path):
    summary = ingest_paths(engine, [DATA / "arxiv" / "window1_all.xml"])
    assert summary.new == 2 and not summary.errors
    with ReplayServer(DATA / "late.json") as server:
        got = fetch_arxiv(
            engine,
            ["math.GR"],
            since=datetime(2026, 11, 22, 16, 45, tzinfo=UTC),
            until=LATER,
            settings=settings(server),
        )
    assert (got.new, got.unchanged) == (2, 2)
    got = {a: json.loads(c) for a, c in stored(engine, "SELECT arxiv_id, categories FROM papers")}
    assert got == EXPECTED
