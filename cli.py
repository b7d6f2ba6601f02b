"""The ``annotator`` command: parses arguments and calls the library, nothing more.

Expected failures are ``AnnotatorError``s; ``ErrorGroup`` turns them into a
one-line message and the error's exit code (set ``ANNOTATOR_DEBUG=1`` to see
the traceback instead).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from annotator.commands.output import print_json
from annotator.errors import AnnotatorError

console = Console()
err_console = Console(stderr=True)


class ErrorGroup(TyperGroup):
    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except AnnotatorError as exc:
            if os.environ.get("ANNOTATOR_DEBUG"):
                raise
            err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(cls=ErrorGroup, no_args_is_help=True, add_completion=True,
                  help="LLM-assisted paper annotation and scoring.")
queue_app = typer.Typer(no_args_is_help=False, help="The durable task queue.")
prompts_app = typer.Typer(no_args_is_help=True, help="Versioned prompt files.")
app.add_typer(queue_app, name="queue")
app.add_typer(prompts_app, name="prompts")


def _mount_command_groups() -> None:
    """Command groups that live in annotator/commands/, one module per concern."""
    from annotator.commands import biblio, evals, rescore

    rescore.mount(app, prompts_app)
    biblio.mount(app)
    from annotator.injection.suite import injection_suite_command

    app.command("injection-suite")(injection_suite_command)
    app.add_typer(evals.eval_app, name="eval")


def _engine(ctx: typer.Context):
    from db import open_db

    return open_db(ctx.obj["db"])


def _settings(ctx: typer.Context, **overrides):
    from annotator.settings import get_settings

    return get_settings(db=ctx.obj["db"], **overrides)


def package_version() -> str:
    """The installed package's version (the source tree's when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("annotator")
    except PackageNotFoundError:
        from annotator import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"annotator {package_version()}")
        raise typer.Exit()


@app.callback()
def root(ctx: typer.Context,
         db: Optional[str] = typer.Option(None, "--db", envvar="ANNOTATOR_DB",
                                          help="Database: a path (SQLite) or a SQLAlchemy URL."),
         version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                      help="Print the version and exit.")):
    ctx.obj = {"db": db}


