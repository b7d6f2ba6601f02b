"""JSONL ingest rate: a fresh SQLite database, then the same file again.

    python bench/bench_ingest.py                 # 20,000 rows
    python bench/bench_ingest.py --full          # 100,000 rows
    python bench/bench_ingest.py --rows 50000 --profile   # and the top of a cProfile

The file is synthetic but shaped like a real export: a title, an abstract of
about 1,000 characters, 3 to 8 authors drawn from a pool with skewed
popularity (some with an ORCID), one to three affiliations, categories, a
publication date, an arXiv id, DOI or own id, a citation count; one row in
500 is bad (a missing abstract, an unknown field, a malformed date) and must
come back as a per-row error. Each pass is one ``annotator.ingest.store.
ingest_paths`` call into the same database; the second must change nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

from _util import environment, print_table

from annotator.ingest.store import IngestSummary, ingest_paths
from db import open_db

FIRST = ("Ana", "Bo", "Chen", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon",
         "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás",
         "Uma", "Vera", "Wei", "Ximena", "Yusuf", "Zoë")
LAST = ("Adams", "Becker", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ito",
        "Jensen", "Kim", "López", "Müller", "Nakamura", "Okafor", "Petrov", "Quint", "Rossi",
        "Schmidt", "Tanaka", "Ueda", "Varga", "Wang", "Xu", "Yamada", "Zhang")
PLACES = ("University", "Institute of Technology", "Research Lab", "College", "Centre")
CITIES = ("Berlin", "Tokyo", "Toronto", "Lagos", "Lyon", "Austin", "Seoul", "Madrid", "Oslo",
          "Cairo", "Lima", "Pune", "Perth", "Zurich", "Boston", "Kyoto", "Prague", "Nairobi")
CATS = ("cs.CL", "cs.LG", "cs.AI", "cs.CV", "stat.ML", "cs.IR", "cs.RO", "math.OC", "q-bio.NC")
WORDS = ("model", "language", "learning", "graph", "transformer", "attention", "robust",
         "sparse", "retrieval", "reasoning", "benchmark", "dataset", "training", "inference",
         "scaling", "alignment", "policy", "gradient", "kernel", "latent", "diffusion", "token",
         "we", "propose", "show", "that", "the", "a", "of", "and", "with", "for", "on", "in")


def _names() -> list[str]:
    """A pool of about 40,000 names, drawn with skewed popularity."""
    return [f"{FIRST[i % 26]} {chr(65 + (i // 26) % 26)}. {LAST[(i // 676) % 26]}"
            + (f" {i // 17576}" if i >= 17576 else "") for i in range(40_000)]


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
        picks = list(dict.fromkeys(
            min(int(rng.paretovariate(0.6)) - 1, len(names) - 1) if rng.random() < 0.3
            else rng.randrange(len(names)) for _ in range(rng.randint(3, 8))))
        authors: list[object] = [names[k] for k in picks]
        if picks[0] % 5 == 0:  # some authors always come with their ORCID
            authors[0] = {"name": names[picks[0]], "orcid": f"0000-0002-{picks[0]:08d}"}
        cats = rng.sample(CATS, rng.randint(1, 3))
        row: dict[str, object] = {
            "title": f"{_text(rng, 60)} ({i})", "abstract": _text(rng, 1000),
            "authors": authors, "affiliations": rng.sample(affs, rng.randint(1, 3)),
            "categories": cats, "published": f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-"
                                             f"{rng.randint(1, 28):02d}",
            "citations": rng.randint(0, 500), "venue": rng.choice(["NeurIPS", "ICML", "ACL", None]),
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


def timed(db: str, path: Path, profile: bool) -> tuple[float, float, IngestSummary, str]:
    """Wall seconds, CPU seconds of this process, the summary, a profile report."""
    engine = open_db(db)
    prof = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    summary = ingest_paths(engine, [path])
    if prof:
        prof.disable()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    report = ""
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
        report = out.getvalue()
    return elapsed, cpu, summary, report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=None, help="JSONL rows (default 20,000)")
    ap.add_argument("--full", action="store_true", help="100,000 rows")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of each pass")
    args = ap.parse_args()
    n = args.rows or (100_000 if args.full else 20_000)
    print(environment(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "papers.jsonl"
        path.write_text("\n".join(make_rows(n)) + "\n", encoding="utf-8")
        db = str(Path(tmp) / "ingest.db")
        first_s, first_cpu, first, prof1 = timed(db, path, args.profile)
        again_s, again_cpu, again, prof2 = timed(db, path, args.profile)
    bad = sum(1 for i in range(n) if i % 500 == 499)
    problems = []
    if first.new != n - bad or first.rejected != bad or len(first.errors) != bad:
        problems.append(f"first pass: new {first.new}, rejected {first.rejected}")
    if again.new or again.updated or again.unchanged != n - bad or again.rejected != bad:
        problems.append(f"second pass: new {again.new}, updated {again.updated}, "
                        f"unchanged {again.unchanged}, rejected {again.rejected}")
    if any(e.line is None or e.path is None for e in first.errors):
        problems.append("an error without its file and line")
    for report in (prof1, prof2):
        if report:
            print(report)
    print_table(f"ingest_paths, {n:,} JSONL rows into SQLite", [
        "pass", "seconds", "rows/s", "CPU s", "rows/CPU s", "result"], [
        ["fresh database", f"{first_s:.1f}", f"{n / first_s:,.0f}", f"{first_cpu:.1f}",
         f"{n / first_cpu:,.0f}",
         f"{first.new:,} new, {first.rejected} rejected"],
        ["same file again", f"{again_s:.1f}", f"{n / again_s:,.0f}", f"{again_cpu:.1f}",
         f"{n / again_cpu:,.0f}",
         f"{again.unchanged:,} unchanged, {again.updated} updated, {again.rejected} rejected"],
    ], notes=problems or [
        "second pass changed nothing; every bad row reported with file and line",
        "rows/CPU s counts this process's CPU time only: steadier than wall time on a busy machine"])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
