"""``annotator feed run`` end to end, from recorded arXiv and OpenAlex responses.

The recorded responses (``tests/data/recorded``, listed in ``routes.json``) are
played back by a local server; judgments come from the fake OpenAI-compatible
server; the site is built by ``annotator.site``. Nothing reaches the network.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
from _pg import cli_env, db_url, pg_server_url, pg_url, popen_cli  # noqa: F401  (fixtures)
from sqlalchemy import text
from typer.testing import CliRunner

from annotator import cli
from annotator.db import open_db
from annotator.feed.arxiv_api import page_meta
from annotator.feed.lock import FeedLocked, Lease
from annotator.feed.replay import ReplayServer

RECORDED = Path(__file__).parent / "data" / "recorded"
ROUTES = RECORDED / "routes.json"
FAST = {
    "ANNOTATOR_FEED_ARXIV_INTERVAL_S": "0",
    "ANNOTATOR_FEED_ARXIV_PAGE_SIZE": "2",
    "ANNOTATOR_FEED_OPENALEX_RPS": "0",
    "ANNOTATOR_FEED_OPENALEX_PAGE_SIZE": "2",
}
RUN1 = ["--category", "cs.CL", "--since", "2026-11-20", "--until", "2026-11-24"]
RUN2 = ["--category", "cs.CL", "--since", "2026-11-22", "--until", "2026-11-27"]
OPENALEX = ["--openalex-filter", "primary_location.source.id:S4306400194"]


@pytest.fixture
def replay():
    with ReplayServer(ROUTES) as server:
        yield server


@pytest.fixture
def feed_env(monkeypatch, db_url, fake_server, replay):  # noqa: F811
    for k, v in FAST.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("ANNOTATOR_DB", db_url)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    return ["--arxiv-url", f"{replay.base_url}/api/query", "--openalex-url", replay.base_url]


def feed_run(*args, exit_code: int = 0) -> dict:
    result = CliRunner().invoke(cli.app, ["feed", "run", *map(str, args), "--json"], catch_exceptions=False)
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout) if exit_code == 0 else {}


def rows(engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def served_entries(replay: ReplayServer) -> list[str]:
    """The arXiv entries (id with version) the server sent, in order, repeats included."""
    out: list[str] = []
    for r in replay.requests:
        if r["path"] == "/api/query" and r["status"] == 200:
            out += [ident for ident, _ in page_meta((RECORDED / r["body"]).read_bytes(), "t")[1]]
    return out


def test_two_runs_over_overlapping_dates_fetch_and_judge_each_paper_once(
    feed_env, replay, fake_server, db_url, tmp_path
):  # noqa: F811
    engine = open_db(db_url)
    first = feed_run(*RUN1, *OPENALEX, *feed_env, "--site", tmp_path / "site1")
    # OpenAlex has one of the arXiv papers, in a venue: it fills the DOI and venue of that row
    assert (first["new"], first["updated"], first["rejected"]) == (4, 1, 1)
    assert (first["judged"], first["failed"]) == (4, 0)
    assert first["steps"].keys() == {"fetch", "judge", "biblio", "site"}
    assert first["provenance"]["model"] == "gpt-4o-mini" and first["provenance"]["code_version"]
    fetch, works = first["fetches"]
    assert (works["source"], works["updated"], works["through"]) == ("openalex", 1, "2026-11-21")
    assert fetch["retries"] == 2  # the 503 and the empty page before the reported total
    assert fetch["complete"] and fetch["through"] == "2026-11-24T16:45:00+00:00"
    [error] = fetch["errors"]  # the malformed entry names the response, the entry and the field
    assert "arXiv API start=2" in error and "field 'title'" in error and "2611.00104v1" in error

    second = feed_run(*RUN2, *OPENALEX, *feed_env, "--site", tmp_path / "site2")
    assert (second["new"], second["updated"], second["unchanged"]) == (2, 1, 0)
    assert second["fetches"][1]["window_from"] == "2026-11-22"
    assert second["fetches"][0]["window_from"] == "2026-11-22T16:45:00+00:00"  # the overlap
    assert second["judged"] == 2  # the new version of 2611.00101 keeps its judgment

    entries = served_entries(replay)
    assert len(entries) == len(set(entries)) == 8  # each version sent once: 2611.00101 v1 and v2
    assert rows(engine, "SELECT COUNT(*) FROM papers") == [(6,)]
    assert rows(engine, "SELECT COUNT(*) FROM judgments") == [(6,)]
    assert rows(engine, "SELECT COUNT(DISTINCT paper_id) FROM judgments") == [(6,)]
    assert len(fake_server.chat_requests()) == 6
    [(abstract, ref)] = rows(engine, "SELECT abstract, source_ref FROM papers WHERE arxiv_id = '2611.00101'")
    assert "five long-context" in abstract and ref.startswith("arXiv API start=0")
    assert rows(engine, "SELECT doi, venue, source_format FROM papers WHERE arxiv_id = '2611.00102'") == [
        ("10.5555/tclr.2026.0351", "Transactions on Computational Linguistics Research", "arxiv")
    ]

    def order(site: Path) -> list[str]:
        html = (site / "papers" / "all-1.html").read_text()
        titles = [t for _, t in rows(engine, "SELECT arxiv_id, title FROM papers")]
        return sorted((t for t in titles if t in html), key=html.index)

    newest = {
        "A Shared Task on Citation Intent in Clinical Guidelines",
        "Speech-Free Spoken Language Understanding from Phoneme Lattices",
    }
    assert not newest & set(order(tmp_path / "site1"))
    assert set(order(tmp_path / "site2")[:2]) == newest
    assert len(order(tmp_path / "site2")) == 6

    # the author OpenAlex knows got fresh metrics; the others were asked once and stamped
    assert rows(
        engine,
        "SELECT m.h_index FROM author_metrics m JOIN authors a "
        "ON a.id = m.author_id WHERE a.name = 'Mira Okafor' "
        "AND m.source = 'openalex'",
    ) == [(14,)]
    assert second["biblio"]["recent"] >= 2  # authors of run 1 seen again: not asked again

    third = feed_run("--category", "cs.CL", "--until", "2026-11-27", *feed_env)
    assert (third["new"], third["updated"], third["judged"]) == (0, 0, 0)
    assert third["fetches"][0]["pages"] == 0  # the recorded empty feed


def test_a_held_lock_refuses_a_second_run(feed_env, db_url):  # noqa: F811
    engine = open_db(db_url)
    with Lease(engine, "feed", "default", lease_s=60):
        result = CliRunner().invoke(cli.app, ["feed", "run", *RUN1, *feed_env, "--no-judge", "--no-biblio"])
        assert result.exit_code == 6, result.output
        assert "held by" in result.output
        with pytest.raises(FeedLocked):
            Lease(engine, "feed", "default").acquire()
    assert feed_run(*RUN1, *feed_env, "--no-judge", "--no-biblio")["new"] == 4


def test_a_lapsed_lease_or_a_dead_holder_is_taken_over(engine):
    stale = Lease(engine, "feed", "x", lease_s=0.0)
    assert stale.try_acquire() is None  # lapses at once
    assert Lease(engine, "feed", "x").try_acquire() is None
    with engine.begin() as conn:  # a holder on this host whose process has ended
        conn.execute(
            text("UPDATE fetch_cursors SET holder = :h, lease_expires = :t WHERE source = 'feed' AND query = 'x'"),
            {"h": f"{__import__('socket').gethostname()}:999999999:abc", "t": time.time() + 3600},
        )
    assert Lease(engine, "feed", "x").try_acquire() is None


def test_two_concurrent_runs_never_overlap(db_url, tmp_path):  # noqa: F811
    """Two processes start together. The replay server answers each request after 1 s,
    so the run that takes the lease holds it for 5 s or more: far longer than the two
    processes' start-up times differ."""
    open_db(db_url)  # migrated before both start
    with ReplayServer(ROUTES, delay_s=1.0) as server:
        env = cli_env(db=db_url, **FAST)
        args = [
            "feed",
            "run",
            *RUN1,
            "--no-judge",
            "--no-biblio",
            "--json",
            "--arxiv-url",
            f"{server.base_url}/api/query",
        ]
        procs = [popen_cli(args, env) for _ in range(2)]
        results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 6], results
        ok = next(out for code, out, _ in results if code == 0)
        assert json.loads(ok)["new"] == 4
        refused = next(err for code, _, err in results if code == 6)
        assert "held by" in refused
        assert len(served_entries(server)) == 5  # one run's worth of pages
    engine = open_db(db_url)
    assert rows(engine, "SELECT COUNT(*) FROM papers") == [(4,)]
    assert rows(engine, "SELECT holder FROM fetch_cursors WHERE source = 'feed'") == [(None,)]


