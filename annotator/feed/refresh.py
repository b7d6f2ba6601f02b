"""Bibliometrics of the authors a fetch has seen, refreshed from OpenAlex.

For each author of the fetched papers (at most ``max_authors``, the ones not
refreshed within ``max_age_days``): ``biblio.fetch.fetch_author`` by OpenAlex id,
else ORCID, else exact name, through one ``OpenAlexClient`` (whose HTTP
transport can be injected). Each refresh is stamped in ``fetch_cursors``
(source ``openalex-author``, the author's id), whether or not OpenAlex found
the author, so a name OpenAlex does not know is not asked again every run.
An author OpenAlex cannot resolve is counted and listed, never fatal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine

from annotator.biblio.fetch import FetchError, OpenAlexClient, fetch_author
from annotator.db.queries.papers import authors_of_papers
from annotator.feed.cursors import stamp_many, stamps_of
from annotator.settings import FeedSettings

SOURCE = "openalex-author"


@dataclass
class RefreshSummary:
    authors: int = 0  # authors of the fetched papers
    refreshed: int = 0
    recent: int = 0  # refreshed within max_age_days: left alone
    unresolved: int = 0  # OpenAlex could not say who they are, or failed
    over_limit: int = 0  # past max_authors: next run
    requests: int = 0
    errors: list[str] = field(default_factory=list)


def refresh_authors(
    engine: Engine,
    paper_ids: Sequence[int],
    settings: FeedSettings,
    *,
    max_authors: int = 100,
    max_age_days: int = 7,
    max_works: int = 200,
    transport: httpx.BaseTransport | None = None,
) -> RefreshSummary:
    summary = RefreshSummary()
    if not paper_ids:
        return summary
    with engine.connect() as conn:
        authors = authors_of_papers(conn, sorted(set(paper_ids)))
    summary.authors = len(authors)
    done = stamps_of(engine, SOURCE)
    fresh_after = (datetime.now(UTC).date() - timedelta(days=max_age_days)).isoformat()
    due = [a for a in authors if done.get(str(a.id), "") <= fresh_after]
    summary.recent = len(authors) - len(due)
    summary.over_limit = max(0, len(due) - max_authors)
    today, stamps = date.today().isoformat(), {}
    with OpenAlexClient(
        settings.openalex_url,
        settings.mailto,
        rps=settings.openalex_rps,
        max_attempts=settings.max_attempts,
        timeout_s=settings.timeout_s,
        max_wait_s=settings.max_wait_s,
        transport=transport,
    ) as client:
        for author in due[:max_authors]:
            how = (
                {"openalex_id": author.openalex_id}
                if author.openalex_id
                else {"orcid": author.orcid}
                if author.orcid
                else {"name": author.name}
            )
            try:
                fetch_author(engine, client=client, max_works=max_works, **how)
                summary.refreshed += 1
            except FetchError as exc:
                summary.unresolved += 1
                summary.errors.append(f"{author.name}: {exc}")
            stamps[str(author.id)] = today
        summary.requests = client.requests
    stamp_many(engine, SOURCE, stamps)
    return summary
