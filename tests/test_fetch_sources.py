"""``fetch_arxiv`` and ``fetch_openalex`` against recorded responses: retries, spacing,
resuming an interrupted window, malformed entries, empty pages, the stored cursor."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from test_feed_runs import RECORDED, ROUTES

from annotator.biblio.fetch import FetchError
from annotator.errors import InputError
from annotator.feed.arxiv_api import fetch_arxiv
from annotator.feed.cursors import read_cursor
from annotator.feed.openalex_api import fetch_openalex, query_key
from annotator.feed.replay import ReplayServer
from annotator.settings import feed_settings

SINCE, UNTIL = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
FILTER = "primary_location.source.id:S4306400194"


def settings(server: ReplayServer, **kw):
    values = dict(
        arxiv_url=f"{server.base_url}/api/query",
        arxiv_interval_s=0,
        arxiv_page_size=2,
        openalex_url=server.base_url,
        openalex_rps=0,
        openalex_page_size=2,
    )
    values.update(kw)
    return feed_settings(**values)


def manifest_with(tmp_path: Path, *first: dict) -> Path:
    """routes.json with ``first`` routes put in front (bodies still read from RECORDED)."""
    routes = json.loads(ROUTES.read_text())["routes"]
    for r in routes:
        r["body"] = str(RECORDED / r["body"])
    path = tmp_path / "routes.json"
    path.write_text(json.dumps({"routes": [*first, *routes]}))
    return path


def test_retry_after_is_honoured_and_requests_are_spaced(engine, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_RETRY_WAIT_SCALE", "1")
    slept: list[float] = []
    with ReplayServer(ROUTES) as server:
        got = fetch_arxiv(
            engine,
            ["cs.CL"],
            since=SINCE,
            until=UNTIL,
            sleep=slept.append,
            settings=settings(server, arxiv_interval_s=3.0),
        )
    assert got.requests == 5 and got.new == 4
    # the 503 said Retry-After: 2; the other waits keep requests 3 s apart. The recording
    # sleep does not move the clock, so each spacing wait is 3 s beyond the one before.
    assert 2.0 in slept
    spacing = [s for s in slept if s != 2.0]
    steps = [b - a for a, b in zip([0.0, *spacing], spacing)]
    assert len(spacing) == got.requests - 1 and all(2.0 < s <= 3.0 for s in steps), slept


@pytest.mark.parametrize("group", [1, 1000])  # pages stored one by one, or together
def test_an_interrupted_window_resumes_at_the_stored_offset(engine, tmp_path, group):
    broken = manifest_with(
        tmp_path, {"path": "/api/query", "query": {"start": 2}, "status": 500, "body": "arxiv/throttled.txt"}
    )
    with ReplayServer(broken) as server, pytest.raises(FetchError, match="after 5 attempts"):
        fetch_arxiv(engine, ["cs.CL"], since=SINCE, until=UNTIL, settings=settings(server, store_entries=group))
    with engine.connect() as conn:  # the page read before the failure is stored
        assert conn.execute(text("SELECT COUNT(*) FROM papers")).scalar() == 2
    cursor = read_cursor(engine, "arxiv", "cat:cs.CL")
    assert (cursor.position, cursor.window_from) == ("2", "2026-11-20T00:00:00+00:00")
    with ReplayServer(ROUTES) as server:
        # a later --until does not move the window being read
        got = fetch_arxiv(engine, ["cs.CL"], until=datetime(2026, 11, 27, tzinfo=UTC), settings=settings(server))
        starts = [r["query"]["start"] for r in server.requests]
    assert got.resumed and got.complete and starts == ["2", "4", "4"]
    assert "202611242359" in server.requests[0]["query"]["search_query"]
    assert (got.new, got.rejected) == (2, 1)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM papers")).scalar() == 4
    assert read_cursor(engine, "arxiv", "cat:cs.CL").position is None


def test_limit_stops_early_and_the_next_fetch_goes_on(engine):
    with ReplayServer(ROUTES) as server:
        first = fetch_arxiv(engine, ["cs.CL"], since=SINCE, until=UNTIL, limit=2, settings=settings(server))
        rest = fetch_arxiv(engine, ["cs.CL"], settings=settings(server))
    assert (first.entries, first.complete, rest.resumed, rest.complete) == (2, False, True, True)
    assert first.new + rest.new == 4


def test_a_query_without_a_cursor_needs_a_start(engine):
    with pytest.raises(InputError, match="give --since or --days"):
        fetch_arxiv(engine, ["cs.CL"], settings=feed_settings(arxiv_interval_s=0))


def test_openalex_pages_to_the_empty_page_and_keeps_the_newest_date(engine):
    with ReplayServer(ROUTES) as server:
        got = fetch_openalex(engine, FILTER, since=date(2026, 11, 1), settings=settings(server))
        again = fetch_openalex(engine, FILTER, settings=settings(server))
        cursors = [r["query"]["cursor"] for r in server.requests]
    assert (got.new, got.rejected, got.entries, got.complete) == (3, 1, 4, True)
    assert len(cursors) == 4 and cursors[0] == "*" and cursors[3] == "*"
    [error] = got.errors
    assert "OpenAlex works cursor=" in error and "W4400000004" in error
    assert "field 'abstract_inverted_index'" in error
    assert got.through == "2026-11-18"
    assert (again.window_from, again.new, again.entries) == ("2026-11-19", 0, 0)
    with engine.connect() as conn:
        venues = conn.execute(text("SELECT DISTINCT venue, source_format FROM papers")).all()
    assert venues == [("Transactions on Computational Linguistics Research", "openalex")]


def test_openalex_filter_is_checked():
    assert query_key("b:2, a:1") == "a:1,b:2"
    with pytest.raises(InputError, match="set by --since"):
        query_key("from_publication_date:2020-01-01")
    with pytest.raises(InputError, match="name:value"):
        query_key("nonsense")


def test_a_reply_that_is_not_atom_fails_without_moving_the_cursor(engine, tmp_path):
    html = tmp_path / "oops.html"
    html.write_text("<html><body>Service temporarily unavailable</body></html>")
    bad = manifest_with(tmp_path, {"path": "/api/query", "query": {"start": 0}, "body": str(html)})
    with ReplayServer(bad) as server, pytest.raises(FetchError, match="start=0.*not an Atom feed"):
        fetch_arxiv(engine, ["cs.CL"], since=SINCE, until=UNTIL, settings=settings(server))
    assert read_cursor(engine, "arxiv", "cat:cs.CL").through is None


def test_refetch_reads_the_window_again_and_changes_nothing(engine):
    with ReplayServer(ROUTES) as server:
        fetch_arxiv(engine, ["cs.CL"], since=SINCE, until=UNTIL, settings=settings(server))
        fetch_arxiv(engine, ["cs.CL"], until=datetime(2026, 11, 27, 23, 59, tzinfo=UTC), settings=settings(server))
        again = fetch_arxiv(engine, ["cs.CL"], since=SINCE, until=UNTIL, refetch=True, settings=settings(server))
    # 2611.00101 is v2 now: its v1 in the old window is left out, not stored over v2
    assert (again.new, again.updated, again.unchanged, again.rejected, again.older) == (0, 0, 3, 1, 1)
    assert again.through == "2026-11-26T08:00:00+00:00"  # a refetch never moves the cursor back
    with engine.connect() as conn:  # the older version did not overwrite the newer one's text
        abstract = conn.execute(text("SELECT abstract FROM papers WHERE arxiv_id = '2611.00101'"))
        assert "five long-context" in abstract.scalar_one()
