"""What every command module shares: the consoles, the database from ``--db``, JSON output.

The database layer and the settings are imported when a command asks for them
(``engine_of``, ``settings_of``), not with this module: a command that needs
neither starts without them, and so does ``--help`` of a command whose module
imports nothing heavier at its top (``ingest``, ``site``, ``eval``...).

Every command that prints a table takes ``--json``. On most it is a flag that
prints JSON on stdout instead of the table. Commands whose ``--json`` names a
file to write (``compare``, ``costs``, ``eval compare``, ``report biblio``)
keep that, and ``--json -`` prints the JSON on stdout instead of the table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from sqlalchemy.engine import Engine

    from annotator.settings import Settings

STDOUT = "-"
Row = TypeVar("Row", bound="DataclassInstance")

console = Console()
err_console = Console(stderr=True)


def wide_console() -> Console:
    """stdout; when it is not a terminal (a pipe, a file), wide enough for whole tables."""
    return console if console.is_terminal else Console(width=200)


def db_of(ctx: typer.Context) -> str | None:
    """The root ``--db`` option (or ``ANNOTATOR_DB``), from any sub-command."""
    obj = ctx.find_root().obj or {}
    return obj.get("db") if isinstance(obj, dict) else None


def engine_of(ctx: typer.Context) -> Engine:
    from annotator.db import open_db  # the database layer: only for commands that use one

    return open_db(db_of(ctx))


def settings_of(ctx: typer.Context, **overrides: Any) -> Settings:
    from annotator.settings import get_settings

    return get_settings(**overrides)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (dates and other values as strings)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def print_rows(
    rows: Sequence[Row],
    as_json: bool,
    columns: Sequence[str],
    cells: Callable[[Row], Sequence[str]],
    *,
    out: Console = console,
    empty: str | None = None,
) -> None:
    """Dataclass rows for a ``--json`` flag: a JSON list of them, or else a table with
    ``cells(row)`` for each row (``empty`` instead of a table without rows, when given)."""
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table(*columns)
    for r in rows:
        table.add_row(*cells(r))
    out.print(empty if empty is not None and not rows else table)


def is_stdout(path: Path | None) -> bool:
    """True when a ``--json PATH`` option was given as ``-``."""
    return path is not None and str(path) == STDOUT


def print_run_summary(s: Any) -> None:
    """One line for a finished run (``RunSummary``), then why it stopped and its first failures."""
    console.print(
        f"done {s.done}, failed {s.failed}; calls {s.calls} (cached {s.cached}, retries {s.retries}, "
        f"re-asks {s.reasks}); tokens {s.prompt_tokens:,} in / {s.completion_tokens:,} out; "
        f"cost ${s.cost_usd:.4f}; {s.wall_s:.1f} s ({s.papers_per_s:.1f} papers/s)",
        highlight=False,
    )
    if s.stopped:
        console.print(f"stopped early: {s.stopped}")
    for failure in s.failures[:5]:
        err_console.print(f"[yellow]failed[/yellow] {failure}", highlight=False, soft_wrap=True)
