"""``annotator fetch arxiv|openalex``: new papers from the APIs, paged, spaced, resumable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import typer
from rich.table import Table

from annotator.commands.common import engine_of, err_console, print_json, print_rows, wide_console

app = typer.Typer(no_args_is_help=True, help="Fetch new papers from arXiv or OpenAlex (a stored cursor per query).")

DATE = ["%Y-%m-%d"]


def first_day(since: datetime | None, days: int | None) -> date | None:
    """``--since`` or ``--days`` (not both) as the window's first day."""
    if since is not None and days is not None:
        raise typer.BadParameter("give --since or --days, not both")
    if days is not None:
        return datetime.now(UTC).date() - timedelta(days=days)
    return since.date() if since else None


def fetch_table(fetches: list[dict]) -> Table:
    table = Table(
        "source", "query", "window", "pages", "requests", "new", "updated", "unchanged", "rejected", "seconds"
    )
    for f in fetches:
        window = f"{(f['window_from'] or '')[:16]} .. {(f['window_to'] or 'now')[:16]}"
        if f["resumed"]:
            window += " (resumed)"
        if not f["complete"]:
            window += " (more to read)"
        table.add_row(
            f["source"],
            f["query"],
            window,
            str(f["pages"]),
            str(f["requests"]),
            str(f["new"]),
            str(f["updated"]),
            str(f["unchanged"]),
            str(f["rejected"]),
            f"{f['seconds']:.1f}",
        )
    return table


def report_errors(errors: list[str], limit: int = 30) -> None:
    for error in errors[:limit]:
        err_console.print(f"[yellow]rejected[/yellow] {error}", highlight=False, soft_wrap=True)
    if len(errors) > limit:
        err_console.print(f"... and {len(errors) - limit} more (--json lists them all)")


def _finish(result, as_json: bool, allow_rejects: bool) -> None:
    data = result.to_dict()
    if as_json:
        print_json(data)
    else:
        report_errors(result.errors)
        wide_console().print(fetch_table([data]))
    if result.rejected and not allow_rejects:
        raise typer.Exit(3)


SINCE = typer.Option(
    None, "--since", formats=DATE, help="First day (YYYY-MM-DD) when the query has no cursor yet, or with --refetch."
)
DAYS = typer.Option(None, "--days", min=0, help="Or: the last N days.")
UNTIL = typer.Option(None, "--until", formats=DATE, help="Last day (default: now).")
LIMIT = typer.Option(None, "--limit", min=1, help="Stop after this many entries (the cursor keeps the place).")
REFETCH = typer.Option(False, "--refetch", help="Ignore the stored cursor and read from --since again.")
AS_JSON = typer.Option(False, "--json", help="Print the summary as JSON.")
REJECTS = typer.Option(False, "--allow-rejects", help="Exit 0 even when some entries were rejected.")


@app.command("arxiv")
def arxiv(
    ctx: typer.Context,
    category: list[str] = typer.Option(..., "--category", help="An arXiv category (repeat for more)."),
    since: datetime | None = SINCE,
    days: int | None = DAYS,
    until: datetime | None = UNTIL,
    limit: int | None = LIMIT,
    refetch: bool = REFETCH,
    page_size: int | None = typer.Option(
        None, "--page-size", min=1, max=2000, help="Entries per request (default 100)."
    ),
    interval: float | None = typer.Option(
        None, "--interval", min=0, help="Seconds between requests (default 3, as arXiv asks)."
    ),
    base_url: str | None = typer.Option(None, "--base-url", help="The API's query URL."),
    as_json: bool = AS_JSON,
    allow_rejects: bool = REJECTS,
):
    """New and replaced papers of arXiv categories since the stored cursor (else --since/--days)."""
    from annotator.feed.arxiv_api import fetch_arxiv
    from annotator.feed.feedrun import end_of, start_of
    from annotator.settings import feed_settings

    day = first_day(since, days)
    settings = feed_settings(arxiv_url=base_url, arxiv_interval_s=interval, arxiv_page_size=page_size)
    result = fetch_arxiv(
        engine_of(ctx),
        category,
        since=start_of(day) if day else None,
        until=end_of(until.date()) if until else None,
        limit=limit,
        refetch=refetch,
        settings=settings,
    )
    _finish(result, as_json, allow_rejects)


@app.command("openalex")
def openalex(
    ctx: typer.Context,
    filter_: str = typer.Option(
        ..., "--filter", help="OpenAlex works filter, e.g. primary_location.source.id:S4306420609"
    ),
    since: datetime | None = SINCE,
    days: int | None = DAYS,
    until: datetime | None = UNTIL,
    limit: int | None = LIMIT,
    refetch: bool = REFETCH,
    mailto: str | None = typer.Option(
        None, "--mailto", envvar="ANNOTATOR_MAILTO", help="Your e-mail, for OpenAlex's polite pool."
    ),
    base_url: str | None = typer.Option(None, "--base-url", envvar="ANNOTATOR_OPENALEX_URL", help="OpenAlex API root."),
    as_json: bool = AS_JSON,
    allow_rejects: bool = REJECTS,
):
    """Works matching an OpenAlex filter published since the stored cursor (else --since/--days)."""
    from annotator.feed.openalex_api import fetch_openalex
    from annotator.settings import feed_settings

    settings = feed_settings(openalex_url=base_url, mailto=mailto)
    result = fetch_openalex(
        engine_of(ctx),
        filter_,
        since=first_day(since, days),
        until=until.date() if until else None,
        limit=limit,
        refetch=refetch,
        settings=settings,
    )
    _finish(result, as_json, allow_rejects)


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: bool = AS_JSON,
    every: bool = typer.Option(
        False, "--all", help="Also the rows kept per author (last refresh) and per arXiv paper (newest version)."
    ),
):
    """Where each query stands: the newest update stored, a window being read, who holds it."""
    from annotator.feed.arxiv_api import VERSIONS
    from annotator.feed.cursors import all_cursors
    from annotator.feed.refresh import SOURCE as AUTHORS

    rows = [c for c in all_cursors(engine_of(ctx)) if every or c.source not in (AUTHORS, VERSIONS)]
    print_rows(
        rows,
        as_json,
        ["source", "query", "through", "reading", "pages", "entries", "held by"],
        lambda c: [c.source, c.query, c.through or "", _reading(c), str(c.pages), str(c.entries), c.holder or ""],
        out=wide_console(),
        empty="no fetch has run yet",
    )


def _reading(c) -> str:
    if not c.window_from:
        return ""
    return f"{c.window_from[:16]} .. {(c.window_to or 'open')[:16]} at {c.position}"
