"""``annotator biblio``: import and fetch author and paper metrics."""

from __future__ import annotations

from pathlib import Path

import typer

from annotator.commands.common import console, engine_of, err_console, print_json

app = typer.Typer(no_args_is_help=True, help="Bibliometrics: import and fetch author and paper metrics.")


def _print_import(report, show_unmatched: int) -> None:
    d = report.to_dict()
    console.print(
        f"authors: {d['authors']['matched']} matched, {d['authors']['unmatched']} unmatched; "
        f"papers: {d['papers']['matched']} matched, {d['papers']['unmatched']} unmatched; "
        f"added {d['author_metrics_added']} author and {d['paper_metrics_added']} paper snapshots, "
        f"{d['links_added']} author-paper links, {d['ids_filled']} ids",
        highlight=False,
    )
    for u in report.unmatched[:show_unmatched]:
        err_console.print(f"[yellow]unmatched[/yellow] {u}", highlight=False, soft_wrap=True)
    if len(report.unmatched) > show_unmatched:
        err_console.print(f"... and {len(report.unmatched) - show_unmatched} more unmatched (--json lists them all)")
    for error in report.errors[:20]:
        err_console.print(f"[yellow]unreadable[/yellow] {error}", highlight=False, soft_wrap=True)


@app.command("import")
def biblio_import(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, help="Files; an author file and its works file can go together."
    ),
    source: str | None = typer.Option(None, "--source", help="openalex, s2, csv or feedpage (default: detected)."),
    as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
    show_unmatched: int = typer.Option(20, min=0, help="How many unmatched rows to list."),
    allow_errors: bool = typer.Option(False, "--allow-errors", help="Exit 0 even when some rows could not be read."),
):
    """Import author and paper metrics, matched to stored authors and papers (ids first, then
    title or name); unmatched rows are reported. Re-importing adds nothing."""
    from annotator.biblio.save import import_paths

    report = import_paths(engine_of(ctx), [str(p) for p in paths], source)
    if as_json:
        print_json(report.to_dict())
    else:
        _print_import(report, show_unmatched)
    if report.errors and not allow_errors:
        raise typer.Exit(3)


@app.command("fetch")
def biblio_fetch(
    ctx: typer.Context,
    author: str | None = typer.Option(None, "--author", help="Search OpenAlex by exact name."),
    orcid: str | None = typer.Option(None, "--orcid", help="The author's ORCID."),
    openalex_id: str | None = typer.Option(None, "--openalex-id", help="e.g. A5023888391."),
    mailto: str | None = typer.Option(
        None, "--mailto", envvar="ANNOTATOR_MAILTO", help="Your e-mail, for OpenAlex's polite pool."
    ),
    base_url: str | None = typer.Option(None, "--base-url", envvar="ANNOTATOR_OPENALEX_URL", help="OpenAlex API root."),
    max_works: int | None = typer.Option(None, min=1, help="Read at most this many works."),
    save: Path | None = typer.Option(None, "--save", file_okay=False, help="Keep the raw responses in this folder."),
    ingest: bool = typer.Option(False, "--ingest", help="Also store the works (with abstracts) as papers."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
):
    """Fetch an author and their works from OpenAlex, then import the metrics."""
    from annotator.biblio.fetch import fetch_author

    if not mailto:
        err_console.print(
            "[yellow]note:[/yellow] no --mailto: OpenAlex serves anonymous clients from a slower pool", highlight=False
        )
    result = fetch_author(
        engine_of(ctx),
        name=author,
        orcid=orcid,
        openalex_id=openalex_id,
        mailto=mailto,
        base_url=base_url,
        max_works=max_works,
        save_dir=save,
        ingest=ingest,
    )
    if as_json:
        print_json(result.to_dict())
        return
    a = result.author
    console.print(
        f"{a['name']} ({a['openalex_id']}): h-index {a['h_index']}, {a['works_count']} works, "
        f"{a['cited_by_count']} citations; read {result.works} works in "
        f"{result.requests} requests",
        highlight=False,
    )
    for alt in result.alternatives[:5]:
        err_console.print(
            f"[yellow]also named so[/yellow] {alt['name']} ({alt['openalex_id']}, "
            f"{alt['works_count']} works): pass --openalex-id to pick it",
            highlight=False,
        )
    if result.ingested:
        i = result.ingested
        console.print(
            f"ingested works: new {i['new']}, updated {i['updated']}, unchanged "
            f"{i['unchanged']}, rejected {i['rejected']}",
            highlight=False,
        )
    _print_import(result.report, 20)
    for path in result.saved:
        err_console.print(f"saved {path}", highlight=False)
