"""``annotator ingest`` and ``annotator export``: papers in and out."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from annotator.commands.common import console, engine_of, err_console

app = typer.Typer()


@app.command()
def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Files to read."),
    fmt: str | None = typer.Option(None, "--format", help="feedpage, jsonl, csv, arxiv, openalex"),
    allow_rejects: bool = typer.Option(False, "--allow-rejects", help="Exit 0 even when some rows were rejected."),
):
    """Read papers into the database (idempotent: re-ingesting changes nothing)."""
    from annotator.ingest import ingest_paths

    summary = ingest_paths(engine_of(ctx), [str(p) for p in paths], fmt)
    for error in summary.errors[:50]:
        err_console.print(f"[yellow]rejected[/yellow] {error}", highlight=False, soft_wrap=True)
    if len(summary.errors) > 50:
        err_console.print(f"... and {len(summary.errors) - 50} more rejected rows")
    console.print(
        f"new {summary.new}, updated {summary.updated}, unchanged {summary.unchanged}, rejected {summary.rejected}"
    )
    if summary.rejected and not allow_rejects:
        raise typer.Exit(3)


@app.command()
def export(
    ctx: typer.Context,
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv"),
    output: Path | None = typer.Option(None, "-o", "--output", help="File (default: stdout)."),
    prompt: str | None = typer.Option(None, help="Only judgments of NAME or NAME@VERSION."),
    model: str | None = typer.Option(None, help="Only judgments of this model."),
    include_eval: bool = typer.Option(False, "--include-eval", help="Also eval-suite papers."),
):
    """Write papers with their judgments as JSONL (one paper a line) or CSV."""
    from annotator.export import atomic_output, iter_papers, write_csv, write_jsonl

    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("--format must be jsonl or csv")
    papers = iter_papers(engine_of(ctx), include_eval=include_eval, prompt=prompt, model=model)
    writer = write_jsonl if fmt == "jsonl" else write_csv
    if output is None:
        writer(papers, sys.stdout)
    else:
        with atomic_output(output) as fh:  # replaced whole, or left as it was
            n = writer(papers, fh)
        err_console.print(f"wrote {n} papers to {output}")
