"""``annotator report biblio``: AI scores against citations and h-index, with bootstrap intervals."""

from __future__ import annotations

from pathlib import Path

import typer

from annotator.commands.common import (
    console,
    engine_of,
    err_console,
    is_stdout,
    print_json,
)

app = typer.Typer(no_args_is_help=True, help="Reports.")


@app.command("biblio")
def report_biblio(
    ctx: typer.Context,
    suite_file: Path | None = typer.Option(
        None, "--suite-file", exists=True, dir_okay=False, help="An eval suite (TOML) whose data has citations."
    ),
    data: Path | None = typer.Option(
        None, "--data", exists=True, dir_okay=False, help="A JSONL file with citations and a year."
    ),
    score_field: str | None = typer.Option(
        None, "--score-field", help="Column of the file to use as the score (default: stored judgments)."
    ),
    citations_field: str | None = typer.Option(None, "--citations-field"),
    year_field: str | None = typer.Option(None, "--year-field"),
    id_field: str | None = typer.Option(None, "--id-field"),
    keep_zero: bool | None = typer.Option(
        None, "--keep-zero-citations/--zero-citations-missing", help="Citation counts of 0 are missing unless kept."
    ),
    min_papers: int = typer.Option(
        3, "--min-papers", min=1, help="Judged papers an author needs for the author correlation."
    ),
    prompt: str | None = typer.Option(None, help="NAME@VERSION."),
    model: str | None = typer.Option(None, help="Model."),
    n_boot: int = typer.Option(2000, "--n-boot", min=100),
    seed: int = typer.Option(0),
    md: Path | None = typer.Option(None, "--md", help="Write Markdown here."),
    json_path: Path | None = typer.Option(
        None, "--json", help="Write JSON here ('-': print it instead of the Markdown)."
    ),
    png_dir: Path | None = typer.Option(None, "--png-dir", file_okay=False, help="Write scatter plots (PNG) here."),
):
    """Spearman (95% bootstrap CI) of AI score against citations within publication year, and of
    authors' mean AI score against h-index; from the database, or from a data/suite file."""
    from annotator.biblio.report import biblio_report, to_markdown

    engine = None
    if (data is None and suite_file is None) or score_field is None:
        engine = engine_of(ctx)
    report = biblio_report(
        engine,
        data=data,
        suite_file=suite_file,
        score_field=score_field,
        id_field=id_field,
        year_field=year_field,
        citations_field=citations_field,
        keep_zero_citations=keep_zero,
        prompt=prompt,
        model=model,
        min_papers=min_papers,
        n_boot=n_boot,
        seed=seed,
    )
    if png_dir:
        for path in report.write_pngs(png_dir):
            err_console.print(f"wrote {path}", highlight=False)
    if md:
        report.write_markdown(md)
        err_console.print(f"wrote {md}", highlight=False)
    if is_stdout(json_path):
        print_json(report.data)
        return
    if json_path:
        report.write_json(json_path)
        err_console.print(f"wrote {json_path}", highlight=False)
    console.print(to_markdown(report.data), markup=False, highlight=False, soft_wrap=True)
