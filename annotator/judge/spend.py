"""What the model calls cost: tokens and dollars by prompt version, model and day.

Everything comes from ``llm_calls``, one row per HTTP attempt (retries,
re-asks and failed attempts included) or cache hit, so the totals are exactly
the sums over that table. Calls made through the Batch API were priced at half
the list price when they were stored, and are shown as mode ``batch``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import Engine

from annotator.db.queries.judgments import call_costs
from annotator.errors import ConfigError
from annotator.prompts.registry import version_key

GROUPS = ("prompt", "model", "day", "mode")
DEFAULT_GROUPS = ("prompt", "model", "day", "mode")


@dataclass
class CostRow:
    prompt: str | None = None  # NAME@VERSION ("-" for calls made outside a prompt version)
    model: str | None = None
    day: str | None = None  # YYYY-MM-DD (UTC)
    mode: str | None = None  # sync | batch
    calls: int = 0  # stored rows: HTTP attempts plus cache hits
    http: int = 0  # requests that went to the endpoint (cache hits excluded)
    cached: int = 0
    retries: int = 0  # attempts after the first, same request
    reasks: int = 0  # requests re-sent after an invalid reply
    errors: int = 0  # attempts without a reply (HTTP error, timeout, connection)
    invalid: int = 0  # replies that failed validation
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class CostReport:
    by: tuple[str, ...]
    rows: list[CostRow]
    total: CostRow

    def to_dict(self) -> dict:
        return {"by": list(self.by), "rows": [asdict(r) for r in self.rows], "total": asdict(self.total)}


def cost_report(
    engine: Engine,
    *,
    by: Sequence[str] = DEFAULT_GROUPS,
    prompt: str | None = None,
    model: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> CostReport:
    """Sums over ``llm_calls`` grouped by ``by`` (any of prompt, model, day, mode).

    ``prompt`` is NAME or NAME@VERSION; ``since``/``until`` are inclusive UTC days.
    """
    by = tuple(dict.fromkeys(by))
    unknown = [g for g in by if g not in GROUPS]
    if unknown:
        raise ConfigError(f"cannot group costs by {', '.join(unknown)}; use {', '.join(GROUPS)}")
    name, _, version = (prompt or "").partition("@")
    with engine.connect() as conn:
        result = call_costs(
            conn,
            by,
            prompt_name=name if prompt else None,
            prompt_version=version.lstrip("v") if prompt and version else None,
            model=model or None,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
        )
    keyed = []
    for result_row in result:
        r = list(result_row)
        row, key = CostRow(), []
        for g in by:
            if g == "prompt":
                name, version = r.pop(0), r.pop(0)
                row.prompt = f"{name}@{version}" if name is not None else "-"
                key += [(name is None, name or ""), version_key(version)]
            else:
                value = r.pop(0)
                setattr(row, g, value)
                key.append((value is None, str(value or "")))
        if not by and r[0] == 0:
            continue  # no calls at all
        (
            row.calls,
            row.http,
            row.cached,
            row.retries,
            row.reasks,
            row.errors,
            row.invalid,
            row.prompt_tokens,
            row.completion_tokens,
        ) = (int(v or 0) for v in r[:9])
        row.cost_usd = float(r[9] or 0.0)
        keyed.append((tuple(key), row))
    rows = [row for _, row in sorted(keyed, key=lambda kr: kr[0])]  # versions in numeric order
    return CostReport(by=by, rows=rows, total=_total(rows))


_COUNTS = ("calls", "http", "cached", "retries", "reasks", "errors", "invalid", "prompt_tokens", "completion_tokens")


def _total(rows: Iterable[CostRow]) -> CostRow:
    total = CostRow(prompt="total")
    for r in rows:
        for name in _COUNTS:
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.cost_usd += r.cost_usd
    return total


def _columns(report: CostReport) -> list[str]:
    return list(report.by) + list(_COUNTS) + ["cost_usd"]


_SHOWN = (
    ("http", "http"),
    ("cached", "cached"),
    ("retries", "retries"),
    ("reasks", "re-asks"),
    ("failed", "failed"),
    ("prompt_tokens", "tokens in"),
    ("completion_tokens", "tokens out"),
)


def render_rich(report: CostReport, console) -> None:
    """A compact table; ``failed`` is errors plus invalid replies (JSON and CSV keep both)."""
    from rich import box
    from rich.table import Table

    table = Table(
        title="model calls: tokens and cost (retries and re-asks included)", box=box.SIMPLE_HEAD, padding=(0, 1)
    )
    for g in report.by:  # a narrow terminal folds cells rather than cutting them
        table.add_column(g, overflow="fold")
    for _, header in _SHOWN:
        table.add_column(header, justify="right", overflow="fold")
    table.add_column("cost", justify="right", overflow="fold")

    def cells(r: CostRow, label: str | None = None) -> list[str]:
        out = [("total" if i == 0 else "") if label else str(getattr(r, g) or "") for i, g in enumerate(report.by)]
        for name, _ in _SHOWN:
            value = r.errors + r.invalid if name == "failed" else getattr(r, name)
            out.append(f"{value:,}")
        out.append(f"${r.cost_usd:,.4f}")
        return out

    for r in report.rows:
        table.add_row(*cells(r))
    if report.by:
        table.add_section()
        table.add_row(*cells(report.total, "total"), style="bold")
    console.print(table if report.rows else "no model calls stored")


def write_json(report: CostReport, path: Path) -> None:
    Path(path).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")


def write_csv(report: CostReport, fh: TextIO) -> None:
    cols = _columns(report)
    w = csv.writer(fh)
    w.writerow(cols)
    for r in report.rows:
        w.writerow([getattr(r, c) for c in cols])


__all__ = ["CostReport", "CostRow", "GROUPS", "cost_report", "render_rich", "write_csv", "write_json"]
