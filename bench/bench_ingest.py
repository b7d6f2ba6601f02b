"""JSONL ingest rate: a fresh SQLite database, then the same file again.

    python bench/bench_ingest.py                 # 20,000 rows
    python bench/bench_ingest.py --full          # 100,000 rows
    python bench/bench_ingest.py --rows 50000 --profile   # and the top of a cProfile
    python bench/bench_ingest.py --full --baseline 78e9c38^ --rounds 1   # before and after

The file is synthetic but shaped like a real export: a title, an abstract of
about 1,000 characters, 3 to 8 authors drawn from a pool with skewed
popularity (some with an ORCID), one to three affiliations, categories, a
publication date, an arXiv id, DOI or own id, a citation count; one row in
500 is bad (a missing abstract, an unknown field, a malformed date) and must
come back as a per-row error. Each pass is one ``annotator.ingest.store.
ingest_paths`` call into the same database; the second must change nothing.

Beside wall time the script reports CPU time (this process and any it waited
for): the machine is shared, and CPU rows/s moves less with the load. Two more
figures say where the time goes: reading and validating the file alone
(``read_records``), and the SQLite floor: the rows the ingest stored, inserted
again into an empty database of the same schema with bare ``sqlite3``
executemany calls, in batches of the same size, one commit each.

``--baseline REF`` runs the same measurement on an earlier commit's code too
(``_baseline``); the script only uses APIs that commit had (``ingest_paths``,
``open_db``, ``read_records``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _util import CODE, environment, print_table

import annotator
from annotator.db import open_db
from annotator.ingest import read_records
from annotator.ingest.store import IngestSummary, ingest_paths

# the write tables in the order an ingest fills them (parents first)
TABLES = ("authors", "affiliations", "papers", "authorships", "paper_affiliations", "paper_metrics")
FLOOR_BATCH = 2000

FIRST = (
    "Ana",
    "Bo",
    "Chen",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jon",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomás",
    "Uma",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoë",
)
LAST = (
    "Adams",
    "Becker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hansen",
    "Ito",
    "Jensen",
    "Kim",
    "López",
    "Müller",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quint",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Wang",
    "Xu",
    "Yamada",
    "Zhang",
)
PLACES = ("University", "Institute of Technology", "Research Lab", "College", "Centre")
CITIES = (
    "Berlin",
    "Tokyo",
    "Toronto",
    "Lagos",
    "Lyon",
    "Austin",
    "Seoul",
    "Madrid",
    "Oslo",
    "Cairo",
    "Lima",
    "Pune",
    "Perth",
    "Zurich",
    "Boston",
    "Kyoto",
    "Prague",
    "Nairobi",
)
CATS = ("cs.CL", "cs.LG", "cs.AI", "cs.CV", "stat.ML", "cs.IR", "cs.RO", "math.OC", "q-bio.NC")
WORDS = (
    "model",
    "language",
    "learning",
    "graph",
    "transformer",
    "attention",
    "robust",
    "sparse",
    "retrieval",
    "reasoning",
    "benchmark",
    "dataset",
    "training",
    "inference",
    "scaling",
    "alignment",
    "policy",
    "gradient",
    "kernel",
    "latent",
    "diffusion",
    "token",
    "we",
    "propose",
    "show",
    "that",
    "the",
    "a",
    "of",
    "and",
    "with",
    "for",
    "on",
    "in",
)


def _names() -> list[str]:
    """A pool of about 40,000 names, drawn with skewed popularity."""
    return [
        f"{FIRST[i % 26]} {chr(65 + (i // 26) % 26)}. {LAST[(i // 676) % 26]}"
        + (f" {i // 17576}" if i >= 17576 else "")
        for i in range(40_000)
    ]


def _text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out).capitalize() + "."


def make_rows(n: int, seed: int = 7) -> list[str]:
    """``n`` JSONL lines; every 500th one is bad in one of three ways."""
    rng = random.Random(seed)
    names = _names()
    affs = [f"{c} {p}" for c in CITIES for p in PLACES]
    lines = []
    for i in range(n):
        picks = list(
            dict.fromkeys(
                min(int(rng.paretovariate(0.6)) - 1, len(names) - 1)
                if rng.random() < 0.3
                else rng.randrange(len(names))
                for _ in range(rng.randint(3, 8))
            )
        )
        authors: list[object] = [names[k] for k in picks]
        if picks[0] % 5 == 0:  # some authors always come with their ORCID
            authors[0] = {"name": names[picks[0]], "orcid": f"0000-0002-{picks[0]:08d}"}
        cats = rng.sample(CATS, rng.randint(1, 3))
        row: dict[str, object] = {
            "title": f"{_text(rng, 60)} ({i})",
            "abstract": _text(rng, 1000),
            "authors": authors,
            "affiliations": rng.sample(affs, rng.randint(1, 3)),
            "categories": cats,
            "published": f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "citations": rng.randint(0, 500),
            "venue": rng.choice(["NeurIPS", "ICML", "ACL", None]),
        }
        kind = i % 3
        if kind == 0:
            row["arxiv_id"] = f"{2100 + i // 90000}.{i % 90000 + 10000:05d}"
        elif kind == 1:
            row["doi"] = f"10.1234/bench.{i}"
        else:
            row["id"] = f"bench-{i}"
        if i % 500 == 499:
            bad = (i // 500) % 3
            if bad == 0:
                del row["abstract"]
            elif bad == 1:
                row["abstarct"] = "typo"
            else:
                row["published"] = "last spring"
        lines.append(json.dumps(row, ensure_ascii=False))
    return lines


def cpu_now() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def timed(db: str, path: Path, profile: bool) -> tuple[float, float, IngestSummary, str]:
    """Wall seconds, CPU seconds, the summary, a profile report."""
    engine = open_db(db)
    prof = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), cpu_now()
    if prof:
        prof.enable()
    summary = ingest_paths(engine, [path])
    if prof:
        prof.disable()
    elapsed, cpu = time.perf_counter() - start, cpu_now() - cpu
    engine.dispose()
    report = ""
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
        report = out.getvalue()
    return elapsed, cpu, summary, report


def reading(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds to read and validate the file, nothing stored."""
    start, cpu = time.perf_counter(), cpu_now()
    for _ in read_records(path):
        pass
    return time.perf_counter() - start, cpu_now() - cpu


