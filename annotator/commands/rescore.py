"""Commands for re-scoring after prompt changes: compare, costs, batch, prompts diff.

Mounted by ``cli.py``::

    from annotator.commands import rescore
    rescore.mount(app, prompts_app)

which is the same as::

    app.command("compare")(rescore.compare)
    app.command("costs")(rescore.costs)
    app.add_typer(rescore.batch_app, name="batch")
    prompts_app.command("diff")(rescore.prompts_diff)

The commands read the database from the root ``--db`` option (``ctx.obj["db"]``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from annotator.commands.output import is_stdout, print_json

console = Console()
err_console = Console(stderr=True)


def _out() -> Console:
    """stdout; when it is not a terminal (a pipe, a file), wide enough for whole tables."""
    return console if console.is_terminal else Console(width=200)


def _db(ctx: typer.Context) -> Optional[str]:
    obj = ctx.find_root().obj or {}
    return obj.get("db") if isinstance(obj, dict) else None


def _engine(ctx: typer.Context):
    from db import open_db

    return open_db(_db(ctx))


def _settings(ctx: typer.Context):
    from annotator.settings import get_settings

    return get_settings(db=_db(ctx))


# -- prompts diff -------------------------------------------------------------------
def prompts_diff(ctx: typer.Context,
                 a: str = typer.Argument(..., help="NAME@VERSION, e.g. score@1."),
                 b: str = typer.Argument(..., help="NAME@VERSION, or just the version (2) for the same name."),
                 context: int = typer.Option(3, min=0, help="Lines of context around changes."),
                 as_json: bool = typer.Option(False, "--json", help="Print the diff as JSON.")):
    """Show what changed between two prompt versions: text, params and output schema."""
    from annotator.errors import PromptError
    from annotator.prompts.diff import diff_prompts, render_text

    try:
        d = diff_prompts(a, b, context=context)
    except PromptError:  # a version whose file is gone: its text as stored when it was used
        d = diff_prompts(a, b, engine=_engine(ctx), context=context)
    if as_json:
        sys.stdout.write(json.dumps(d.to_dict(), indent=2) + "\n")
        return
    for line in render_text(d).splitlines():
        style = None
        if line.startswith("+") and not line.startswith("+++"):
            style = "green"
        elif line.startswith("-") and not line.startswith("---"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("#"):
            style = "bold"
        console.print(line, style=style, highlight=False, markup=False, soft_wrap=True)


# -- compare ------------------------------------------------------------------------
def compare(ctx: typer.Context,
            a: str = typer.Argument(..., help="Baseline version, NAME@VERSION."),
            b: str = typer.Argument(..., help="New version, NAME@VERSION (or just the version)."),
            model: Optional[str] = typer.Option(None, help="Model both versions ran with (needed when several did)."),
            threshold: float = typer.Option(10.0, help="A paper 'moved' when a score shifts by more than this."),
            top: int = typer.Option(10, min=0, help="How many biggest movers to list."),
            md: Optional[Path] = typer.Option(None, "--md", help="Write a Markdown report here."),
            json_path: Optional[Path] = typer.Option(None, "--json", help="Write the figures as JSON here ('-': print them instead of the table)."),
            png: Optional[Path] = typer.Option(None, "--png", help="Write a histogram of the shifts here.")):
    """Compare two prompt versions over the papers both judged with the same model."""
    from annotator.prompts import versions as cmp

    c = cmp.compare_versions(_engine(ctx), a, b, model=model, threshold=threshold, top=top)
    if is_stdout(json_path):
        print_json(c.to_dict())
    else:
        cmp.render_rich(c, _out())
    if md:
        md.write_text(cmp.to_markdown(c), encoding="utf-8")
        err_console.print(f"wrote {md}", highlight=False)
    if json_path and not is_stdout(json_path):
        cmp.write_json(c, json_path)
        err_console.print(f"wrote {json_path}", highlight=False)
    if png:
        cmp.write_png(c, png)
        err_console.print(f"wrote {png}", highlight=False)


# -- costs --------------------------------------------------------------------------
def costs(ctx: typer.Context,
          by: str = typer.Option("prompt,model,day,mode", help="Group by any of prompt, model, day, mode (comma-separated; '' for one total)."),
          prompt: Optional[str] = typer.Option(None, help="Only NAME or NAME@VERSION."),
          model: Optional[str] = typer.Option(None, help="Only this model."),
          since: Optional[str] = typer.Option(None, help="From this UTC day, YYYY-MM-DD."),
          until: Optional[str] = typer.Option(None, help="Up to this UTC day, YYYY-MM-DD."),
          json_path: Optional[Path] = typer.Option(None, "--json", help="Write the report as JSON here ('-': print it instead of the table)."),
          as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table.")):
    """Tokens and cost of every stored model call (retries included) by prompt version, model and day."""
    from annotator.judge import spend as cr

    def day(value: Optional[str], name: str) -> Optional[date]:
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{name} must be YYYY-MM-DD, got {value!r}") from None

    groups = [g.strip() for g in by.split(",") if g.strip()]
    report = cr.cost_report(_engine(ctx), by=groups, prompt=prompt, model=model,
                            since=day(since, "--since"), until=day(until, "--until"))
    if is_stdout(json_path):
        print_json(report.to_dict())
        return
    if as_csv:
        cr.write_csv(report, sys.stdout)
    else:
        cr.render_rich(report, _out())
    if json_path:
        cr.write_json(report, json_path)
        err_console.print(f"wrote {json_path}", highlight=False)


# -- batch --------------------------------------------------------------------------
batch_app = typer.Typer(no_args_is_help=True,
                        help="The Batch API: half price, answers within 24 hours.")


@batch_app.command("submit")
def batch_submit(ctx: typer.Context,
                 prompt: Optional[str] = typer.Option(None, help="NAME@VERSION (default: active or latest 'score')."),
                 model: Optional[str] = typer.Option(None, envvar="ANNOTATOR_MODEL", help="Model name at the endpoint."),
                 limit: Optional[int] = typer.Option(None, min=0, help="Send at most this many papers."),
                 samples: int = typer.Option(1, min=1, max=20, help="Ask K times per paper; store the median."),
                 max_cost: Optional[float] = typer.Option(None, help="Send no more than this estimated cost (USD, batch prices)."),
                 no_cache: bool = typer.Option(False, "--no-cache", help="Send even requests answered in stored calls."),
                 response_format: str = typer.Option("auto", help="auto (json_schema), json_schema, json_object or none."),
                 max_requests: int = typer.Option(50_000, min=1, help="Lines per batch file.")):
    """Queue what lacks a judgment and send it as one or more batches."""
    from annotator.jobs.batch import BatchOptions

    submit_and_report(_engine(ctx), _settings(ctx), BatchOptions(
        prompt=prompt, model=model, limit=limit, samples=samples, max_cost=max_cost,
        use_cache=not no_cache, response_format=response_format, max_requests=max_requests))


def submit_and_report(engine, settings, opts) -> None:
    """Submit with ``annotator.jobs.batch.submit_batches`` and print what was sent (``batch submit``
    and ``annotate --batch``)."""
    from annotator.jobs.batch import submit_batches

    def sent(batch_id: str, lines: int) -> None:
        err_console.print(f"submitted {batch_id}: {lines} requests", highlight=False)

    s = submit_batches(engine, settings, opts, on_batch=sent)
    console.print(f"{s.prompt} on {s.model}: {len(s.batches)} batch(es), {s.tasks} papers, "
                  f"{s.requests} requests; {s.cached} answered from stored calls; estimated cost "
                  f"${s.estimated_cost_usd:.4f} (batch prices)", highlight=False)
    if s.stopped:
        console.print(f"stopped early: {s.stopped}")
    if s.batches:
        console.print("collect with: annotator batch collect --wait")


@batch_app.command("collect")
def batch_collect(ctx: typer.Context,
                  batch_ids: Optional[List[str]] = typer.Argument(None, help="Batch ids (default: every open batch)."),
                  wait: bool = typer.Option(False, "--wait", help="Poll until every batch has finished."),
                  poll: float = typer.Option(30.0, min=0.0, help="Seconds between polls with --wait."),
                  timeout: Optional[float] = typer.Option(None, help="Give up waiting after this many seconds."),
                  as_json: bool = typer.Option(False, "--json", help="Print the results as JSON.")):
    """Store the answers of finished batches; failed lines go back to the queue."""
    from annotator.jobs.batch import collect_batches

    def progress(results) -> None:
        open_ = [r for r in results if not r.collected]
        if wait and open_:
            err_console.print("waiting: " + ", ".join(f"{r.batch_id} {r.status}" for r in open_),
                              highlight=False)

    s = collect_batches(_engine(ctx), _settings(ctx), batch_ids=batch_ids or None, wait=wait,
                        poll_s=poll, timeout_s=timeout, on_poll=progress)
    if as_json:
        print_json({"batches": [asdict(r) for r in s.batches], "judged": s.judged,
                    "requeued": s.requeued, "open": s.open})
        return
    if not s.batches:
        console.print("no open batches")
        return
    table = Table("batch", "status", "collected", "judged", "requeued", "calls", "tokens in/out", "cost")
    for r in s.batches:
        table.add_row(r.batch_id, r.status, "yes" if r.collected else "",
                      str(r.judged), str(r.requeued), str(r.calls),
                      f"{r.prompt_tokens:,} / {r.completion_tokens:,}", f"${r.cost_usd:.4f}")
    _out().print(table)
    for r in s.batches:
        for reason in r.reasons[:5]:
            err_console.print(f"[yellow]requeued[/yellow] {reason}", highlight=False, soft_wrap=True)
    if s.open:
        console.print(f"{s.open} batch(es) not finished yet")


@batch_app.command("list")
def batch_list(ctx: typer.Context,
               as_json: bool = typer.Option(False, "--json", help="Print the batches as JSON.")):
    """Batches in this database, newest last."""
    from annotator.jobs.batch import list_batches

    rows = list_batches(_engine(ctx))
    if as_json:
        print_json(rows)
        return
    table = Table("batch", "prompt", "model", "status", "collected", "requests", "judged",
                  "requeued", "est. cost", "cost", "created")
    for r in rows:
        table.add_row(r["batch_id"], f"{r['prompt_name']}@{r['prompt_version']}", r["model"],
                      r["status"], "yes" if r["collected"] else "", str(r["requests"]),
                      str(r["succeeded"]), str(r["requeued"]), f"${r['estimated_cost_usd']:.4f}",
                      f"${r['cost_usd']:.4f}", str(r["created_at"])[:19])
    _out().print(table if rows else "no batches")


@batch_app.command("cancel")
def batch_cancel(ctx: typer.Context, batch_id: str = typer.Argument(...)):
    """Ask the provider to cancel a batch; collect then stores what was answered."""
    from annotator.jobs.batch import cancel_batch

    status = cancel_batch(_engine(ctx), _settings(ctx), batch_id)
    console.print(f"{batch_id}: {status}")


def mount(app: typer.Typer, prompts_app: typer.Typer) -> None:
    """Add these commands to the ``annotator`` app and its ``prompts`` group."""
    app.command("compare")(compare)
    app.command("costs")(costs)
    app.add_typer(batch_app, name="batch")
    prompts_app.command("diff")(prompts_diff)
