"""New submissions and replacements from the arXiv API, paged, spaced and resumable.

The query asks for the categories' papers whose ``lastUpdatedDate`` falls in a
window, oldest first (``sortBy=lastUpdatedDate&sortOrder=ascending``), so a new
version of a paper comes back too, and pages are read by offset. The cursor
keeps the newest ``<updated>`` time stored. The next window starts ``OVERLAP``
(two days) before it, not after it: arXiv announces some papers late with
their original, earlier timestamp (papers held for moderation), so a window
that started after the cursor would skip them for good. The papers of the
overlap read again are stored again and come out unchanged (ingest is
idempotent; the version guard below keeps an older version out).

A window is closed only once it was read to the total the API reported
(``opensearch:totalResults``). An empty page before that total (the API does
that now and then) is asked for again a few times; when it stays empty, or
``--limit`` stops the read, or a request fails, the window stays open and the
next run resumes it at the stored offset with the same bounds. arXiv asks for
one request every three seconds (``ANNOTATOR_FEED_ARXIV_INTERVAL_S``).

Papers are read by ``annotator.ingest.arxiv`` and stored as ``annotator ingest``
stores them: the id without its version is the identity, a new version updates
the stored text (new ``content_hash``), and only prompt versions that have not
judged the paper yet will judge it. The newest version stored is kept per paper
(``fetch_cursors`` rows of source ``arxiv-version``), so an older version read
again (a re-read window, a stale mirror) is left out instead of undoing the newer.
"""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine

from annotator.errors import FetchError, InputError
from annotator.feed.cursors import Cursor, raise_versions, read_cursor, save_cursor, versions_of
from annotator.feed.lock import Lease
from annotator.feed.pages import FetchSummary, PageStore
from annotator.ingest.arxiv import ATOM, read_arxiv
from annotator.polite import PoliteClient
from annotator.settings import FeedSettings, feed_settings

OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
VERSIONS = "arxiv-version"  # fetch_cursors rows: an arXiv id -> the newest version stored
VERSION = re.compile(r"^(.+?)v(\d+)$")
STAMP = "%Y%m%d%H%M"
OVERLAP = timedelta(days=2)  # read again before the cursor on every run: late announcements


def query_key(categories: Sequence[str]) -> str:
    """The cursor's name for these categories (order and repeats do not matter)."""
    cats = sorted({c.strip() for c in categories if c.strip()})
    if not cats:
        raise InputError("give at least one --category (e.g. cs.CL)", field="category")
    return " OR ".join(f"cat:{c}" for c in cats)


def search_query(key: str, start: datetime, end: datetime) -> str:
    return f"({key}) AND lastUpdatedDate:[{start:{STAMP}} TO {end:{STAMP}}]"