# -- ingest ---------------------------------------------------------------------
@app.command()
def ingest(ctx: typer.Context,
           paths: List[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Files to read."),
           fmt: Optional[str] = typer.Option(None, "--format", help="feedpage, jsonl, csv, arxiv, openalex"),
           allow_rejects: bool = typer.Option(False, "--allow-rejects",
                                              help="Exit 0 even when some rows were rejected.")):
    """Read papers into the database (idempotent: re-ingesting changes nothing)."""
    from annotator.ingest import ingest_paths

    summary = ingest_paths(_engine(ctx), [str(p) for p in paths], fmt)
    for error in summary.errors[:50]:
        err_console.print(f"[yellow]rejected[/yellow] {error}", highlight=False, soft_wrap=True)
    if len(summary.errors) > 50:
        err_console.print(f"... and {len(summary.errors) - 50} more rejected rows")
    console.print(f"new {summary.new}, updated {summary.updated}, unchanged {summary.unchanged}, "
                  f"rejected {summary.rejected}")
    if summary.rejected and not allow_rejects:
        raise typer.Exit(3)


# -- annotate -----------------------------------------------------------------
@app.command()
def annotate(ctx: typer.Context,
             prompt: Optional[str] = typer.Option(None, help="NAME@VERSION (default: active or latest 'score')."),
             model: Optional[str] = typer.Option(None, envvar="ANNOTATOR_MODEL", help="Model name at the endpoint."),
             concurrency: int = typer.Option(8, min=1, max=1024),
             limit: Optional[int] = typer.Option(None, min=0, help="Judge at most this many papers."),
             dry_run: bool = typer.Option(False, "--dry-run", help="Estimate calls, tokens and cost; call nothing."),
             samples: int = typer.Option(1, min=1, max=20, help="Ask K times per paper; store the median."),
             max_cost: Optional[float] = typer.Option(None, help="Stop before spending more than this (USD)."),
             rpm: Optional[float] = typer.Option(None, help="Request limit per minute."),
             tpm: Optional[float] = typer.Option(None, help="Token limit per minute."),
             no_cache: bool = typer.Option(False, "--no-cache", help="Do not answer from stored calls."),
             replay: bool = typer.Option(False, "--replay", help="Answer only from stored calls; fail on a miss."),
             response_format: str = typer.Option("auto", help="auto, json_schema, json_object or none."),
             batch: bool = typer.Option(False, "--batch", help="Send through the Batch API instead "
                                        "(half price, within 24 h); then run 'annotator batch collect'.")):
    """Judge every paper that lacks a judgment for this prompt version and model."""
    if batch:
        from annotator.jobs.batch import BatchOptions
        from annotator.commands.rescore import submit_and_report

        submit_and_report(_engine(ctx), _settings(ctx), BatchOptions(
            prompt=prompt, model=model, limit=limit, samples=samples, max_cost=max_cost,
            use_cache=not no_cache, response_format=response_format))
        return
    from annotator.jobs.annotate import AnnotateOptions, annotate as run, dry_run as estimate, resolve_prompt
    from annotator.jobs.progress import RichReporter

    settings = _settings(ctx)
    engine = _engine(ctx)
    opts = AnnotateOptions(prompt=prompt, model=model, concurrency=concurrency, limit=limit,
                           samples=samples, max_cost=max_cost, rpm=rpm, tpm=tpm,
                           use_cache=not no_cache, replay=replay, response_format=response_format)
    if dry_run:
        from annotator.jobs.annotate import DEFAULT_OPENAI_MODEL
        from annotator.judge.local_model import MODEL_NAME

        remote = settings.base_url or settings.api_key
        name = model or settings.model or (DEFAULT_OPENAI_MODEL if remote else MODEL_NAME)
        d = estimate(engine, resolve_prompt(engine, prompt), name, opts, settings.max_abstract_chars)
        console.print(f"dry run: {d.papers} calls for {d.prompt_ref} on {d.model}; about "
                      f"{d.prompt_tokens:,} input and {d.completion_tokens:,} output tokens; "
                      f"estimated cost ${d.cost_usd:.4f}")
        return

    def notice(ep):
        if ep.embedded and not replay:
            from annotator.judge.local_model import DEMO_NOTICE

            err_console.print(f"[yellow]note:[/yellow] {DEMO_NOTICE}", highlight=False)

    summary = run(engine, settings, opts, RichReporter(err_console), on_endpoint=notice)
    _print_summary(summary)
    if summary.failed and summary.done == 0:
        raise typer.Exit(5)


def _print_summary(s) -> None:
    console.print(
        f"done {s.done}, failed {s.failed}; calls {s.calls} (cached {s.cached}, retries {s.retries}, "
        f"re-asks {s.reasks}); tokens {s.prompt_tokens:,} in / {s.completion_tokens:,} out; "
        f"cost ${s.cost_usd:.4f}; {s.wall_s:.1f} s ({s.papers_per_s:.1f} papers/s)", highlight=False)
    if s.stopped:
        console.print(f"stopped early: {s.stopped}")
    for failure in s.failures[:5]:
        err_console.print(f"[yellow]failed[/yellow] {failure}", highlight=False, soft_wrap=True)


# -- queue --------------------------------------------------------------------------
@queue_app.callback(invoke_without_command=True)
def queue_status(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON.")):
    """Task counts by prompt version, model and state."""
    if ctx.invoked_subcommand:
        return
    from annotator.jobs import queue

    rows = queue.counts(_engine(ctx))
    if as_json:
        print_json(rows)
        return
    table = Table("prompt", "model", "state", "tasks")
    for r in rows:
        table.add_row(r["prompt"], r["model"], r["state"], str(r["count"]))
    console.print(table if rows else "the queue is empty")


@queue_app.command("retry")
def queue_retry(ctx: typer.Context, model: Optional[str] = typer.Option(None)):
    """Put failed tasks back in the queue (the next annotate run takes them)."""
    from annotator.jobs import queue

    n = queue.retry_failed(_engine(ctx), model=model)
    console.print(f"{n} failed task(s) queued again")


# -- export -------------------------------------------------------------------------
@app.command()
def export(ctx: typer.Context,
           fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv"),
           output: Optional[Path] = typer.Option(None, "-o", "--output", help="File (default: stdout)."),
           prompt: Optional[str] = typer.Option(None, help="Only judgments of NAME or NAME@VERSION."),
           model: Optional[str] = typer.Option(None, help="Only judgments of this model."),
           include_eval: bool = typer.Option(False, "--include-eval", help="Also eval-suite papers.")):
    """Write papers with their judgments as JSONL (one paper a line) or CSV."""
    from annotator.export import iter_papers, write_csv, write_jsonl

    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("--format must be jsonl or csv")
    papers = iter_papers(_engine(ctx), include_eval=include_eval, prompt=prompt, model=model)
    writer = write_jsonl if fmt == "jsonl" else write_csv
    if output is None:
        writer(papers, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as fh:
            n = writer(papers, fh)
        err_console.print(f"wrote {n} papers to {output}")


# -- prompts ------------------------------------------------------------------------
@prompts_app.command("list")
def prompts_list(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help="Print the versions as JSON.")):
    """Prompt versions on disk and in the database: hash, papers judged, active."""
    from annotator.prompts.admin import prompt_rows

    rows = prompt_rows(_engine(ctx))
    if as_json:
        print_json(rows)
        return
    table = Table("prompt", "hash", "judged", "active", "created", "description")
    for r in rows:
        table.add_row(r["ref"], r["hash"][:12], str(r["judged"]), "yes" if r["active"] else "",
                      r["created"] or "", r["description"])
    console.print(table)


@prompts_app.command("show")
def prompts_show(ref: str):
    """Print a prompt file."""
    from annotator.prompts.files import load_prompt

    p = load_prompt(ref)
    console.print(f"# {p.ref}  hash {p.content_hash}  ({p.path})", highlight=False)
    console.print(p.text, highlight=False, markup=False)


@prompts_app.command("new")
def prompts_new(name: str):
    """Copy the latest version of NAME to a new version file, ready to edit."""
    from annotator.prompts.admin import new_version

    path = new_version(name)
    console.print(f"created {path}")


@prompts_app.command("activate")
def prompts_activate(ctx: typer.Context, ref: str):
    """Make NAME@VERSION the version profiles, exports and reports use."""
    from annotator.prompts.files import parse_ref
    from annotator.prompts.registry import activate

    name, version = parse_ref(ref)
    if version is None:
        raise typer.BadParameter("give NAME@VERSION")
    activate(_engine(ctx), name, str(version))
    console.print(f"{name}@{version} is active")


# -- demo ---------------------------------------------------------------------------
@app.command()
def demo(ctx: typer.Context,
         concurrency: int = typer.Option(1, min=1, help="Parallel requests to the local model (it answers one at a time)."),
         as_json: bool = typer.Option(False, "--json", help="Print the judgments and the run summary as JSON.")):
    """Ingest the bundled sample papers and judge them with the embedded local model."""
    from dataclasses import asdict

    from annotator.demo import run_demo

    result = run_demo(ctx.obj["db"], concurrency=concurrency, console=err_console)
    if as_json:
        print_json({"model": result["model"], "db": result["db"], "judgments": result["rows"],
                    "summary": asdict(result["summary"])})
        return
    table = Table("title", "AI score", "novelty", "rationale", title=f"judgments by {result['model']}")
    for row in result["rows"]:
        table.add_row(row["title"], str(row["ai_score"]), f"{row['novelty']}%", row["rationale"])
    console.print(table)
    _print_summary(result["summary"])


_mount_command_groups()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
