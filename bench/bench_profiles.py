"""Benchmark: author profiles and leaderboards on a large synthetic SQLite database.

    python bench/bench_profiles.py                      # 100,000 papers
    python bench/bench_profiles.py --papers 1000000     # a million (or --full)
    python bench/bench_profiles.py --db big.db --keep   # keep the database; reuse it next time

Builds a database with the project's schema (every migration applied), then fills
it with bulk inserts (``executemany`` on one raw sqlite3 connection, one transaction
per table, secondary indexes dropped during the load and rebuilt after):

* N papers (2% of them eval-suite papers), N/5 authors, 1-12 authors per paper
  (mean about 3.5) drawn with log-normal author popularity, so the most prolific
  author has thousands of papers and the median one a handful;
* 2% of papers linked to one more author through ``author_papers`` (a feed page's
  "et al."), 1-2 affiliations per paper out of 300;
* two judgments per non-eval paper (one prompt version, two models): 1,960,000 at
  a million papers;
* a citation count per paper and one or two metric snapshots per author.

Then it times ``author_profile`` (the library call behind ``annotator authors
show``) for the most prolific author, a 99th-percentile one and the median one
(median of ``--runs`` runs each, bootstrap included), and ``leaderboard`` (behind
``annotator authors top``) for each board twice, side by side in one run: computed
from the raw tables (``use_aggregates=False``, the first release's way) and from the
aggregates (``annotator.biblio.aggregates``). It also times the first (full) refresh
of the aggregates and an incremental one after 10,000 more judgments and 1,000 author
snapshots arrive. With ``--pg`` (and ``ANNOTATOR_TEST_PG_URL`` naming a server) the
database is copied to a scratch PostgreSQL database (``db copy``) and the boards are
timed there too.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # _util, also when imported by a test

from _util import environment, print_table  # noqa: E402
from sqlalchemy import text  # noqa: E402

from annotator.biblio.aggregates import ensure_fresh, refresh  # noqa: E402
from annotator.biblio.profiles import author_profile, leaderboard  # noqa: E402
from annotator.db import open_db  # noqa
from annotator.db.engine import dispose_all  # noqa: E402

PG_ENV = "ANNOTATOR_TEST_PG_URL"

WORDS = (
    "model language learning neural sparse attention graph training data transformer "
    "efficient robust knowledge pretrained benchmark inference scaling prompt reasoning"
).split()
CATEGORIES = ["CL", "LG", "CV", "AI", "IR", "RO", "CR", "NE"]
NOW = "2026-01-01 00:00:00.000000"
JUDGMENT_SQL = (
    "INSERT INTO judgments (paper_id, prompt_version_id, model, ai_score, novelty, rationale, "
    "prompt_name, prompt_version, prompt_hash, params_json, code_version, demo_quality, "
    "abstract_truncated, injection_flag, prompt_tokens, completion_tokens, created_at) "
    "VALUES (?,1,:model,?,?,'r','score','1','benchhash','{}','bench',0,0,0,300,40,?)"
)
BOARDS = (
    ("ai_score", {"min_papers": 5}),
    ("novelty", {"min_papers": 5}),
    ("h_index", {}),
    ("citations", {}),
    ("ai_score", {"min_papers": 5, "affiliation": "institute-2"}),
    ("ai_score", {"min_papers": 5, "affiliation": "institute-250"}),
    ("ai_score", {"group": "affiliation", "min_papers": 20}),
    ("h_index", {"group": "affiliation"}),
)


def _drop_indexes(con: sqlite3.Connection) -> list[str]:
    rows = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('papers', 'authors', 'authorships', 'author_papers', "
        "'paper_affiliations', 'judgments', 'author_metrics', 'paper_metrics')"
    ).fetchall()
    for name, _ in rows:
        con.execute(f"DROP INDEX {name}")
    return [sql for _, sql in rows]


def build(path: Path, n_papers: int, seed: int = 7, abstract_chars: int = 400) -> dict:
    open_db(str(path))  # schema and migrations
    dispose_all()
    rng = np.random.default_rng(seed)
    n_authors = max(10, n_papers // 5)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    con.execute("PRAGMA foreign_keys=OFF")
    index_sql = _drop_indexes(con)
    t0 = time.perf_counter()

    def load(sql: str, rows) -> None:
        con.execute("BEGIN")
        con.executemany(sql, rows)
        con.execute("COMMIT")

    base = date(2015, 1, 1)
    days = rng.integers(0, 11 * 365, n_papers)
    is_eval = rng.random(n_papers) < 0.02
    cats = rng.integers(0, len(CATEGORIES), n_papers)
    filler = (" ".join(WORDS) + " ") * (abstract_chars // 100 + 1)

    def papers():
        for i in range(n_papers):
            pid = i + 1
            title = f"{WORDS[i % len(WORDS)].title()} {WORDS[(i // 7) % len(WORDS)]} study {pid}"
            yield (
                pid,
                f"bench:{pid}",
                title,
                title.lower(),
                filler[:abstract_chars],
                CATEGORIES[cats[i]],
                f'["{CATEGORIES[cats[i]]}"]',
                (base + timedelta(days=int(days[i]))).isoformat(),
                int(i % 3 == 0),
                1,
                int(is_eval[i]),
                "bench" if is_eval[i] else None,
                f"{pid:064x}",
                NOW,
                NOW,
            )

    load(
        "INSERT INTO papers (id, key, title, norm_title, abstract, category, categories, published, "
        "has_code, authors_truncated, is_eval, eval_suite, content_hash, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        papers(),
    )
    load(
        "INSERT INTO authors (id, name, norm_name, primary_category, created_at) VALUES (?,?,?,?,?)",
        (
            (a, f"Bench Author {a}", f"bench author {a}", CATEGORIES[a % len(CATEGORIES)], NOW)
            for a in range(1, n_authors + 1)
        ),
    )

    weights = rng.lognormal(0.0, 1.2, n_authors)
    k = np.clip(1 + rng.poisson(2.5, n_papers), 1, 12)
    picks = rng.choice(n_authors, size=int(k.sum()), p=weights / weights.sum()) + 1
    paper_of = np.repeat(np.arange(1, n_papers + 1), k)
    position = np.arange(picks.size) - np.repeat(np.cumsum(k) - k, k)
    load(
        "INSERT INTO authorships (paper_id, position, author_id) VALUES (?,?,?)",
        zip(paper_of.tolist(), position.tolist(), picks.tolist()),
    )
    claimed = np.flatnonzero(rng.random(n_papers) < 0.02) + 1
    claim_authors = rng.choice(n_authors, size=claimed.size, p=weights / weights.sum()) + 1
    load(
        "INSERT OR IGNORE INTO author_papers (author_id, paper_id, source, created_at) VALUES (?,?,?,?)",
        ((int(a), int(p), "feedpage", NOW) for a, p in zip(claim_authors, claimed)),
    )

    n_aff = 300
    load("INSERT INTO affiliations (id, name) VALUES (?,?)", ((i, f"institute-{i}") for i in range(1, n_aff + 1)))
    aff_k = 1 + (rng.random(n_papers) < 0.3)
    aff_paper = np.repeat(np.arange(1, n_papers + 1), aff_k)
    aff_ids = rng.zipf(1.3, aff_paper.size) % n_aff + 1
    load(
        "INSERT OR IGNORE INTO paper_affiliations (paper_id, affiliation_id, position) VALUES (?,?,?)",
        zip(aff_paper.tolist(), aff_ids.tolist(), [0] * aff_paper.size),
    )

    con.execute(
        "INSERT INTO prompt_versions (id, name, version, content_hash, text, params_json, active, "
        "created_at) VALUES (1, 'score', '1', 'benchhash', 'bench', '{}', 1, ?)",
        (NOW,),
    )
    ai = np.clip(rng.normal(55, 20, n_papers), 0, 100).astype(int)
    nov = np.clip(rng.normal(50, 18, n_papers), 0, 100).astype(int)
    ai_b = np.clip(ai + rng.integers(-15, 16, n_papers), 0, 100)
    nov_b = np.clip(nov + rng.integers(-15, 16, n_papers), 0, 100)
    for model, a, b in (("bench-model-b", ai_b, nov_b), ("bench-model", ai, nov)):  # the latest: bench-model
        load(
            JUDGMENT_SQL.replace(":model", f"'{model}'"),
            ((i + 1, int(a[i]), int(b[i]), NOW) for i in range(n_papers) if not is_eval[i]),
        )
    cites = rng.lognormal(2.5, 1.6, n_papers).astype(int)
    load(
        "INSERT INTO paper_metrics (paper_id, source, as_of, citations, created_at) VALUES (?,?,?,?,?)",
        ((i + 1, "openalex", "2025-12-01", int(cites[i]), NOW) for i in range(n_papers)),
    )
    h = rng.poisson(weights * 6).astype(int)
    load(
        "INSERT INTO author_metrics (author_id, source, as_of, h_index, citations, works_count, "
        "reported_ai_score, reported_novelty, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            (a + 1, "openalex", "2025-12-01", int(h[a]), int(h[a] ** 2 * 3), None, None, None, NOW)
            for a in range(n_authors)
        ),
    )
    second = np.flatnonzero(rng.random(n_authors) < 0.3)
    load(
        "INSERT INTO author_metrics (author_id, source, as_of, h_index, citations, works_count, "
        "reported_ai_score, reported_novelty, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            (int(a) + 1, "feedpage", "2026-01-01", int(h[a]) + 1, int(h[a] ** 2 * 3) + 10, 40, 55.0, 54.0, NOW)
            for a in second
        ),
    )
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    for sql in index_sql:
        con.execute(sql)
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index_s = time.perf_counter() - t1
    counts = np.bincount(picks, minlength=n_authors + 1)[1:]
    order = np.argsort(counts)
    con.close()
    return {
        "papers": n_papers,
        "authors": n_authors,
        "authorships": int(picks.size),
        "load_s": load_s,
        "index_s": index_s,
        "prolific": int(order[-1]) + 1,
        "prolific_n": int(counts[order[-1]]),
        "p99": int(order[int(0.99 * n_authors)]) + 1,
        "p99_n": int(counts[order[int(0.99 * n_authors)]]),
        "median": int(order[n_authors // 2]) + 1,
        "median_n": int(counts[order[n_authors // 2]]),
    }


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--papers", type=int, default=100_000)
    ap.add_argument("--full", action="store_true", help="A million papers (same as --papers 1000000).")
    ap.add_argument("--db", type=Path, default=None, help="Database file (default: a temp file).")
    ap.add_argument("--keep", action="store_true", help="Keep the database; reuse it when it exists.")
    ap.add_argument("--runs", type=int, default=7, help="Runs per profile timing (median).")
    ap.add_argument("--top-runs", type=int, default=3, help="Runs per leaderboard timing (median).")
    ap.add_argument("--abstract-chars", type=int, default=400)
    ap.add_argument("--pg", action="store_true", help="Also copy to PostgreSQL and time the boards there.")
    ap.add_argument("--json", dest="json_out", default=None, help="Write the tables here as JSON too.")
    args = ap.parse_args()
    if args.full:
        args.papers = 1_000_000

    tmp = None
    path = args.db
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / f"bench_{args.papers}.db"
    info = None
    if path.exists() and args.keep:
        print(f"reusing {path}")
    else:
        if path.exists():
            path.unlink()
        print(f"building {args.papers:,} papers in {path} ...", flush=True)
        info = build(path, args.papers, abstract_chars=args.abstract_chars)
        print(
            f"  loaded in {info['load_s']:.1f} s, indexes in {info['index_s']:.1f} s; "
            f"{info['authors']:,} authors, {info['authorships']:,} authorships",
            flush=True,
        )
    engine = open_db(str(path))
    if info is None:  # a reused database: find the authors to time
        with engine.connect() as conn:
            counts = conn.execute(
                text("SELECT author_id, COUNT(*) c FROM authorships GROUP BY author_id ORDER BY c")
            ).all()
        info = {
            "prolific": counts[-1][0],
            "prolific_n": counts[-1][1],
            "p99": counts[int(0.99 * len(counts))][0],
            "p99_n": counts[int(0.99 * len(counts))][1],
            "median": counts[len(counts) // 2][0],
            "median_n": counts[len(counts) // 2][1],
        }

    rows = []
    for label in ("prolific", "p99", "median"):
        aid = info[label]
        name = f"Bench Author {aid}"
        author_profile(engine, name)  # warm the cache
        t = timed(lambda name=name: author_profile(engine, name), args.runs)
        rows.append((f"authors show ({label}, {info[label + '_n']} papers)", t, None))
    t = time.perf_counter()
    first = refresh(engine)
    print(f"aggregates: {first.mode} refresh in {time.perf_counter() - t:.1f} s", flush=True)
    rows += boards(engine, args.top_runs)
    rows += incremental(path, engine)
    size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))
    title = f"{args.papers:,} papers, SQLite {sqlite3.sqlite_version}, database {size / 2**20:,.0f} MiB"
    figures = {title: show(title, rows)}
    if args.pg:
        figures.update(on_postgres(path, args.top_runs))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=1))
    dispose_all()
    if tmp is not None:
        tmp.cleanup()


def boards(engine, runs: int) -> list[tuple[str, float | None, float | None]]:
    """Each board from the raw tables, then from the aggregates (current: no refresh inside)."""
    out = []
    for by, kw in BOARDS:
        label = f"authors top --by {by}" + "".join(f" --{k.replace('_', '-')} {v}" for k, v in kw.items())
        kw = {**kw, "model": "bench-model"}
        raw = timed(lambda by=by, kw=kw: leaderboard(engine, by, limit=20, use_aggregates=False, **kw), runs)
        agg = timed(lambda by=by, kw=kw: leaderboard(engine, by, limit=20, **kw), max(runs, 5))
        same = leaderboard(engine, by, limit=20, **kw) == leaderboard(engine, by, limit=20, use_aggregates=False, **kw)
        out.append((label + ("" if same else "  (ROWS DIFFER)"), raw, agg))
    return out


def incremental(path: Path, engine) -> list[tuple[str, float | None, float | None]]:
    """10,000 judgments under a new model and 1,000 author snapshots arrive; the next board
    refreshes the aggregates incrementally (timed alone, then the board after it)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    model = f"bench-model-{time.time_ns()}"  # new each run, so a kept database can be reused
    con.executemany(
        JUDGMENT_SQL.replace(":model", f"'{model}'"),
        [
            (pid, pid % 101, (pid * 7) % 101, NOW)
            for (pid,) in con.execute("SELECT id FROM papers WHERE is_eval = 0 ORDER BY id LIMIT 10000")
        ],
    )
    con.executemany(
        "INSERT INTO author_metrics (author_id, source, as_of, h_index, citations, created_at) "
        "VALUES (?, 'csv', '2026-02-01', ?, ?, ?)",
        ((a, a % 50, a * 3, NOW) for a in range(1, 2_000, 2)),
    )
    con.execute("COMMIT")
    con.close()
    t = time.perf_counter()
    done = ensure_fresh(engine)
    took = time.perf_counter() - t
    assert done is not None and done.mode == "incremental", done
    t2 = timed(lambda: leaderboard(engine, "ai_score", limit=20, min_papers=5, model=model), 5)
    return [
        ("refresh after 10,000 judgments + 1,000 snapshots (incremental)", None, took),
        ("authors top --by ai_score --min-papers 5, after it", None, t2),
    ]


