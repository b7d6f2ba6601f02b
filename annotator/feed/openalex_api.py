"""Works from OpenAlex for a filter (a venue, an institution...), paged, spaced and resumable.

The user's ``--filter`` (OpenAlex syntax: ``primary_location.source.id:S...``,
``institutions.id:I...``; several joined by commas) gets
``from_publication_date`` (and ``to_publication_date`` with ``--until``) added;
pages are read with cursor paging (``cursor=*``, then ``meta.next_cursor``). The
stored cursor keeps the newest publication date seen, and the next window starts
the day after it; a window in progress keeps its paging cursor, so an
interrupted fetch resumes at that page. OpenAlex's "created since" filters need a
paid key, so a work that OpenAlex adds late with an older publication date is only
caught by a fetch with ``--refetch --since`` (a weekly one over the last month,
say). Works are read by ``annotator.ingest.openalex`` and stored as ``annotator
ingest`` stores them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine

from annotator.errors import FetchError, InputError
from annotator.feed.cursors import Cursor, read_cursor, save_cursor
from annotator.feed.lock import Lease
from annotator.feed.pages import FetchSummary, PageStore
from annotator.ingest.openalex import read_openalex
from annotator.polite import PoliteClient
from annotator.settings import FeedSettings, feed_settings

DATE_FILTERS = ("from_publication_date", "to_publication_date")


def query_key(filter_: str) -> str:
    parts = [p.strip() for p in filter_.split(",") if p.strip()]
    if not parts:
        raise InputError("give an OpenAlex --filter, e.g. primary_location.source.id:S4306420609", field="filter")
    for p in parts:
        if ":" not in p:
            raise InputError(f"not an OpenAlex filter (name:value): {p!r}", field="filter")
        if p.split(":", 1)[0] in DATE_FILTERS:
            raise InputError(f"{p.split(':', 1)[0]} is set by --since/--until", field="filter")
    return ",".join(sorted(parts))


def _window(
    cursor: Cursor, since: date | None, until: date | None, refetch: bool
) -> tuple[date, date | None, str, bool]:
    """(start, end, paging cursor, resumed) of the window to read."""
    if cursor.in_window and not refetch:
        assert cursor.window_from
        end = date.fromisoformat(cursor.window_to) if cursor.window_to else None
        return date.fromisoformat(cursor.window_from), end, cursor.position or "*", True
    start = since
    if cursor.through and not refetch:
        after = date.fromisoformat(cursor.through) + timedelta(days=1)
        start = max(start, after) if start else after
    if start is None:
        raise InputError(f"no cursor is stored for {cursor.query!r} yet: give --since or --days", field="since")
    return start, until, "*", False


def page_meta(body: bytes, label: str) -> tuple[str | None, list[tuple[str, date | None]]]:
    """The next paging cursor and, per work, its id and publication date."""
    try:
        page = json.loads(body)
    except ValueError:
        raise FetchError(f"{label}: not JSON: {body[:120]!r}") from None
    if not isinstance(page, dict) or not isinstance(page.get("results"), list):
        raise FetchError(f"{label}: not a page of works (no 'results' list)")
    works: list[tuple[str, date | None]] = []
    for work in page["results"]:
        work = work if isinstance(work, dict) else {}
        try:
            published = date.fromisoformat(str(work.get("publication_date"))[:10])
        except ValueError:
            published = None
        works.append((str(work.get("id") or "?").removeprefix("https://openalex.org/"), published))
    return (page.get("meta") or {}).get("next_cursor") or None, works


def fetch_openalex(
    engine: Engine,
    filter_: str,
    *,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
    refetch: bool = False,
    settings: FeedSettings | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchSummary:
    """Fetch and store the works matching ``filter_`` published since the cursor (or ``since``)."""
    s = settings or feed_settings()
    key = query_key(filter_)
    summary = FetchSummary("openalex", key)
    interval = 1.0 / s.openalex_rps if s.openalex_rps > 0 else 0.0
    with (
        Lease(engine, "openalex", key, lease_s=s.lease_s) as lease,
        PoliteClient(
            "OpenAlex",
            interval_s=interval,
            max_attempts=s.max_attempts,
            timeout_s=s.timeout_s,
            max_wait_s=s.max_wait_s,
            transport=transport,
            mailto=s.mailto,
            sleep=sleep,
        ) as http,
    ):
        cursor = read_cursor(engine, "openalex", key)
        start, end, first, summary.resumed = _window(cursor, since, until, refetch)
        paging: str | None = first
        cursor.window_from = summary.window_from = start.isoformat()
        cursor.window_to = summary.window_to = end.isoformat() if end else None
        dates = f"from_publication_date:{start}" + (f",to_publication_date:{end}" if end else "")
        url = f"{s.openalex_url.rstrip('/')}/works"

        def save() -> None:
            save_cursor(engine, cursor, lease.holder)

        store = PageStore(engine, read_openalex, "openalex", summary, s.store_entries)
        try:
            while paging and (limit is None or summary.entries < limit) and not lease.lost.is_set():
                params = {"filter": f"{key},{dates}", "cursor": paging, "per-page": s.openalex_page_size}
                if s.mailto:
                    params["mailto"] = s.mailto
                label = f"OpenAlex works cursor={paging} [{key},{dates}]"
                body = http.get(url, params).content
                next_paging, works = page_meta(body, label)
                if works:
                    store.add(body, label, [w[0] for w in works])
                    today = datetime.now(UTC).date()
                    stamps = [d for _, d in works if d is not None and d <= today]
                    if stamps and (cursor.through is None or max(stamps) > date.fromisoformat(cursor.through)):
                        cursor.through = max(stamps).isoformat()
                paging = next_paging if works else None
                cursor.position, cursor.pages = paging, cursor.pages + 1
                cursor.entries += len(works)
                store.checkpoint(save)
        except FetchError:  # keep what was read; the next run asks for the failed page again
            store.checkpoint(save, force=True)
            raise
        store.flush()
        summary.complete = not paging
        if summary.complete:
            cursor.window_from = cursor.window_to = cursor.position = None
        save_cursor(engine, cursor, lease.holder)
        summary.requests, summary.retries = http.requests, http.retries
    summary.through = cursor.through
    summary.seconds = time.monotonic() - summary.started
    return summary
