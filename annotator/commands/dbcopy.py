"""``annotator db copy``: every table from one database to another."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from annotator.commands.common import err_console, print_json, wide_console
from annotator.db.copy import CHUNK_ROWS, CopyError, TableCopy, copy_database

app = typer.Typer(no_args_is_help=True, help="Whole databases: copy one to another.")


def _progress(t: TableCopy) -> None:
    resumed = f" (after {t.already:,} already there)" if t.already else ""
    err_console.print(f"{t.table}: {t.copied:,} rows copied{resumed}", highlight=False)


@app.command("copy")
def db_copy(
    src: str = typer.Argument(..., help="Source: a SQLite path or a SQLAlchemy URL."),
    dst: str = typer.Argument(..., help="Destination: a SQLite path or a SQLAlchemy URL."),
    chunk: int = typer.Option(CHUNK_ROWS, "--chunk", min=1, help="Rows per insert and per transaction."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-table report as JSON."),
):
    """Copy every table from SRC to DST (papers, authors, metrics, prompts, tasks, judgments,
    stored calls, batches, calibrations), keeping the ids.

    Both databases are migrated to the current schema first, the source too. The source
    is read in one snapshot, so workers may keep writing to it: the copy is the source as
    it was when the copy began. Run it again after an interruption and it goes on where it
    stopped; a destination holding other rows is refused. Rows go in key order, text keys
    in byte order, the same on SQLite and on PostgreSQL whatever its collation. Row counts
    and a checksum per table are compared at the end: exit code 8 when any differ.
    """
    report = copy_database(src, dst, chunk=chunk, progress=None if as_json else _progress)
    if as_json:
        print_json(asdict(report))
    else:
        if report.source_migrated:
            err_console.print(f"source migrated first: {', '.join(report.source_migrated)}", highlight=False)
        table = Table(
            "table",
            "source rows",
            "dest rows",
            "copied",
            "source sha256",
            "dest sha256",
            "same",
            title=f"{report.source} -> {report.dest}",
        )
        for t in report.tables:
            table.add_row(
                t.table,
                f"{t.source_rows:,}",
                f"{t.dest_rows:,}",
                f"{t.copied:,}",
                t.source_checksum[:16],
                t.dest_checksum[:16],
                "yes" if t.ok else "NO",
            )
        out = wide_console()
        out.print(table)
        out.print(
            f"{report.rows:,} rows in {report.seconds:.1f} s ({report.rows / max(report.seconds, 1e-9):,.0f} rows/s)",
            highlight=False,
        )
    if not report.ok:
        bad = ", ".join(t.table for t in report.tables if not t.ok)
        raise CopyError(f"the copy differs from the source in: {bad}")
