"""Write docs/benchmarks.md from the benchmarks' recorded results.

    python bench/write_docs.py                 # bench/results/*.json + bench/recorded/*.md -> docs/benchmarks.md
    python bench/write_docs.py --check         # exit 1 when docs/benchmarks.md is not what they render

``make bench`` (``bench/run_all.py``) runs each script with ``--json FILE`` and keeps
what it wrote in ``bench/results/<name>.json`` (``store_result``), with the command,
the date, the commit and the machine; then it calls ``write``. Nothing on the page is
typed by hand except ``bench/recorded/<name>.md``: figures measured before the page
was generated (full sizes, before/after runs against an earlier commit), shown under
"Recorded earlier" beside the latest run of the same benchmark.

The figures of a script are rendered generically: numbers and strings as a
"measure | value" table, a ``{"columns": [...], "rows": [...]}`` object as that
table, a list of objects as a table with one row each, sibling objects of numbers
(``{"fresh": {"seconds": ..}, "again": {"seconds": ..}}``) as one table, lists of
strings (problems, misses) as one line each.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RECORDED = ROOT / "bench" / "recorded"
PAGE = ROOT / "docs" / "benchmarks.md"

# Section titles, in page order; a benchmark not listed comes after them under its name.
TITLES = {
    "throughput": "Throughput against the fake server",
    "ratelimit": "Rate limits",
    "storage": "Storage at scale",
    "ingest": "Ingest",
    "profiles": "Profiles and leaderboards",
    "site": "Building the site",
    "db_copy": "Copying a database (`annotator db copy`)",
    "replay": "Replay from the call cache",
    "startup": "Command start-up",
    "injection_detector": "Injection detector",
    "injection_suite": "Prompt injection suite (`annotator injection-suite`)",
    "local_model": "Embedded local model",
}

Table = tuple[str, Sequence[str], list[Sequence[Any]]]  # caption, columns, rows


# -- storing a run ----------------------------------------------------------------
def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def commit_label() -> str | None:
    """The short commit of the checkout, ``+dirty`` when tracked files differ from it."""
    commit = _git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return None
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return commit + ("+dirty" if dirty else "")


def scrub(value: Any) -> Any:
    """The figures without this machine's paths: the checkout becomes ``.``, other
    absolute paths their last part."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        value = value.replace(str(ROOT), ".")
        return re.sub(r"(?<![\w.])/(?:[\w.+-]+/)+([\w.+-]+)", r"\1", value)
    return value


def store_result(
    name: str,
    command: Sequence[str],
    *,
    seconds: float,
    exit_code: int,
    environment: str,
    figures: Any,
    results: Path = RESULTS,
    started: datetime | None = None,
) -> Path:
    """Keep one script's run as ``results/<name>.json`` (replacing the previous one)."""
    results.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "command": " ".join(command),
        "date": (started or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit_label(),
        "environment": environment,
        "seconds": round(seconds, 1),
        "exit_code": exit_code,
        "figures": scrub(figures),
    }
    path = results / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# -- figures to tables --------------------------------------------------------------
def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _shallow(v: Any) -> bool:
    """A scalar, or an object of scalars: one row's worth of cells."""
    return _scalar(v) or (isinstance(v, dict) and all(_scalar(x) for x in v.values()))