def test_a_run_that_lost_its_lease_does_not_move_the_cursor(engine):
    from annotator.feed.cursors import Cursor, LeaseLost, read_cursor, save_cursor

    lease = Lease(engine, "arxiv", "cat:cs.XX", lease_s=0.3)
    lease.acquire()
    try:
        with engine.begin() as conn:  # its lease lapsed and another process took the row
            conn.execute(
                text("UPDATE fetch_cursors SET holder = 'elsewhere:1:x' WHERE source = 'arxiv' AND query = 'cat:cs.XX'")
            )
        assert lease.lost.wait(5)  # the heartbeat notices
        with pytest.raises(LeaseLost):
            save_cursor(engine, Cursor("arxiv", "cat:cs.XX", through="2026-11-01T00:00:00+00:00"), lease.holder)
    finally:
        lease.release()
    assert read_cursor(engine, "arxiv", "cat:cs.XX").through is None
    assert rows(engine, "SELECT holder FROM fetch_cursors") == [("elsewhere:1:x",)]


def test_no_step_starts_once_the_run_lost_its_lease(engine):
    from annotator.feed.feedrun import FeedSummary, _Steps

    summary = FeedSummary()
    steps = _Steps(summary)
    assert steps.run("fetch", lambda: 7) == 7
    steps.lease = Lease(engine, "feed", "y")
    steps.lease.lost.set()  # what the heartbeat does when another run took the row
    assert steps.run("judge", lambda: 1 / 0) is None
    assert summary.errors == ["judge: not started, the run lost its lease"]
    assert set(summary.steps) == {"fetch"}