def page_meta(body: bytes, label: str) -> tuple[int | None, list[tuple[str, datetime | None]]]:
    """The page's reported total and, per entry, its id (with version) and ``<updated>``."""
    if b"<!DOCTYPE" in body[:4096].upper() or b"<!ENTITY" in body:
        raise FetchError(f"{label}: XML with a DOCTYPE or entities is not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise FetchError(f"{label}: not an Atom feed ({exc}): {body[:120]!r}") from None
    if root.tag != f"{ATOM}feed":
        raise FetchError(f"{label}: not an Atom feed (<{root.tag}>): {body[:120]!r}")
    total_text = (root.findtext(f"{OPENSEARCH}totalResults") or "").strip()
    total = int(total_text) if total_text.isdigit() else None
    entries: list[tuple[str, datetime | None]] = []
    for entry in root.iter(f"{ATOM}entry"):
        ident = (entry.findtext(f"{ATOM}id") or "").strip()
        if "/api/errors" in ident:
            raise FetchError(f"{label}: arXiv refused the query: {(entry.findtext(f'{ATOM}summary') or '').strip()}")
        try:
            updated = datetime.fromisoformat((entry.findtext(f"{ATOM}updated") or "").strip().replace("Z", "+00:00"))
        except ValueError:
            updated = None
        entries.append((ident.rsplit("/abs/", 1)[-1] or "?", updated))
    return total, entries


def _older(
    engine: Engine, entries: list[tuple[str, datetime | None]], seen: dict[str, tuple[int, str]]
) -> frozenset[int]:
    """Indexes of the entries older than the version stored (or seen in this group);
    the others' versions are added to ``seen``, recorded once the group is stored."""
    parsed = [VERSION.match(ident) for ident, _ in entries]
    stored = versions_of(engine, VERSIONS, [m.group(1) for m in parsed if m])
    older = set()
    for i, (m, (_, updated)) in enumerate(zip(parsed, entries)):
        if m is None:
            continue
        key, version = m.group(1), int(m.group(2))
        if version < max(stored.get(key, 0), seen.get(key, (0, ""))[0]):
            older.add(i)
        else:
            seen[key] = (version, _stamp(updated) if updated else "")
    return frozenset(older)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _window(
    cursor: Cursor, since: datetime | None, until: datetime, refetch: bool
) -> tuple[datetime, datetime, int, bool]:
    """(start, end, offset, resumed) of the window to read."""
    if cursor.window_from and cursor.window_to and not refetch:
        return (
            datetime.fromisoformat(cursor.window_from),
            datetime.fromisoformat(cursor.window_to),
            int(cursor.position or "0"),
            True,
        )
    start = since
    if cursor.through and not refetch:
        after = datetime.fromisoformat(cursor.through).replace(second=0, microsecond=0)
        after -= OVERLAP
        start = max(start, after) if start else after
    if start is None:
        raise InputError(f"no cursor is stored for {cursor.query!r} yet: give --since or --days", field="since")
    return start, until, 0, False


def _pages(
    http: PoliteClient,
    s: FeedSettings,
    query: str,
    offset: int,
    summary: FetchSummary,
    limit: int | None,
    open_window: bool,
    lost: threading.Event,
) -> Iterator[tuple[str, bytes, list[tuple[str, datetime | None]], int]]:
    """(label, body, entries, offset after it) for each page with entries, from ``offset``;
    sets ``summary.complete`` when the window has been read to its end: to the reported
    total, or to an empty page when the API reports none. Empty pages before the total,
    asked for again until the retries run out, leave it incomplete (the window stays open)."""
    summary.complete = not open_window
    empty = 0
    while open_window and (limit is None or summary.entries < limit) and not lost.is_set():
        params = {
            "search_query": query,
            "start": offset,
            "max_results": s.arxiv_page_size,
            "sortBy": "lastUpdatedDate",
            "sortOrder": "ascending",
        }
        body = http.get(s.arxiv_url, params).content
        label = f"arXiv API start={offset} [{query}]"
        total, entries = page_meta(body, label)
        if not entries:
            if total is not None and offset < total:
                if empty < s.arxiv_empty_retries:
                    empty, summary.retries = empty + 1, summary.retries + 1
                    continue
                return  # short of the total: the next run reads on from ``offset``
            summary.complete = True
            return
        empty = 0
        offset += len(entries)
        yield label, body, entries, offset
        if total is not None and offset >= total:
            summary.complete = True
            return


def fetch_arxiv(
    engine: Engine,
    categories: Sequence[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    refetch: bool = False,
    settings: FeedSettings | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchSummary:
    """Fetch and store the categories' papers updated since the cursor (or ``since``).

    ``limit`` stops after that many entries (the cursor keeps the place); ``refetch``
    ignores the cursor and reads from ``since`` again."""
    s = settings or feed_settings()
    key = query_key(categories)
    summary = FetchSummary("arxiv", key)
    with (
        Lease(engine, "arxiv", key, lease_s=s.lease_s) as lease,
        PoliteClient(
            "arXiv API",
            interval_s=s.arxiv_interval_s,
            max_attempts=s.max_attempts,
            timeout_s=s.timeout_s,
            max_wait_s=s.max_wait_s,
            transport=transport,
            sleep=sleep,
        ) as http,
    ):
        cursor = read_cursor(engine, "arxiv", key)
        start, end, offset, summary.resumed = _window(cursor, since, until or datetime.now(UTC), refetch)
        cursor.window_from, cursor.window_to = _stamp(start), _stamp(end)
        cursor.position = str(offset)
        summary.window_from, summary.window_to = cursor.window_from, cursor.window_to
        query = search_query(key, start, end)
        seen: dict[str, tuple[int, str]] = {}  # arXiv id -> (version, updated) in the group

        def save() -> None:
            raise_versions(engine, VERSIONS, seen)
            seen.clear()
            save_cursor(engine, cursor, lease.holder)

        store = PageStore(engine, read_arxiv, "arxiv", summary, s.store_entries)
        try:
            for label, body, entries, after in _pages(http, s, query, offset, summary, limit, start <= end, lease.lost):
                store.add(body, label, [e[0] for e in entries], _older(engine, entries, seen))
                stamps = [u for _, u in entries if u is not None]
                if stamps and (cursor.through is None or max(stamps) > datetime.fromisoformat(cursor.through)):
                    cursor.through = _stamp(max(stamps))
                cursor.position, cursor.pages = str(after), cursor.pages + 1
                cursor.entries += len(entries)
                store.checkpoint(save)
        except FetchError:  # keep what was read; the next run asks for the failed page again
            store.checkpoint(save, force=True)
            raise
        store.flush()
        if summary.complete:
            cursor.window_from = cursor.window_to = cursor.position = None
        save()
        summary.requests, summary.retries = http.requests, summary.retries + http.retries
    summary.through = cursor.through
    summary.seconds = time.monotonic() - summary.started
    return summary
