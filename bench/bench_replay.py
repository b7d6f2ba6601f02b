"""Replay speed: re-running N judgments from stored calls, with zero HTTP.

Stores N judgments (default 1,000) against the fake OpenAI server (its own
process), then re-runs the same N with ``--replay`` twice, in a private
database and prompts folder:

- new version: ``score@2`` differs from ``score@1`` only in its description,
  so every request is identical and is answered from ``llm_calls``;
- rebuild: the judgments of ``score@1`` are deleted and its tasks reset, and
  the finished annotation is re-run from its own stored calls.

Each replay must end with the same scores as the stored run and with zero
HTTP requests seen by the server; the script exits 1 otherwise.

    python bench/bench_replay.py                  # 1,000 papers
    python bench/bench_replay.py -n 5000 --concurrency 64 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOPICS = (
    "graph neural networks",
    "speech translation",
    "protein folding",
    "code generation",
    "robot grasping",
    "causal discovery",
    "federated learning",
    "image compression",
)


def write_papers(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            topic = TOPICS[i % len(TOPICS)]
            fh.write(
                json.dumps(
                    {
                        "id": f"bench-{i}",
                        "title": f"Paper {i}: revisiting {topic}",
                        "abstract": (
                            f"We revisit {topic} (instance {i}). Building on prior work we "
                            f"propose a simple method, evaluate it on {2 + i % 6} public "
                            f"benchmarks and improve the best reported result by {i % 13} "
                            "points. We release code and data. " * 3
                        ).strip(),
                        "authors": [f"Author {i % 97}", f"Author {(i * 7) % 89}"],
                    }
                )
                + "\n"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="papers (default 1000)")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="fake server latency when storing")
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    (work / "prompts" / "score").mkdir(parents=True)
    shutil.copy(ROOT / "prompts" / "score" / "v1.md", work / "prompts" / "score" / "v1.md")
    os.environ["ANNOTATOR_PROMPTS"] = str(work / "prompts")
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ANNOTATOR_DB"):
        os.environ.pop(var, None)

    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import text

    from annotator.db import open_db
    from annotator.db.engine import writer
    from annotator.ingest import ingest_paths
    from annotator.jobs.annotate import AnnotateOptions, annotate
    from annotator.prompts.admin import new_version
    from annotator.settings import get_settings
    from annotator.testing.fakeserver import FakeServerProcess

    db = str(work / "bench.db")
    engine = open_db(db)
    write_papers(work / "papers.jsonl", args.n)
    ingest_paths(engine, [str(work / "papers.jsonl")])

    def scores(version: str) -> dict:
        with engine.connect() as conn:
            return {
                r[0]: (r[1], r[2])
                for r in conn.execute(
                    text(
                        "SELECT j.paper_id, j.ai_score, j.novelty FROM judgments j JOIN prompt_versions pv "
                        "ON pv.id = j.prompt_version_id WHERE pv.version = :v"
                    ),
                    {"v": version},
                )
            }

    results = []
    ok = True
    with FakeServerProcess(latency_s=args.latency_ms / 1000) as fs:
        settings = get_settings(base_url=fs.base_url, api_key="sk-bench")

        def run(label: str, **opts) -> None:
            nonlocal ok
            fs.reset(keep_config=True)
            started = time.perf_counter()
            summary = annotate(
                engine, settings, AnnotateOptions(model=args.model, concurrency=args.concurrency, **opts)
            )
            seconds = time.perf_counter() - started
            http = len(fs.requests())
            results.append(
                {
                    "phase": label,
                    "papers": summary.done,
                    "failed": summary.failed,
                    "http_requests": http,
                    "cached": summary.cached,
                    "seconds": round(seconds, 3),
                    "papers_per_s": round(summary.done / seconds, 1) if seconds else None,
                }
            )
            if summary.done != args.n or summary.failed:
                ok = False

        run("store: score@1, fake server", prompt="score@1")
        stored = scores("1")

        path = new_version("score")
        path.write_text(path.read_text().replace("description: AI score", "description: Relabelled. AI score", 1))
        run("replay: score@2, identical requests", prompt="score@2", replay=True)
        same_v2 = scores("2") == stored

        with writer(engine).begin() as conn:
            pv = conn.execute(text("SELECT id FROM prompt_versions WHERE version = '1'")).scalar_one()
            conn.execute(text("DELETE FROM judgments WHERE prompt_version_id = :pv"), {"pv": pv})
            conn.execute(
                text("UPDATE tasks SET state = 'pending', attempts = 0 WHERE prompt_version_id = :pv"), {"pv": pv}
            )
        run("replay: score@1 rebuilt, judgments deleted", prompt="score@1", replay=True)
        same_v1 = scores("1") == stored

    table = Table(
        "phase",
        "papers",
        "HTTP requests",
        "seconds",
        "papers/s",
        title=f"replay of {args.n:,} judgments (concurrency {args.concurrency})",
    )
    for r in results:
        table.add_row(
            r["phase"],
            f"{r['papers']:,}",
            f"{r['http_requests']:,}",
            f"{r['seconds']:.2f}",
            f"{r['papers_per_s']:,.0f}",
        )
    Console(width=120).print(table)
    replays = results[1:]
    checks = {
        "replays sent no HTTP request": all(r["http_requests"] == 0 for r in replays),
        "replay of score@2 equals the stored scores": same_v2,
        "rebuilt score@1 equals the stored scores": same_v1,
        "every run judged every paper": ok,
    }
    for name, passed in checks.items():
        print(f"{'ok  ' if passed else 'FAIL'} {name}")
    if args.json:
        args.json.write_text(
            json.dumps({"n": args.n, "concurrency": args.concurrency, "results": results, "checks": checks}, indent=2)
            + "\n"
        )
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
