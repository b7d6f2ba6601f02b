"""Run every benchmark in this folder, one after another, and print their tables.

    python bench/run_all.py                 # small sizes (a few minutes)
    python bench/run_all.py --full          # the issue's sizes (throughput, rate limit, storage)
    python bench/run_all.py --only throughput,storage
    python bench/run_all.py --skip local_model
    python bench/run_all.py --no-docs       # leave bench/results and docs/benchmarks.md alone

Each ``bench_*.py`` runs as its own process (its output streams through);
``--full`` is passed to the scripts that take it and ``--json FILE`` to those that
write their figures. Each run is kept in ``bench/results/<name>.json`` (command, date,
commit, machine, figures), and ``write_docs.py`` then rewrites ``docs/benchmarks.md``
from every stored result: a script left out keeps its previous run on the page. A
summary of what ran, how long it took and whether it succeeded comes last. The exit
status is 1 when any script failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import environment, print_table
from write_docs import store_result, write

HERE = Path(__file__).resolve().parent
ORDER = ["throughput", "ratelimit", "storage"]  # ours first; then the rest by name
TAKES_FULL = {"throughput", "ratelimit", "storage"}
NEEDS = {"local_model": "llama_cpp"}  # skipped (and said so) when the module is missing


def takes_json(path: Path) -> bool:
    """The script has a ``--json FILE`` option (its argparse says so)."""
    return '"--json"' in path.read_text(encoding="utf-8")


def scripts() -> list[tuple[str, Path]]:
    found = {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    return [(n, found[n]) for n in names]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="The issue's sizes where a script has them.")
    ap.add_argument("--only", default=None, help="Comma-separated names (e.g. throughput,storage).")
    ap.add_argument("--skip", default="", help="Comma-separated names to leave out.")
    ap.add_argument("--no-docs", action="store_true", help="Store no results and leave docs/benchmarks.md as it is.")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    skip = set(filter(None, args.skip.split(",")))
    print(f"benchmarks ({'full' if args.full else 'small'} sizes); {environment()}\n", flush=True)
    summary, failed = [], False
    for name, path in scripts():
        if (only is not None and name not in only) or name in skip:
            continue
        missing = NEEDS.get(name)
        if missing and importlib.util.find_spec(missing) is None:
            summary.append((name, "skipped", "-", f"needs {missing}"))
            continue
        shown = [f"bench/{path.name}"] + (["--full"] if args.full and name in TAKES_FULL else [])
        cmd = [sys.executable, str(path), *shown[1:]]
        print(f"=== {name}: {' '.join(shown)}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"{name}.json"
            started = time.monotonic()
            rc = subprocess.run(cmd + (["--json", str(out)] if takes_json(path) else []), cwd=HERE.parent).returncode
            seconds = time.monotonic() - started
            figures = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
        if not args.no_docs:
            store_result(
                name, ["python", *shown], seconds=seconds, exit_code=rc, environment=environment(), figures=figures
            )
        failed |= rc != 0
        summary.append(
            (name, "ok" if rc == 0 else f"failed ({rc})", f"{seconds:.0f}", "--full" if "--full" in cmd else "defaults")
        )
        print(flush=True)
    print_table("benchmarks run", ("benchmark", "result", "seconds", "sizes"), summary)
    if not args.no_docs:
        print(f"wrote {write().relative_to(HERE.parent)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
