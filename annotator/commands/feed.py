"""``annotator feed run``: fetch, judge, refresh bibliometrics, build the site; one run at a time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from annotator.commands.common import console, engine_of, err_console, print_json, settings_of, wide_console
from annotator.commands.fetching import (
    AS_JSON,
    DATE,
    DAYS,
    LIMIT,
    REFETCH,
    UNTIL,
    fetch_table,
    first_day,
    report_errors,
)
from annotator.commands.job_options import (
    DEFAULT_CONCURRENCY,
    ConcurrencyOption,
    MaxCostOption,
    ModelOption,
    PromptOption,
)

app = typer.Typer(no_args_is_help=True, help="A scheduled paper feed: fetch, judge, publish.")


def _summary_table(d: dict) -> Table:
    table = Table("new", "updated", "unchanged", "rejected", "judged", "failed", "cost", "seconds", title="feed run")
    table.add_row(
        *(str(d[k]) for k in ("new", "updated", "unchanged", "rejected", "judged", "failed")),
        f"${d['cost_usd']:.4f}",
        f"{d['seconds']:.1f}",
    )
    return table


@app.command("run")
def run(
    ctx: typer.Context,
    category: list[str] = typer.Option([], "--category", help="arXiv category (repeat for more)."),
    openalex_filter: list[str] = typer.Option([], "--openalex-filter", help="OpenAlex works filter (repeat for more)."),
    since: datetime | None = typer.Option(
        None, "--since", formats=DATE, help="First day for a query without a cursor yet."
    ),
    days: int | None = DAYS,
    until: datetime | None = UNTIL,
    limit: int | None = LIMIT,
    refetch: bool = REFETCH,
    judge: bool = typer.Option(True, "--judge/--no-judge", help="Judge what lacks a judgment."),
    prompt: PromptOption = None,
    model: ModelOption = None,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    max_cost: MaxCostOption = None,
    biblio: bool = typer.Option(True, "--biblio/--no-biblio", help="Refresh the seen authors' metrics from OpenAlex."),
    max_authors: int = typer.Option(100, "--max-authors", min=0, help="Authors refreshed per run."),
    site: Path | None = typer.Option(None, "--site", file_okay=False, help="Build the site here."),
    name: str = typer.Option("default", "--name", help="The lock's name: runs of one name never overlap."),
    wait: float = typer.Option(0.0, "--wait", min=0, help="Seconds to wait for a running feed to end."),
    arxiv_url: str | None = typer.Option(None, "--arxiv-url", help="arXiv API query URL."),
    openalex_url: str | None = typer.Option(None, "--openalex-url", envvar="ANNOTATOR_OPENALEX_URL"),
    mailto: str | None = typer.Option(None, "--mailto", envvar="ANNOTATOR_MAILTO"),
    as_json: bool = AS_JSON,
):
    """Fetch new papers, judge them, refresh their authors' metrics, build the site.

    Exit 6 when another run holds the lock, 5 when a step failed (the summary says which)."""
    from annotator.feed.feedrun import FeedOptions, run_feed
    from annotator.settings import feed_settings

    opts = FeedOptions(
        categories=category,
        openalex_filters=openalex_filter,
        since=first_day(since, days),
        until=until.date() if until else None,
        refetch=refetch,
        limit=limit,
        judge=judge,
        prompt=prompt,
        model=model,
        concurrency=concurrency,
        max_cost=max_cost,
        biblio=biblio,
        max_authors=max_authors,
        site_dir=site,
        name=name,
        wait_s=wait,
    )
    feed = feed_settings(arxiv_url=arxiv_url, openalex_url=openalex_url, mailto=mailto)
    summary = run_feed(engine_of(ctx), settings_of(ctx), opts, feed=feed)
    data = summary.to_dict()
    if as_json:
        print_json(data)
    else:
        report_errors([e for f in summary.fetches for e in f["errors"]])
        wide_console().print(fetch_table(summary.fetches))
        if summary.biblio:
            b = summary.biblio
            console.print(
                f"authors: {b['authors']} seen, {b['refreshed']} refreshed, {b['recent']} "
                f"recent, {b['unresolved']} not resolved, {b['over_limit']} left for later",
                highlight=False,
            )
        if summary.site:
            console.print(f"site: {summary.site.get('pages')} pages in {summary.site.get('out_dir')}", highlight=False)
        wide_console().print(_summary_table(data))
        console.print("steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in summary.steps.items()), highlight=False)
        for error in summary.errors:
            err_console.print(f"[red]step failed[/red] {error}", highlight=False, soft_wrap=True)
    if not summary.ok:
        raise typer.Exit(5)
