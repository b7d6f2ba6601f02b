"""``annotator costs``: tokens and cost of every stored model call."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer

from annotator.commands.common import (
    engine_of,
    err_console,
    is_stdout,
    print_json,
    wide_console,
)
from annotator.judge import spend as cr

app = typer.Typer()


@app.command("costs")
def costs(
    ctx: typer.Context,
    by: str = typer.Option(
        "prompt,model,day,mode", help="Group by any of prompt, model, day, mode (comma-separated; '' for one total)."
    ),
    prompt: str | None = typer.Option(None, help="Only NAME or NAME@VERSION."),
    model: str | None = typer.Option(None, help="Only this model."),
    since: str | None = typer.Option(None, help="From this UTC day, YYYY-MM-DD."),
    until: str | None = typer.Option(None, help="Up to this UTC day, YYYY-MM-DD."),
    json_path: Path | None = typer.Option(
        None, "--json", help="Write the report as JSON here ('-': print it instead of the table)."
    ),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
):
    """Tokens and cost of every stored model call (retries included) by prompt version, model and day."""

    def day(value: str | None, name: str) -> date | None:
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{name} must be YYYY-MM-DD, got {value!r}") from None

    groups = [g.strip() for g in by.split(",") if g.strip()]
    report = cr.cost_report(
        engine_of(ctx), by=groups, prompt=prompt, model=model, since=day(since, "--since"), until=day(until, "--until")
    )
    if is_stdout(json_path):
        print_json(report.to_dict())
        return
    if as_csv:
        cr.write_csv(report, sys.stdout)
    else:
        cr.render_rich(report, wide_console())
    if json_path:
        cr.write_json(report, json_path)
        err_console.print(f"wrote {json_path}", highlight=False)