def test_a_failed_judgment_is_counted_and_judged_on_no_later_run(feed_env, fake_server, monkeypatch, db_url):  # noqa: F811
    monkeypatch.setenv("ANNOTATOR_MAX_REASKS", "0")  # one invalid reply fails its paper
    fake_server.script([{"kind": "content", "content": "no json here"}])
    first = feed_run(*RUN1, *feed_env, "--no-biblio")
    assert (first["judged"], first["failed"], first["errors"]) == (3, 1, [])
    second = feed_run(*RUN2, *feed_env, "--no-biblio")
    assert (second["judged"], second["failed"]) == (2, 0)  # the failed task waits for `queue retry`
    assert len(fake_server.chat_requests()) == 6


def test_a_feed_run_through_an_injected_transport(engine, tmp_path):
    """No socket at all: the arXiv and OpenAlex requests (fetches and the authors'
    refresh) go through the httpx transport given to ``run_feed``."""
    from annotator.feed.feedrun import FeedOptions, run_feed
    from annotator.settings import feed_settings, get_settings

    replay = ReplayServer(ROUTES)
    try:
        feed = feed_settings(
            arxiv_url="http://arxiv.invalid/api/query",
            openalex_url="http://openalex.invalid",
            arxiv_interval_s=0,
            arxiv_page_size=2,
            openalex_rps=0,
        )
        opts = FeedOptions(
            categories=["cs.CL"],
            openalex_filters=[OPENALEX[1]],
            since=date(2026, 11, 20),
            until=date(2026, 11, 24),
            judge=False,
            site_dir=tmp_path / "site",
        )
        summary = run_feed(engine, get_settings(), opts, feed=feed, transport=replay.transport())
    finally:
        replay.stop()
    assert summary.ok, summary.errors
    assert (summary.new, summary.updated, summary.rejected) == (4, 1, 1)
    assert summary.biblio is not None and summary.biblio["refreshed"] == 1
    paths = {r["path"] for r in replay.requests}
    assert {"/api/query", "/works", "/authors"} <= paths
    assert (tmp_path / "site" / "index.html").exists()
