"""``annotator batch``: the Batch API (half price, answers within 24 hours)."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table
from sqlalchemy.engine import Engine

from annotator.commands.common import (
    console,
    engine_of,
    err_console,
    print_json,
    print_rows,
    settings_of,
    wide_console,
)
from annotator.commands.job_options import (
    DEFAULT_SAMPLES,
    MaxCostOption,
    ModelOption,
    PromptOption,
    SamplesOption,
)
from annotator.jobs.batch_collect import cancel_batch, collect_batches, list_batches
from annotator.jobs.batch_submit import submit_batches
from annotator.jobs.batch_types import MAX_REQUESTS, BatchOptions, BatchResult
from annotator.settings import Settings

app = typer.Typer(no_args_is_help=True, help="The Batch API: half price, answers within 24 hours.")


@app.command("submit")
def batch_submit(
    ctx: typer.Context,
    prompt: PromptOption = None,
    model: ModelOption = None,
    limit: int | None = typer.Option(None, min=0, help="Send at most this many papers."),
    samples: SamplesOption = DEFAULT_SAMPLES,
    max_cost: MaxCostOption = None,
    no_cache: bool = typer.Option(False, "--no-cache", help="Send even requests answered in stored calls."),
    response_format: str = typer.Option("auto", help="auto (json_schema), json_schema, json_object or none."),
    max_requests: int = typer.Option(MAX_REQUESTS, min=1, help="Lines per batch file."),
):
    """Queue what lacks a judgment and send it as one or more batches."""
    submit_and_report(
        engine_of(ctx),
        settings_of(ctx),
        BatchOptions(
            prompt=prompt,
            model=model,
            limit=limit,
            samples=samples,
            max_cost=max_cost,
            use_cache=not no_cache,
            response_format=response_format,
            max_requests=max_requests,
        ),
    )


def submit_and_report(engine: Engine, settings: Settings, opts: BatchOptions) -> None:
    """Submit with ``annotator.jobs.batch_submit.submit_batches`` and print what was sent (``batch submit``
    and ``annotate --batch``)."""

    def sent(batch_id: str, lines: int) -> None:
        err_console.print(f"submitted {batch_id}: {lines} requests", highlight=False)

    s = submit_batches(engine, settings, opts, on_batch=sent)
    console.print(
        f"{s.prompt} on {s.model}: {len(s.batches)} batch(es), {s.tasks} papers, "
        f"{s.requests} requests; {s.cached} answered from stored calls; estimated cost "
        f"${s.estimated_cost_usd:.4f} (batch prices)",
        highlight=False,
    )
    if s.stopped:
        console.print(f"stopped early: {s.stopped}")
    if s.batches:
        console.print("collect with: annotator batch collect --wait")


@app.command("collect")
def batch_collect(
    ctx: typer.Context,
    batch_ids: list[str] | None = typer.Argument(None, help="Batch ids (default: every open batch)."),
    wait: bool = typer.Option(False, "--wait", help="Poll until every batch has finished."),
    poll: float = typer.Option(30.0, min=0.0, help="Seconds between polls with --wait."),
    timeout: float | None = typer.Option(None, help="Give up waiting after this many seconds."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
):
    """Store the answers of finished batches; failed lines go back to the queue."""

    def progress(results: list[BatchResult]) -> None:
        open_ = [r for r in results if not r.collected]
        if wait and open_:
            err_console.print("waiting: " + ", ".join(f"{r.batch_id} {r.status}" for r in open_), highlight=False)

    s = collect_batches(
        engine_of(ctx),
        settings_of(ctx),
        batch_ids=batch_ids or None,
        wait=wait,
        poll_s=poll,
        timeout_s=timeout,
        on_poll=progress,
    )
    if as_json:
        print_json(
            {"batches": [asdict(r) for r in s.batches], "judged": s.judged, "requeued": s.requeued, "open": s.open}
        )
        return
    if not s.batches:
        console.print("no open batches")
        return
    table = Table("batch", "status", "collected", "judged", "requeued", "calls", "tokens in/out", "cost")
    for r in s.batches:
        table.add_row(
            r.batch_id,
            r.status,
            "yes" if r.collected else "",
            str(r.judged),
            str(r.requeued),
            str(r.calls),
            f"{r.prompt_tokens:,} / {r.completion_tokens:,}",
            f"${r.cost_usd:.4f}",
        )
    wide_console().print(table)
    for r in s.batches:
        for reason in r.reasons[:5]:
            err_console.print(f"[yellow]requeued[/yellow] {reason}", highlight=False, soft_wrap=True)
    if s.open:
        console.print(f"{s.open} batch(es) not finished yet")


@app.command("list")
def batch_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the batches as JSON.")):
    """Batches in this database, newest last."""
    print_rows(
        list_batches(engine_of(ctx)),
        as_json,
        (
            "batch",
            "prompt",
            "model",
            "status",
            "collected",
            "requests",
            "judged",
            "requeued",
            "est. cost",
            "cost",
            "created",
        ),
        lambda r: (
            r.batch_id,
            f"{r.prompt_name}@{r.prompt_version}",
            r.model,
            r.status,
            "yes" if r.collected else "",
            str(r.requests),
            str(r.succeeded),
            str(r.requeued),
            f"${r.estimated_cost_usd:.4f}",
            f"${r.cost_usd:.4f}",
            str(r.created_at)[:19],
        ),
        out=wide_console(),
        empty="no batches",
    )


@app.command("cancel")
def batch_cancel(ctx: typer.Context, batch_id: str = typer.Argument(...)):
    """Ask the provider to cancel a batch; collect then stores what was answered."""
    status = cancel_batch(engine_of(ctx), settings_of(ctx), batch_id)
    console.print(f"{batch_id}: {status}")
