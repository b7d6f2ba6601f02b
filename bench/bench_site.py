"""Benchmark: building the static site (``annotator site build``) for the seed page's database
and for a large synthetic one.

    python bench/bench_site.py                          # seed page + 100,000 papers
    python bench/bench_site.py --papers 1000000         # a million
    python bench/bench_site.py --db big.db --keep       # keep the synthetic database; reuse it next time
    python bench/bench_site.py --min-author-papers 3 10 # author pages for authors with >= 3, then >= 10 papers

The seed database is the feed page (45 papers) judged once through the fake
OpenAI-compatible server. The large one is ``bench_profiles.build``'s: N papers, N/5
authors with log-normal popularity, one judgment per paper, citations and metric
snapshots. Each build writes one page per paper, paged lists (``--page-size``), author
pages for authors with at least ``--min-author-papers`` papers, leaderboards and prompt
pages; the table gives the seconds per page type, the pages written and the size on disk.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import ROOT, environment, print_table  # noqa: E402
from bench_profiles import build  # noqa: E402

from annotator.db import open_db  # noqa: E402
from annotator.db.engine import dispose_all  # noqa: E402
from annotator.site import SiteSummary, build_site  # noqa: E402

SEED = ROOT / "tests" / "data" / "seed_profile.txt"  # an author's feed page, 45 papers


def seed_db(path: Path) -> None:
    """The seed page ingested and judged by the fake server."""
    import annotator
    from annotator.testing.fakeserver import FakeServer

    engine = annotator.open_db(str(path))
    annotator.ingest_files(engine, str(SEED))
    with FakeServer() as fs:
        annotator.annotate(engine, model="gpt-4o-mini", base_url=fs.base_url, api_key="sk-bench")


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def one_build(db: Path, out: Path, min_papers: int, page_size: int) -> tuple[SiteSummary, float, float]:
    """The summary, the CPU seconds of this process during the build, and the size in MB."""
    shutil.rmtree(out, ignore_errors=True)
    cpu = time.process_time()
    summary = build_site(open_db(str(db)), out, min_author_papers=min_papers, page_size=page_size)
    cpu = time.process_time() - cpu
    mb = size_mb(out)
    shutil.rmtree(out, ignore_errors=True)
    dispose_all()
    return summary, cpu, mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--papers", type=int, default=100_000)
    ap.add_argument("--db", type=Path, default=None, help="Synthetic database file (default: a temp file).")
    ap.add_argument("--keep", action="store_true", help="Keep the synthetic database; reuse it when it exists.")
    ap.add_argument("--min-author-papers", type=int, nargs="+", default=[20])
    ap.add_argument(
        "--work-dir",
        type=Path,
        default=ROOT / "build",
        help="Where the sites are written (then removed); file creation is slow on some /tmp mounts.",
    )
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--json", dest="json_out", default=None, help="Write the table here as JSON too.")
    args = ap.parse_args()
    os.environ.setdefault("ANNOTATOR_RETRY_WAIT_SCALE", "0")

    args.work_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-site-", dir=args.work_dir))
    rows = []
    try:
        builds: list[tuple[str, Path, list[int]]] = []
        if not args.skip_seed:
            seed_db(tmp / "seed.db")
            builds.append(("seed page", tmp / "seed.db", [1]))
        big = args.db or tmp / "big.db"
        if not (args.keep and big.exists()):
            big.unlink(missing_ok=True)
            print(f"building a {args.papers:,}-paper database ...", flush=True)
            build(big, args.papers)
        builds.append((f"{args.papers:,} papers", big, args.min_author_papers))
        for name, db, minimums in builds:
            for minimum in minimums:
                s, cpu, mb = one_build(db, tmp / "site", minimum, args.page_size)
                t = s.timings
                rows.append(
                    [
                        name,
                        f">= {minimum}",
                        f"{s.authors:,}",
                        f"{s.pages:,}",
                        f"{s.seconds:.1f}",
                        f"{cpu:.1f}",
                        f"{os.getloadavg()[0]:.1f}",
                        f"{t['paper pages']:.1f}",
                        f"{t['paper lists']:.1f}",
                        f"{t['author pages']:.1f}",
                        f"{t['leaderboards']:.1f}",
                        f"{mb:,.0f}",
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
    finally:
        if args.db is None or not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            if args.db is not None and not args.keep:
                args.db.unlink(missing_ok=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    columns = [
        "database",
        "author pages for",
        "authors",
        "pages",
        "total s",
        "CPU s",
        "load",
        "paper pages s",
        "lists s",
        "author pages s",
        "boards s",
        "MB",
    ]
    notes = [
        f"{args.page_size} papers a list page; one page per paper (folders of 1,000)",
        "total: wall-clock seconds, prompt and eval pages and the front page included; "
        "CPU s: this process's CPU time (on a shared machine the wall clock also measures "
        "the others: load is the 1-minute load average at the end)",
    ]
    print_table(f"site build ({environment()})", columns, rows, notes)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"columns": columns, "rows": rows, "notes": notes}, indent=1))


if __name__ == "__main__":
    main()