def sqlite_floor(stored: str, empty: str) -> tuple[float, float]:
    """Wall and CPU seconds of bare sqlite3 inserting the rows ``stored`` holds into
    ``empty`` (same schema, the project's pragmas), a batch of papers and their rows
    per transaction."""
    src = sqlite3.connect(stored)
    data = {t: src.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}
    width = {t: len(src.execute(f"SELECT * FROM {t} LIMIT 0").description) for t in TABLES}
    src.close()
    ids = [r[0] for r in data["papers"]]
    by_paper = {"authorships": 0, "paper_affiliations": 0, "paper_metrics": 1}
    batches = []
    for lo in range(0, len(ids), FLOOR_BATCH):
        first, last = ids[lo], ids[min(lo + FLOOR_BATCH, len(ids)) - 1]
        batches.append(
            {
                "papers": data["papers"][lo : lo + FLOOR_BATCH],
                **{t: [r for r in data[t] if first <= r[col] <= last] for t, col in by_paper.items()},
            }
        )
    dst = sqlite3.connect(empty, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "cache_size=-65536"):
        dst.execute(f"PRAGMA {pragma}")
    sql = {t: f"INSERT INTO {t} VALUES ({', '.join('?' * width[t])})" for t in TABLES}
    start, cpu = time.perf_counter(), cpu_now()
    dst.execute("BEGIN IMMEDIATE")
    for t in ("authors", "affiliations"):
        dst.executemany(sql[t], data[t])
    dst.execute("COMMIT")
    for batch in batches:
        dst.execute("BEGIN IMMEDIATE")
        for t, rows in batch.items():
            dst.executemany(sql[t], rows)
        dst.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, cpu_now() - cpu
    dst.close()
    return elapsed, cpu


