"""``annotator queue``: the durable task queue."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from annotator.commands.common import console, engine_of, print_json
from annotator.jobs import queue

app = typer.Typer(no_args_is_help=False, help="The durable task queue.")


@app.callback(invoke_without_command=True)
def queue_status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON.")):
    """Task counts by prompt version, model and state."""
    if ctx.invoked_subcommand:
        return
    rows = queue.counts(engine_of(ctx))
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table("prompt", "model", "state", "tasks")
    for r in rows:
        table.add_row(r.prompt, r.model, r.state, str(r.count))
    console.print(table if rows else "the queue is empty")


@app.command("retry")
def queue_retry(ctx: typer.Context, model: str | None = typer.Option(None)):
    """Put failed tasks back in the queue (the next annotate run takes them)."""
    n = queue.retry_failed(engine_of(ctx), model=model)
    console.print(f"{n} failed task(s) queued again")
