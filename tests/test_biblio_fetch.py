"""Live OpenAlex fetching against recorded responses served on 127.0.0.1 (no network)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import SEED_PAGE
from typer.testing import CliRunner

from annotator.biblio.fetch import FetchError, OpenAlexClient, Spacer, choose_author, fetch_author
from annotator.biblio.profiles import author_profile
from annotator.ingest import ingest_paths

FIX = Path(__file__).parent / "fixtures" / "biblio"
PAGE1 = json.loads((FIX / "openalex_works_page1.json").read_text())
NEXT = PAGE1["meta"]["next_cursor"]


class Recorded:
    """A tiny OpenAlex: fixture files by path and query, an optional script of faults."""

    def __init__(self):
        self.requests: list[dict] = []
        self.faults: list[tuple[int, dict]] = []  # (status, headers) served before real answers
        self.always: int | None = None

    def answer(self, path: str, query: dict) -> tuple[int, dict, bytes]:
        self.requests.append({"path": path, "query": query})
        if self.always:
            return self.always, {}, b'{"error": "down"}'
        if self.faults:
            status, headers = self.faults.pop(0)
            return status, headers, b'{"error": "busy"}'
        if path in ("/authors/A5000000042", "/authors/orcid:0000-0000-0000-0042"):
            return 200, {}, (FIX / "openalex_author.json").read_bytes()
        if path == "/authors" and query.get("search"):
            return 200, {}, (FIX / "openalex_authors_search.json").read_bytes()
        if path == "/works" and query.get("filter") == "author.id:A5000000042":
            name = {"*": "openalex_works_page1.json", NEXT: "openalex_works_page2.json"}.get(query.get("cursor"))
            if name:
                return 200, {}, (FIX / name).read_bytes()
        return 404, {}, b'{"error": "not found"}'


@pytest.fixture
def openalex():
    state = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, headers, body = state.answer(url.path, query)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def client(openalex, **kw) -> OpenAlexClient:
    kw.setdefault("rps", 0)
    return OpenAlexClient(openalex.base_url, "team@example.org", **kw)


def test_fetch_by_name_pages_with_cursor_and_imports(engine, openalex):
    ingest_paths(engine, [SEED_PAGE])
    result = fetch_author(engine, name="Zhengyan Zhang", client=client(openalex))
    assert result.author["openalex_id"] == "A5000000042"  # the exact match with the most works
    assert [a["openalex_id"] for a in result.alternatives] == ["A5000000999"]
    assert result.works == 5 and result.requests == 3
    paths = [(r["path"], r["query"].get("cursor")) for r in openalex.requests]
    assert paths == [("/authors", None), ("/works", "*"), ("/works", NEXT)]
    assert openalex.requests[0]["query"]["search"] == "Zhengyan Zhang"
    assert all(r["query"]["mailto"] == "team@example.org" for r in openalex.requests)
    assert openalex.requests[1]["query"]["per-page"] == "200"
    d = result.report.to_dict()
    assert d["authors"]["matched"] == 1 and d["papers"] == {"read": 5, "matched": 4, "unmatched": 1}
    p = author_profile(engine, "Zhengyan Zhang", metrics_source="openalex")
    assert (p.h_index, p.citations, p.papers) == (41, 23210, 61)


def test_fetch_and_ingest_into_an_empty_database(engine, openalex, tmp_path):
    result = fetch_author(
        engine,
        openalex_id="https://openalex.org/A5000000042",
        client=client(openalex),
        ingest=True,
        save_dir=tmp_path / "raw",
    )
    assert result.ingested == {"new": 5, "updated": 0, "unchanged": 0, "rejected": 0}
    assert result.report.to_dict()["matched_by"]["author:openalex"] == 1
    assert sorted(Path(p).name for p in result.saved) == [
        "openalex_author_A5000000042.json",
        "openalex_works_A5000000042.json",
    ]
    p = author_profile(engine, "openalex:A5000000042")
    assert (p.h_index, p.papers, p.papers_stored) == (41, 61, 5)
    assert (p.h_index_computed, p.h_index_computed_from) == (4, 5)  # 6100, 2900, 120, 95, 3


def test_retries_429_and_5xx_honouring_retry_after(openalex, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_RETRY_WAIT_SCALE", "1")
    slept: list[float] = []
    openalex.faults = [(429, {"Retry-After": "7"}), (503, {})]
    c = client(openalex, sleep=slept.append, max_attempts=4)
    assert c.author_by_id("A5000000042")["display_name"] == "Zhengyan Zhang"
    assert c.requests == 3 and slept == [7.0, 1.0]  # Retry-After, then backoff 0.5 * 2
    assert len(openalex.requests) == 3


def test_gives_up_after_max_attempts_and_fails_fast_on_404(openalex):
    openalex.always = 502
    c = client(openalex, max_attempts=3)
    with pytest.raises(FetchError, match="after 3 attempts: HTTP 502"):
        c.author_by_id("A5000000042")
    assert c.requests == 3
    openalex.always = None
    c = client(openalex)
    with pytest.raises(FetchError, match="nothing at /authors/A404"):
        c.author_by_id("A404")
    assert c.requests == 1


def test_connection_errors_are_retried_then_reported():
    c = OpenAlexClient("http://127.0.0.1:9", None, rps=0, max_attempts=2, timeout_s=2)
    with pytest.raises(FetchError, match="after 2 attempts"):
        c.author_by_id("A1")
    assert c.requests == 2


def test_spacer_keeps_requests_apart():
    now = [100.0]
    slept: list[float] = []

    def sleep(s):
        slept.append(round(s, 6))
        now[0] += s

    spacer = Spacer(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        spacer.wait()
    assert slept == [0.25, 0.25]
    now[0] += 10
    spacer.wait()
    assert slept == [0.25, 0.25]


def test_choose_author_needs_an_exact_name():
    results = json.loads((FIX / "openalex_authors_search.json").read_text())["results"]
    chosen, others = choose_author("Zhang Zhengyan", results)  # an alternative name
    assert chosen["id"].endswith("A5000000042") and len(others) == 0
    with pytest.raises(FetchError, match="no author named exactly 'Zheng Zhang'.*A5000000998"):
        choose_author("Zheng Zhang", results)
    with pytest.raises(Exception, match="exactly one of"):
        fetch_author(None, name="x", orcid="y")


def test_fetch_through_the_cli(db_path, openalex, tmp_path):
    from annotator import cli

    r = CliRunner().invoke(
        cli.app,
        [
            "--db",
            db_path,
            "biblio",
            "fetch",
            "--orcid",
            "0000-0000-0000-0042",
            "--base-url",
            openalex.base_url,
            "--mailto",
            "team@example.org",
            "--ingest",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["works"] == 5 and out["import"]["papers"]["matched"] == 5
    assert openalex.requests[0]["path"] == "/authors/orcid:0000-0000-0000-0042"