def measure(n: int, profile: bool) -> dict:
    """Both passes over a fresh file and database, then the reading and floor figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "papers.jsonl"
        path.write_text("\n".join(make_rows(n)) + "\n", encoding="utf-8")
        db = str(Path(tmp) / "ingest.db")
        first_s, first_cpu, first, prof1 = timed(db, path, profile)
        again_s, again_cpu, again, prof2 = timed(db, path, profile)
        read_s, read_cpu = reading(path)
        empty = str(Path(tmp) / "empty.db")
        open_db(empty).dispose()
        floor_s, floor_cpu = sqlite_floor(db, empty)
    for report in (prof1, prof2):
        if report:
            print(report)
    bad = sum(1 for i in range(n) if i % 500 == 499)
    problems = []
    if first.new != n - bad or first.rejected != bad or len(first.errors) != bad:
        problems.append(f"first pass: new {first.new}, rejected {first.rejected}")
    if again.new or again.updated or again.unchanged != n - bad or again.rejected != bad:
        problems.append(
            f"second pass: new {again.new}, updated {again.updated}, "
            f"unchanged {again.unchanged}, rejected {again.rejected}"
        )
    if any(e.line is None or e.path is None for e in first.errors):
        problems.append("an error without its file and line")
    return {
        "rows": n,
        "code": str(Path(annotator.__file__).parent.parent),
        "problems": problems,
        "fresh": {"seconds": first_s, "cpu": first_cpu, "result": f"{first.new:,} new, {first.rejected} rejected"},
        "again": {
            "seconds": again_s,
            "cpu": again_cpu,
            "result": f"{again.unchanged:,} unchanged, {again.updated} updated, {again.rejected} rejected",
        },
        "reading": {"seconds": read_s, "cpu": read_cpu},
        "floor": {"seconds": floor_s, "cpu": floor_cpu},
    }


PASSES = (
    ("fresh", "fresh database"),
    ("again", "same file again"),
    ("reading", "reading + validating only"),
    ("floor", "SQLite floor (bare executemany)"),
)


def print_one(fig: dict) -> None:
    n = fig["rows"]
    print_table(
        f"ingest_paths, {n:,} JSONL rows into SQLite",
        ["pass", "seconds", "rows/s", "CPU s", "rows/CPU s", "ms/row CPU", "result"],
        [
            [
                label,
                f"{fig[k]['seconds']:.1f}",
                f"{n / fig[k]['seconds']:,.0f}",
                f"{fig[k]['cpu']:.1f}",
                f"{n / fig[k]['cpu']:,.0f}",
                f"{fig[k]['cpu'] / n * 1e3:.3f}",
                fig[k].get("result", ""),
            ]
            for k, label in PASSES
        ],
        notes=fig["problems"]
        or [
            "second pass changed nothing; every bad row reported with file and line",
            "CPU s: this process and the children it waited for; steadier than wall time on a busy machine",
        ],
    )


def print_pairs(pairs: list[tuple[dict, dict]], ref: str) -> None:
    """Before and after per pass: the median over rounds of rows/s and rows per CPU s."""
    from _baseline import commit_of

    n = pairs[0][0]["rows"]

    def med(side: int, key: str, what: str) -> float:
        return statistics.median(n / pair[side][key][what] for pair in pairs)

    rows = []
    for key, label in PASSES[:2]:
        wall_b, wall_a = med(0, key, "seconds"), med(1, key, "seconds")
        cpu_b, cpu_a = med(0, key, "cpu"), med(1, key, "cpu")
        rows.append(
            [label, f"{wall_b:,.0f}", f"{wall_a:,.0f}", f"{cpu_b:,.0f}", f"{cpu_a:,.0f}", f"{cpu_a / cpu_b:.2f}x"]
        )
    for key, label in PASSES[2:]:  # the same script's work on either side's code and schema
        rows.append(
            [
                label,
                f"{med(0, key, 'seconds'):,.0f}",
                f"{med(1, key, 'seconds'):,.0f}",
                f"{med(0, key, 'cpu'):,.0f}",
                f"{med(1, key, 'cpu'):,.0f}",
                f"{med(1, key, 'cpu') / med(0, key, 'cpu'):.2f}x",
            ]
        )
    problems = [
        f"{side}: {p}"
        for before, after in pairs
        for side, fig in (("before", before), ("after", after))
        for p in fig["problems"]
    ]
    print_table(
        f"ingest_paths, {n:,} JSONL rows into SQLite: {ref} ({commit_of(ref)}) and "
        f"the current code, {len(pairs)} round(s)",
        ["pass", "before rows/s", "after rows/s", "before rows/CPU s", "after rows/CPU s", "CPU ratio"],
        rows,
        notes=problems
        or [
            "median over rounds; the two sides of a round ran back to back",
            "both passes gave the expected counts on both sides; bad rows reported with file and line",
            "reading: each side's reader; floor: the same inserts into each side's schema (see the module doc)",
        ],
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=None, help="JSONL rows (default 20,000)")
    ap.add_argument("--full", action="store_true", help="100,000 rows")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of each pass")
    ap.add_argument("--baseline", metavar="REF", help="also measure this commit's code (git worktree), side by side")
    ap.add_argument("--rounds", type=int, default=1, help="with --baseline: rounds (default 1)")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = ap.parse_args()
    n = args.rows or (100_000 if args.full else 20_000)
    print(environment(), flush=True)
    if args.baseline:
        from _baseline import side_by_side

        argv = ["--rows", str(n)] + (["--profile"] if args.profile else [])
        pairs = side_by_side(Path(__file__).resolve(), argv, args.baseline, args.rounds)
        for before, _ in pairs:
            if Path(before["code"]).resolve() == Path(pairs[0][1]["code"]).resolve():
                raise SystemExit("the baseline run imported the current code")
        print_pairs(pairs, args.baseline)
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {"baseline": args.baseline, "rounds": [{"before": b, "after": a} for b, a in pairs]}, indent=1
                )
            )
        return 1 if any(b["problems"] or a["problems"] for b, a in pairs) else 0
    fig = measure(n, args.profile)
    if str(CODE) != fig["code"]:
        fig["problems"].append(f"imported {fig['code']}, expected {CODE}")
    print_one(fig)
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=1))
    return 1 if fig["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