def _flat(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _union(dicts: Iterable[dict]) -> list[str]:
    keys: list[str] = []
    for d in dicts:
        keys += [k for k in d if k not in keys]
    return keys


def _grid(caption: str, named: dict[str, dict]) -> Table:
    """Sibling objects of scalars as one table: a row each, or a column each when there
    are fewer objects than keys."""
    keys = _union(named.values())
    if len(named) < len(keys):
        return caption, ["", *named], [[k, *(d.get(k) for d in named.values())] for k in keys]
    return caption, ["", *keys], [[name, *(d.get(k) for k in keys)] for name, d in named.items()]


def tables(figures: Any, caption: str = "") -> tuple[list[Table], list[str]]:
    """The tables and the one-line lists of a script's JSON."""
    out: list[Table] = []
    lines: list[str] = []
    if isinstance(figures, list):
        figures = {"rows": figures}
    if not isinstance(figures, dict):
        return [(caption, ["value"], [[figures]])], []
    if isinstance(figures.get("columns"), list) and isinstance(figures.get("rows"), list):
        out.append((caption, figures["columns"], figures["rows"]))
        lines += [f"{caption + ': ' if caption else ''}{n}" for n in figures.get("notes", [])]
        figures = {k: v for k, v in figures.items() if k not in ("columns", "rows", "notes")}
    scalars = [(k, v) for k, v in figures.items() if _scalar(v)]
    if scalars:
        out.append((caption, ["measure", "value"], [list(kv) for kv in scalars]))
    flat_objects = {
        k: v for k, v in figures.items() if isinstance(v, dict) and v and all(_scalar(x) for x in v.values())
    }
    if flat_objects:
        out.append(_grid(caption, flat_objects))
    for key, value in figures.items():
        label = f"{caption}: {key}" if caption else key
        if key in flat_objects or _scalar(value):
            continue
        if isinstance(value, dict):
            sub, sub_lines = tables(value, label)
            out += sub
            lines += sub_lines
        elif all(_scalar(x) for x in value):
            lines.append(f"{label}: {', '.join(fmt(x) for x in value) if value else 'none'}")
        elif all(isinstance(x, dict) and all(_shallow(v) for v in x.values()) for x in value):
            rows = [_flat(x) for x in value]
            keys = _union(rows)
            out.append((label, keys, [[r.get(k) for k in keys] for r in rows]))
        elif all(isinstance(x, (list, tuple)) for x in value):
            width = max((len(x) for x in value), default=0)
            out.append((label, [str(i + 1) for i in range(width)], list(value)))
        else:
            for i, item in enumerate(value, start=1):
                sub, sub_lines = tables(item, f"{label} {i}")
                out += sub
                lines += sub_lines
    return out, lines


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        return fmt(v).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


# -- the page -----------------------------------------------------------------------
HEADER = """\
# Benchmarks

<!-- Written by bench/write_docs.py: edit bench/recorded/*.md or the scripts, not this file. -->

Every figure here comes from a script in `bench/`. `make bench` (`python bench/run_all.py`)
runs them all in small mode, keeps each script's `--json` output in `bench/results/`
and rewrites this page from them; `python bench/run_all.py --only NAME` reruns one
and leaves the others' latest runs in place, and `--full` uses the large sizes where a
script has them. `bench_throughput.py`, `bench_ingest.py` and `bench_startup.py` also
take `--baseline REF`: the same measurements on commit REF's code (checked out into a
temporary git worktree) and on the current code, alternately, before and after in one run.

The machine is a 2-core development machine shared with other work: read ratios
measured side by side, not absolute numbers. Under each benchmark, **Latest run** is
what the last `make bench` wrote; **Recorded earlier** holds figures measured by hand
before this page was generated (larger sizes, before/after runs), each with the
command that produced it, kept in `bench/recorded/NAME.md`. A small-size run does not
reproduce them, so they stay beside it; remove a benchmark's file once a run at the same
sizes has replaced its figures.
"""


def load_results(results: Path = RESULTS) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(results.glob("*.json"))}


def load_recorded(recorded: Path = RECORDED) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8").strip() for p in sorted(recorded.glob("*.md"))}


def _run_section(run: dict) -> list[str]:
    out = [
        f"`{run['command']}`, {run['date']}, commit {run.get('commit') or 'unknown'}; "
        f"{run.get('environment', '')}; {run['seconds']} s, "
        + ("exit 0." if run["exit_code"] == 0 else f"**exit {run['exit_code']}** (a check failed).")
    ]
    if run.get("figures") is None:
        out += ["", "This script prints its figures but writes no JSON."]
        return out
    found, lines = tables(run["figures"])
    for caption, columns, rows in found:
        out.append("")
        if caption:
            out += [f"*{caption}*", ""]
        out += markdown_table(columns, rows)
    if lines:
        out.append("")
        out += [f"- {line}" for line in lines]
    return out


def render(results: dict[str, dict], recorded: dict[str, str]) -> str:
    names = [n for n in TITLES if n in results or n in recorded]
    names += sorted(n for n in {*results, *recorded} if n not in TITLES)
    out = [HEADER]
    out += ["## Contents", ""]
    out += [f"- [{TITLES.get(n, n)}](#{anchor(TITLES.get(n, n))})" for n in names]
    for name in names:
        out += ["", f"## {TITLES.get(name, name)}", ""]
        if name in results:
            out += ["### Latest run", "", *_run_section(results[name]), ""]
        elif (ROOT / "bench" / f"bench_{name}.py").exists():
            out += ["### Latest run", "", "No `make bench` run has written this benchmark's figures yet.", ""]
        if name in recorded:
            out += ["### Recorded earlier", "", recorded[name]]
    return "\n".join(out).rstrip() + "\n"


def anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def write(page: Path = PAGE, results: Path = RESULTS, recorded: Path = RECORDED) -> Path:
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(load_results(results), load_recorded(recorded)), encoding="utf-8")
    return page


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the page is not what it renders")
    args = ap.parse_args(argv)
    if args.check:
        want = render(load_results(), load_recorded())
        have = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if want != have:
            print(f"{PAGE.relative_to(ROOT)} differs from what bench/write_docs.py renders", file=sys.stderr)
            return 1
        return 0
    print(f"wrote {write().relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
