"""Start-up: the wall time of short ``annotator`` commands, beside ``python -c pass``.

Each command runs ``--runs`` times (10 by default) in a fresh interpreter, and the
median is reported: ``--version`` and ``--help`` (target: under 0.5 s, which needs
them to import neither the openai client nor the database layer), then two commands
that read a small database (``queue --json`` and ``authors show``), which import
what they need and nothing more.

    python bench/bench_startup.py
    python bench/bench_startup.py --runs 20 --json startup.json
    python bench/bench_startup.py --baseline 038b72a --rounds 2   # before the lazy loading

The commands run as ``python -c "from annotator.cli import main; main()" ARGS`` with
the code under test first on ``PYTHONPATH`` (the same as the installed ``annotator``
script, which only calls ``main``). The database (200 papers, 20 authors, 200 queued
tasks) is written by the code under test, in a temporary folder. ``--baseline REF``
measures commit REF's code and the current code alternately (``_baseline.py``) and
prints the medians side by side; on a shared machine compare the two columns of one
run, not figures of different runs. The CPU column (user + system seconds of the
child, median) moves less with the load of the machine than the wall time does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import CODE, environment, print_table

TARGET_S = 0.5  # --version and --help
RUN = "import sys; sys.argv[0] = 'annotator'; from annotator.cli import main; main()"
AUTHOR = "Author 3"
COMMANDS = {  # label -> argv after the interpreter (None: python -c pass)
    "python -c pass": None,
    "annotator --version": ["--version"],
    "annotator --help": ["--help"],
    "annotator queue --json": ["queue", "--json"],
    f"annotator authors show '{AUTHOR}'": ["authors", "show", AUTHOR],
}
TARGETED = ("annotator --version", "annotator --help")


def child_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANNOTATOR_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CODE), os.environ.get("PYTHONPATH")]))
    env["ANNOTATOR_DB"] = str(db)
    env["COLUMNS"] = "100"
    return env


def annotator(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUN, *args], env=env, cwd=cwd, capture_output=True, text=True)


def make_database(folder: Path, env: dict[str, str]) -> None:
    """200 papers by 20 authors, each paper queued once (nothing judged)."""
    papers = folder / "papers.jsonl"
    with open(papers, "w", encoding="utf-8") as fh:
        for i in range(200):
            fh.write(
                json.dumps(
                    {
                        "id": f"startup-{i}",
                        "title": f"Start-up paper {i} on sparse attention",
                        "abstract": "We study a problem and propose a method with careful ablations. " * 4,
                        "authors": [f"Author {i % 20}", f"Author {(i * 7) % 20}"],
                    }
                )
                + "\n"
            )
    # an endpoint that is never called: --limit 0 queues the papers and judges none
    queue_env = {**env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "unused"}
    for args, e in (
        (["ingest", str(papers)], env),
        (["annotate", "--limit", "0", "--model", "startup-bench"], queue_env),
    ):
        done = subprocess.run([sys.executable, "-c", RUN, *args], env=e, cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"annotator {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_one(argv: list[str] | None, env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one run, and the problem when it failed ('' when it did not)."""
    cmd = [sys.executable, "-c", "pass"] if argv is None else [sys.executable, "-c", RUN, *argv]
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - started, children_cpu() - cpu
    if done.returncode != 0 or (argv is not None and not done.stdout.strip()):
        return seconds, cpu, f"{' '.join(argv or [])}: exit {done.returncode}, {done.stderr.strip()[-300:]}"
    return seconds, cpu, ""


