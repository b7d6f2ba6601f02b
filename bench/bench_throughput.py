"""Throughput: the annotator's async runner against a naive sequential loop.

A fake OpenAI-compatible server runs in its own process and answers every
request after a fixed latency (200 ms by default). The naive loop is what one
would write first: ``openai.OpenAI().chat.completions.create`` one paper after
another, then ``json.loads`` and pydantic validation, no database. The runner
is the real thing: ``annotator.jobs.annotate.annotate`` on a SQLite database
(queue, leases, batched writes, every call stored), at several concurrencies.

    python bench/bench_throughput.py            # 400 papers; naive and c=1 on 20
    python bench/bench_throughput.py --full     # 2,000 papers; naive and c=1 on 100
    python bench/bench_throughput.py --latency-ms 0 --concurrency 32,128   # the client's cost
    python bench/bench_throughput.py --latency-ms 0 --baseline 753169d^   # before/after in one run
    python bench/bench_throughput.py --full --concurrency 64 --workers 2  # two worker processes

At 200 ms a sequential run judges 5 papers/s, so 2,000 papers would take
400 s: the naive loop and concurrency 1 run on ``--slow-papers`` papers and
the table says so. Target: concurrency 32 at least 25x the naive loop. At
0 ms the server answers at once, the naive loop runs on every paper, and the
target is concurrency 32 at the naive loop's rate: what the queue, storage and
accounting cost shows up undiluted (the fake server shares the same cores).

``--workers N`` runs N processes at the given concurrency each on one shared queue
(queued beforehand, timed from a common start). ``--baseline REF`` runs the same
measurements on commit REF's code and on the current code, alternately
(``_baseline.py``), and prints them side by side with the client's CPU per paper.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from _util import environment, print_table

TARGET_C, TARGET_RATIO = 32, 25.0
# the client process's CPU time per paper (ms) of each run, by run name: on a shared
# machine a steadier measure of the client's own cost than papers per second
CPU_MS: dict[str, float] = {}


def make_corpus(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "id": f"bench-{i}",
                        "title": f"Benchmark paper {i} on sparse attention",
                        "abstract": (
                            f"We study problem {i}. " + "We propose a method and evaluate it "
                            "on standard benchmarks with careful ablations. " * 6
                        ).strip(),
                        "authors": [f"Author {i % 50}", f"Author {(i * 7) % 50}"],
                    }
                )
                + "\n"
            )
    return path


def naive_loop(base_url: str, papers: list[tuple[str, str]]) -> float:
    """papers/s of the sequential openai + json.loads + pydantic loop."""
    import openai

    from annotator.prompts.files import load_prompt
    from annotator.prompts.schema import JudgmentReply

    prompt = load_prompt("score")
    client = openai.OpenAI(base_url=base_url, api_key="sk-bench")
    started, cpu = time.perf_counter(), time.process_time()
    for title, abstract in papers:
        reply = client.chat.completions.create(
            model="naive",
            messages=prompt.render(title=title, abstract=abstract),
            temperature=0.0,
            max_tokens=300,
            response_format={"type": "json_object"},
        )
        JudgmentReply.model_validate(json.loads(reply.choices[0].message.content))
    CPU_MS["naive"] = 1000 * (time.process_time() - cpu) / len(papers)
    return len(papers) / (time.perf_counter() - started)


def runner(db: str, base_url: str, concurrency: int, limit: int) -> tuple[float, int]:
    """papers/s of ``annotate`` at one concurrency (a fresh model name: a fresh queue)."""
    from annotator.db import open_db
    from annotator.jobs.annotate import AnnotateOptions, annotate
    from annotator.settings import get_settings

    settings = get_settings(base_url=base_url, api_key="sk-bench")
    opts = AnnotateOptions(model=f"bench-c{concurrency}", concurrency=concurrency, limit=limit, use_cache=False)
    started, cpu = time.perf_counter(), time.process_time()
    summary = annotate(open_db(db), settings, opts)
    wall = time.perf_counter() - started
    CPU_MS[f"c{concurrency}"] = 1000 * (time.process_time() - cpu) / max(summary.done, 1)
    if summary.failed:
        raise SystemExit(f"c={concurrency}: {summary.failed} papers failed: {summary.failures[:3]}")
    return summary.done / wall, summary.done


def compare_with(ref: str, rounds: int) -> None:
    """Run this benchmark on commit ``ref``'s code and on the current code, alternately."""
    import sys

    from _baseline import commit_of, side_by_side

    argv = []
    skip = False
    for arg in sys.argv[1:]:  # the same arguments, less the comparison's own
        if skip:
            skip = False
        elif arg in ("--baseline", "--rounds", "--json"):
            skip = True
        elif not arg.startswith(("--baseline=", "--rounds=", "--json=")):
            argv.append(arg)
    pairs = side_by_side(Path(__file__), argv, ref, rounds)
    first = pairs[0][1]
    rows = []
    for i, (before, after) in enumerate(pairs, 1):
        rows.append(
            (
                f"naive loop (round {i})",
                f"{before['naive_papers_per_s']:.1f}",
                f"{after['naive_papers_per_s']:.1f}",
                "",
                "",
                _cpu(before.get("naive_cpu_ms")),
                _cpu(after.get("naive_cpu_ms")),
            )
        )
        for b, a in zip(before["runs"], after["runs"]):
            label = f"annotate, concurrency {a['concurrency']}" + (
                f" x {a['workers']} processes" if a.get("workers", 1) > 1 else ""
            )
            rows.append(
                (
                    f"{label} (round {i})",
                    f"{b['papers_per_s']:.1f}",
                    f"{a['papers_per_s']:.1f}",
                    f"{b['papers_per_s'] / before['naive_papers_per_s']:.2f}x",
                    f"{a['papers_per_s'] / after['naive_papers_per_s']:.2f}x",
                    _cpu(b.get("cpu_ms")),
                    _cpu(a.get("cpu_ms")),
                )
            )
    notes = [
        f"before: commit {commit_of(ref)}; after: the current tree; each round runs the two "
        f"back to back on the same machine",
        f"latency {first['latency_ms']:.0f} ms, {first['papers']} papers per concurrent run",
    ]
    print_table(
        "throughput before and after (papers/s)",
        ("run", "before", "after", "before vs naive", "after vs naive", "CPU ms/paper before", "after"),
        rows,
        notes,
    )


