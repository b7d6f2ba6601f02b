"""``annotator injection-suite``: how much injected instructions move the scores, and what is flagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from annotator.commands.common import db_of, engine_of, err_console, is_stdout, print_json, wide_console
from annotator.commands.job_options import ConcurrencyOption, ModelOption, PromptOption
from annotator.evalrun.injection import CLEAN, INJECTIONS, InjectionReport, run_suite

app = typer.Typer()


def _fmt(value: Any) -> str:
    return "-" if value is None else (f"{value:+.1f}" if isinstance(value, float) else str(value))


def report_table(report: InjectionReport) -> Table:
    """One row per kind of injection, then the total."""
    table = Table(
        title=f"prompt injection: {report.model} ({report.prompt})",
        caption=f"clean abstracts flagged: {report.flagged_clean}/{report.clean}; shift = injected minus clean score",
    )
    for col in ("kind", "pairs", "judged", "mean AI shift", "mean novelty shift", "flagged"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, row in report.by_kind.items():
        table.add_row(
            kind,
            str(row.pairs),
            str(row.judged),
            _fmt(row.mean_ai_shift),
            _fmt(row.mean_novelty_shift),
            f"{row.flagged}/{row.pairs}",
        )
    table.add_row(
        "all",
        str(report.pairs),
        str(report.judged_pairs),
        _fmt(report.mean_ai_shift),
        _fmt(report.mean_novelty_shift),
        f"{report.flagged_injected}/{report.injected}",
        style="bold",
    )
    return table


@app.command("injection-suite")
def injection_suite(
    ctx: typer.Context,
    model: ModelOption = None,
    prompt: PromptOption = None,
    n_pairs: int | None = typer.Option(
        None, "--pairs", min=1, help=f"Run only the first N pairs (all: {len(CLEAN) * len(INJECTIONS)})."
    ),
    kinds: str | None = typer.Option(None, help=f"Comma-separated kinds: {', '.join(INJECTIONS)}."),
    concurrency: ConcurrencyOption = 4,
    json_path: Path | None = typer.Option(
        None, "--json", help="Write the JSON report here ('-': print it instead of the table)."
    ),
) -> None:
    """Pair clean abstracts with injected copies and report the score shift and the flags.

    Without OPENAI_BASE_URL/OPENAI_API_KEY it runs against the embedded local model.
    """
    report = run_suite(
        model=model,
        prompt=prompt,
        n_pairs=n_pairs,
        kinds=[k.strip() for k in kinds.split(",") if k.strip()] if kinds else None,
        concurrency=concurrency,
        engine=engine_of(ctx) if db_of(ctx) else None,
    )
    if is_stdout(json_path):
        print_json(report.to_dict())
        return
    wide_console().print(report_table(report))
    for failure in report.failures[:5]:
        err_console.print(f"[yellow]failed[/yellow] {failure}", highlight=False, soft_wrap=True)
    if json_path:
        json_path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        err_console.print(f"wrote {json_path}", highlight=False)