def measure(runs: int) -> dict:
    """Median and fastest wall time of each command over ``runs`` runs, interleaved."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        folder = Path(tmp)
        env = child_env(folder / "startup.db")
        where = subprocess.run(
            [sys.executable, "-c", "import annotator; print(annotator.__file__)"],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        )
        code = str(Path(where.stdout.strip()).parent.parent)
        make_database(folder, env)
        times: dict[str, list[float]] = {label: [] for label in COMMANDS}
        cpus: dict[str, list[float]] = {label: [] for label in COMMANDS}
        for _ in range(runs):  # one of each per pass, so that a burst of load hits them all
            for label, argv in COMMANDS.items():
                seconds, cpu, problem = time_one(argv, env, folder)
                times[label].append(seconds)
                cpus[label].append(cpu)
                if problem and problem not in problems:
                    problems.append(problem)
    return {
        "environment": environment(),
        "code": code,
        "runs": runs,
        "median_s": {k: round(statistics.median(v), 4) for k, v in times.items()},
        "min_s": {k: round(min(v), 4) for k, v in times.items()},
        "cpu_median_s": {k: round(statistics.median(v), 4) for k, v in cpus.items()},
        "target_s": {k: TARGET_S for k in TARGETED},
        "problems": problems,
    }


def print_one(fig: dict) -> None:
    base = fig["median_s"]["python -c pass"]
    rows = [
        (
            label,
            f"{fig['median_s'][label]:.3f}",
            f"{fig['min_s'][label]:.3f}",
            f"{fig['median_s'][label] - base:.3f}",
            f"{fig['cpu_median_s'][label]:.3f}",
            (("yes" if fig["median_s"][label] < TARGET_S else "NO") if label in TARGETED else ""),
        )
        for label in COMMANDS
    ]
    print_table(
        f"start-up, median of {fig['runs']} runs (seconds): {fig['code']}",
        ["command", "median", "fastest", "minus python", "CPU", f"< {TARGET_S} s"],
        rows,
        notes=fig["problems"],
    )


def print_pairs(pairs: list[tuple[dict, dict]], ref: str) -> None:
    from _baseline import commit_of

    rows = []
    for i, (before, after) in enumerate(pairs, 1):
        for label in COMMANDS:
            b, a = before["median_s"][label], after["median_s"][label]
            bc, ac = before["cpu_median_s"][label], after["cpu_median_s"][label]
            rows.append(
                (
                    f"{label} (round {i})" if len(pairs) > 1 else label,
                    f"{b:.3f}",
                    f"{a:.3f}",
                    f"{b / a:.1f}x" if a else "-",
                    f"{bc:.3f}",
                    f"{ac:.3f}",
                    (("yes" if a < TARGET_S else "NO") if label in TARGETED else ""),
                )
            )
    runs = pairs[0][0]["runs"]
    print_table(
        f"start-up, median of {runs} runs (seconds): {ref} ({commit_of(ref)}) and the current code",
        ["command", "before", "after", "speed-up", "CPU before", "CPU after", f"after < {TARGET_S} s"],
        rows,
        notes=[p for b, a in pairs for p in b["problems"] + a["problems"]],
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    ap.add_argument("--baseline", metavar="REF", help="also measure this commit's code (git worktree), side by side")
    ap.add_argument("--rounds", type=int, default=1, help="with --baseline: rounds (default 1)")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = ap.parse_args()
    print(environment(), flush=True)
    if args.baseline:
        from _baseline import side_by_side

        pairs = side_by_side(Path(__file__).resolve(), ["--runs", str(args.runs)], args.baseline, args.rounds)
        for before, after in pairs:
            if Path(before["code"]).resolve() == Path(after["code"]).resolve():
                raise SystemExit("the baseline run imported the current code")
        print_pairs(pairs, args.baseline)
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {"baseline": args.baseline, "rounds": [{"before": b, "after": a} for b, a in pairs]}, indent=1
                )
            )
        return 1 if any(b["problems"] or a["problems"] for b, a in pairs) else 0
    fig = measure(args.runs)
    if Path(fig["code"]).resolve() != CODE.resolve():
        fig["problems"].append(f"imported {fig['code']}, expected {CODE}")
    print_one(fig)
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=1))
    return 1 if fig["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
