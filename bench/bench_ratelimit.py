"""Rate-limit adherence: ``annotator annotate --rpm R`` against a server enforcing R.

The fake server (its own process) admits at most R requests in any sliding
60-second window and answers the rest with 429 + Retry-After. The annotate
command runs as a subprocess with ``--rpm R`` and more concurrency than the
limit needs, so the client-side limiter is what keeps it under. Reported:
the achieved request rate (first to last request, from the server's records)
against the limit, the largest count in any 60 s window, and the 429s.

    python bench/bench_ratelimit.py            # --rpm 600 for about 20 s
    python bench/bench_ratelimit.py --full     # --rpm 600 for about 75 s

Target: at least 90 % of the limit, zero 429s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from pathlib import Path

from _util import ROOT, environment, print_table


def cli() -> list[str]:
    script = Path(sys.executable).with_name("annotator")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from annotator.cli import main; main()"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="Run about 75 s (the issue's size).")
    ap.add_argument("--rpm", type=int, default=600)
    ap.add_argument("--seconds", type=float, default=None, help="Target run length.")
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args()
    seconds = args.seconds or (75.0 if args.full else 20.0)
    papers = int(args.rpm / 60.0 * seconds)

    from annotator.testing.fakeserver import FakeServerProcess

    print(f"rate limit: --rpm {args.rpm}, {papers} papers (~{seconds:.0f} s); {environment()}", flush=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeServerProcess(rpm=args.rpm, rpm_window_s=60.0, latency_s=args.latency_ms / 1000) as fs,
    ):
        db = str(Path(tmp) / "rate.db")
        corpus = Path(tmp) / "papers.jsonl"
        with open(corpus, "w", encoding="utf-8") as fh:
            for i in range(papers):
                fh.write(
                    json.dumps(
                        {
                            "id": f"r{i}",
                            "title": f"Rate paper {i}",
                            "abstract": f"Abstract number {i} about rate limits.",
                        }
                    )
                    + "\n"
                )
        env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANNOTATOR_DB", "ANNOTATOR_MODEL")}
        env.update(ANNOTATOR_DB=db, OPENAI_BASE_URL=fs.base_url, OPENAI_API_KEY="sk-bench", PYTHONPATH=str(ROOT))
        subprocess.run(cli() + ["ingest", str(corpus)], env=env, check=True, capture_output=True, cwd=tmp)
        started = time.monotonic()
        run = subprocess.run(
            cli()
            + [
                "annotate",
                "--model",
                "rate-bench",
                "--rpm",
                str(args.rpm),
                "--concurrency",
                str(args.concurrency),
                "--no-cache",
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        wall = time.monotonic() - started
        if run.returncode != 0:
            raise SystemExit(f"annotate failed ({run.returncode}):\n{run.stderr[-2000:]}")
        records = fs.chat_requests()
        stats = fs.stats()

    times = sorted(r["time"] for r in records)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    achieved = (len(times) - 1) / span * 60.0 if span else 0.0
    window = max(bisect_left(times, t + 60.0) - i for i, t in enumerate(times))
    n429 = stats["status_429"]
    share = achieved / args.rpm
    ok = share >= 0.90 and n429 == 0
    rows = [
        ("requests sent", len(times)),
        ("429 responses", n429),
        ("achieved rate (rpm)", f"{achieved:.1f}"),
        ("limit (rpm)", args.rpm),
        ("achieved / limit", f"{share:.1%}"),
        ("most in any 60 s window", window),
        ("first to last request (s)", f"{span:.1f}"),
        ("annotate wall time (s)", f"{wall:.1f}"),
    ]
    print_table(
        f"annotate --rpm {args.rpm}",
        ("rate-limit adherence", "value"),
        rows,
        [
            f"server enforces {args.rpm} requests per sliding 60 s window, {args.latency_ms:.0f} ms latency, "
            f"client concurrency {args.concurrency}",
            "achieved rate = (requests - 1) / (last - first request time), from the server's records",
            f"target: >= 90% of the limit and 0 x 429 -> {'PASS' if ok else 'FAIL'}",
        ],
    )
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                {
                    "rpm": args.rpm,
                    "requests": len(times),
                    "status_429": n429,
                    "achieved_rpm": achieved,
                    "max_in_window": window,
                    "span_s": span,
                    "target_pass": ok,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