def on_postgres(path: Path, runs: int) -> dict:
    server = os.environ.get(PG_ENV)
    if not server:
        print(f"PostgreSQL skipped: {PG_ENV} is not set")
        return {}
    from bench_db_copy import drop_pg, scratch_pg

    url, name = scratch_pg(server)
    try:
        engine = open_db(url)  # the schema
        t = time.perf_counter()
        rows = load_pg(path, engine)
        print(
            f"loaded into PostgreSQL with COPY: {rows:,} rows in {time.perf_counter() - t:.0f} s "
            "(bench_db_copy.py times annotator db copy)",
            flush=True,
        )
        t = time.perf_counter()
        again = refresh(engine, full=True)
        print(f"aggregates on PostgreSQL: {again.mode} refresh in {time.perf_counter() - t:.1f} s", flush=True)
        rows = boards(engine, runs)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        title = f"the same database on PostgreSQL {version}"
        return {title: show(title, rows)}
    finally:
        drop_pg(server, name)


def load_pg(path: Path, engine) -> int:
    """Every table of the SQLite file into the (migrated, empty) PostgreSQL database by
    COPY, indexes dropped during the load and rebuilt, sequences set past the ids, then
    VACUUM ANALYZE (as autovacuum would leave a database in use)."""
    from sqlmodel import SQLModel

    con, total = sqlite3.connect(path), 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        indexes = cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ).fetchall()
        for index, _ in indexes:
            cur.execute(f'DROP INDEX IF EXISTS "{index}"')
        cur.execute("SET session_replication_role = replica")  # no foreign-key checks while loading
        for table in SQLModel.metadata.sorted_tables:
            if table.name.startswith("agg_"):
                continue  # the refresh below builds them
            cols = [c.name for c in table.columns]
            quoted = ", ".join(f'"{c}"' for c in cols)
            with cur.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
                for row in con.execute(f"SELECT {quoted} FROM {table.name}"):
                    copy.write_row(row)
                    total += 1
        cur.execute("SET session_replication_role = origin")
        for _, ddl in indexes:
            cur.execute(ddl)
        for table in SQLModel.metadata.sorted_tables:
            if "id" in table.c and table.c["id"].primary_key and table.c["id"].autoincrement:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE(MAX(id), 1)) FROM {table.name}"
                )
        raw.commit()
        pg = raw.driver_connection
        pg.autocommit = True  # VACUUM: the visibility map that index-only scans need, and statistics
        pg.execute("VACUUM ANALYZE")
        pg.autocommit = False
    finally:
        raw.close()
        con.close()
    return total


def show(title: str, rows: list[tuple[str, float | None, float | None]]) -> dict:
    """Print the table; return it (columns, rows, notes) for ``--json``."""

    def ms(v: float | None) -> str:
        return "" if v is None else f"{v * 1000:,.1f} ms"

    table = {
        "columns": ["operation", "raw tables (before)", "aggregates (after)"],
        "rows": [[label, ms(raw), ms(agg)] for label, raw, agg in rows],
        "notes": [f"median of runs; {environment()}"],
    }
    print_table(title, table["columns"], table["rows"], table["notes"])
    return table


if __name__ == "__main__":
    main()