def _cpu(ms: float | None) -> str:
    return "" if ms is None else f"{ms:.2f}"


def _worker_process(db: str, base_url: str, model: str, concurrency: int, ready, go, out) -> None:
    """One of ``--workers`` processes: set up, wait for the start, run the shared queue dry."""
    from annotator.db import open_db
    from annotator.jobs.annotate import AnnotateOptions, annotate
    from annotator.settings import get_settings

    settings = get_settings(base_url=base_url, api_key="sk-bench")
    engine = open_db(db)
    ready.put(1)
    go.wait()
    cpu = time.process_time()
    summary = annotate(engine, settings, AnnotateOptions(model=model, concurrency=concurrency, use_cache=False))
    out.put((summary.done, summary.failed, time.process_time() - cpu))


def workers_run(db: str, base_url: str, concurrency: int, limit: int, workers: int) -> tuple[float, int]:
    """papers/s of ``workers`` processes, each running ``annotate`` at ``concurrency``, on one
    queue of ``limit`` papers queued beforehand (timed from a common start to the last exit)."""
    import multiprocessing

    from annotator.db import open_db
    from annotator.jobs.annotate import AnnotateOptions, annotate
    from annotator.settings import get_settings

    model = f"bench-c{concurrency}x{workers}"
    # limit 0: queue every paper, judge none (the runner stops before its first claim)
    annotate(
        open_db(db),
        get_settings(base_url=base_url, api_key="sk-bench"),
        AnnotateOptions(model=model, limit=0, use_cache=False),
    )
    ctx = multiprocessing.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_worker_process, args=(db, base_url, model, concurrency, ready, go, out))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get()
    started = time.perf_counter()
    go.set()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - started
    for proc in procs:
        proc.join()
    failed = sum(f for _, f, _ in results)
    if failed:
        raise SystemExit(f"{failed} papers failed with {workers} workers")
    done = sum(d for d, _, _ in results)
    CPU_MS[f"c{concurrency}"] = 1000 * sum(c for _, _, c in results) / max(done, 1)  # all workers'
    return done / wall, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="The issue's sizes: 2,000 papers, 100 slow.")
    ap.add_argument("--papers", type=int, default=None, help="Papers per concurrent run.")
    ap.add_argument("--slow-papers", type=int, default=None, help="Papers for the naive loop and concurrency 1.")
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", default="1,8,32,128")
    ap.add_argument("--json", dest="json_out", default=None, help="Write the figures here too.")
    ap.add_argument(
        "--baseline",
        default=None,
        metavar="REF",
        help="Also measure the code of commit REF, alternating with the current code "
        "(bench/_baseline.py), and print both side by side.",
    )
    ap.add_argument("--rounds", type=int, default=1, help="Before/after pairs with --baseline.")
    ap.add_argument(
        "--workers", type=int, default=1, help="Worker processes sharing the queue (each at the given concurrency)."
    )
    args = ap.parse_args()
    if args.baseline:
        compare_with(args.baseline, args.rounds)
        return
    papers = args.papers or (2000 if args.full else 400)
    # at 0 ms a sequential stream is as fast as the client: time it on every paper
    slow_default = papers if args.latency_ms <= 0 else (100 if args.full else 20)
    slow = min(papers, args.slow_papers or slow_default)
    levels = [int(c) for c in args.concurrency.split(",")]
    os.environ.setdefault("ANNOTATOR_RETRY_WAIT_SCALE", "1")

    from annotator.db import open_db
    from annotator.db.engine import dispose_all
    from annotator.ingest import ingest_paths
    from annotator.testing.fakeserver import FakeServerProcess

    print(f"throughput: {papers} papers at {args.latency_ms:.0f} ms latency; {environment()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, FakeServerProcess(latency_s=args.latency_ms / 1000) as fs:
        db = str(Path(tmp) / "bench.db")
        corpus = make_corpus(Path(tmp) / "papers.jsonl", papers)
        ingest_paths(open_db(db), [str(corpus)])
        with open(corpus, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh][:slow]
        naive = naive_loop(fs.base_url, [(r["title"], r["abstract"]) for r in rows])
        print(f"  naive loop: {naive:.2f} papers/s on {slow} papers", flush=True)
        results = []
        for c in levels:
            n = slow if c == 1 else papers
            if args.workers > 1 and c > 1:
                rate, done = workers_run(db, fs.base_url, c, n, args.workers)
            else:
                rate, done = runner(db, fs.base_url, c, n)
            print(f"  concurrency {c}: {rate:.1f} papers/s on {done} papers", flush=True)
            results.append((c, done, rate))
        served = fs.stats()["total"]
        dispose_all()

    rows = [("naive loop (sequential)", slow, f"{naive:.2f}", "1.0x")]
    procs = f" x {args.workers} processes" if args.workers > 1 else ""
    rows += [
        (f"annotate, concurrency {c}{procs if c > 1 else ''}", done, f"{rate:.1f}", f"{rate / naive:.1f}x")
        for c, done, rate in results
    ]
    if args.latency_ms > 0:
        most = max(levels) * (args.workers if max(levels) > 1 else 1)
        ideal = (
            f"latency {args.latency_ms:.0f} ms per request: one sequential stream is at most "
            f"{1000.0 / args.latency_ms:.1f} papers/s; {most} streams at most "
            f"{most * 1000.0 / args.latency_ms:.0f}"
        )
    else:
        ideal = (
            "latency 0 ms: the server answers at once, so the figures measure the "
            "client's own overhead (and the server's, on the same cores)"
        )
    notes = [
        ideal,
        f"naive loop and concurrency 1 measured on {slow} papers, the others on {papers}",
        f"fake server answered {served} requests; fake server in a separate process",
    ]
    target = [r for c, _, r in results if c == TARGET_C]
    verdict = None
    # at 0 ms latency concurrency cannot hide anything: the target is the naive loop's rate
    goal = TARGET_RATIO if args.latency_ms > 0 else 1.0
    if target:
        ratio = target[0] / naive
        verdict = ratio >= goal
        if papers >= 2000:
            notes.append(
                f"target: concurrency {TARGET_C} >= {goal:.0f}x naive -> {ratio:.1f}x {'PASS' if verdict else 'FAIL'}"
            )
        else:  # start-up (prompt, queueing) weighs more on a short run
            verdict = None
            notes.append(
                f"target (concurrency {TARGET_C} >= {goal:.0f}x naive) is for "
                f"2,000 papers (--full); at {papers} papers: {ratio:.1f}x, indicative only"
            )
    if args.latency_ms > 0:
        for c, _, r in results:
            streams = c * (args.workers if c > 1 else 1)  # every worker process has c streams
            allowed = streams * 1000.0 / args.latency_ms
            if c > 1 and allowed <= 1000:  # where the streams, not the client, set the limit
                notes.append(
                    f"concurrency {c}{procs}: {r:.0f} of the {allowed:.0f} papers/s "
                    f"{streams} streams allow ({100 * r / allowed:.0f} %)"
                )
    print_table("annotator throughput vs the naive loop", ("run", "papers", "papers/s", "vs naive"), rows, notes)
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                {
                    "latency_ms": args.latency_ms,
                    "papers": papers,
                    "slow_papers": slow,
                    "naive_papers_per_s": naive,
                    "naive_cpu_ms": CPU_MS.get("naive"),
                    "runs": [
                        {
                            "concurrency": c,
                            "papers": d,
                            "papers_per_s": r,
                            "workers": args.workers if c > 1 else 1,
                            "cpu_ms": CPU_MS.get(f"c{c}"),
                        }
                        for c, d, r in results
                    ],
                    "target_pass": verdict,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
