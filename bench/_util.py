"""Shared bits of the benchmark scripts: tables, timing, the environment line."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the code under test: this tree, or an earlier commit's (``_baseline``, --baseline REF)
CODE = Path(os.environ.get("ANNOTATOR_BENCH_CODE") or ROOT)
if str(CODE) not in sys.path:
    sys.path.insert(0, str(CODE))


def environment() -> str:
    return f"python {platform.python_version()} on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence], notes: Iterable[str] = ()) -> None:
    """A rich table (plain aligned text when rich is missing), then the notes."""
    rows = [[str(c) for c in row] for row in rows]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        widths = [max(len(str(c)) for c in col) for col in zip(columns, *rows)]
        print(title)
        for row in [list(columns)] + rows:
            print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))
    else:
        table = Table(title=title)
        for i, col in enumerate(columns):
            table.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        Console(width=max(100, int(os.environ.get("COLUMNS", "0") or 0))).print(table)
    for note in notes:
        print(f"  note: {note}")
    sys.stdout.flush()
