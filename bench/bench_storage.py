"""Storage at scale: SQLite with many papers and twice as many judgments.

    python bench/bench_storage.py             # 50,000 papers, 100,000 judgments
    python bench/bench_storage.py --full      # 1,000,000 papers, 2,000,000 judgments
    python bench/bench_storage.py --db big.db --keep   # keep (and later reuse) the file

Measures:

* the project's own ingest path (``annotator.ingest.ingest_paths`` on a JSONL
  file, papers with authors; ``--ingest-papers``), in papers per second;
* a bulk load of the synthetic corpus (raw ``sqlite3`` ``executemany`` into the
  project's schema, every migration applied, secondary indexes rebuilt after):
  papers, authors with skewed popularity (1-8 per paper), author metrics and
  two judgments per paper (two prompt versions), in rows per second;
* ``authors show`` and leaderboard latency: ``annotator.biblio.profiles``
  (``author_profile`` for the most prolific and the median author,
  ``leaderboard`` by AI score, novelty and h-index, bootstrap intervals
  included), median of ``--runs``; when that module is missing, the
  equivalent SQL is timed instead and the table says so;
* the queue at that size: queueing every paper for a new prompt version, and
  claiming a batch of 32 tasks;
* the database size on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from _util import environment, print_table

NOW = "2025-01-01 00:00:00.000000"
WORDS = (
    "model language learning neural sparse attention graph training data transformer "
    "efficient robust knowledge benchmark inference scaling prompt reasoning"
).split()


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def ingest_rate(tmp: Path, n: int) -> float:
    """Papers/s through ``ingest_paths`` (parsing, validation, authors, upserts)."""
    from annotator.db import open_db
    from annotator.ingest import ingest_paths

    path = tmp / "ingest.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {
                        "id": f"ing-{i}",
                        "title": f"Ingest paper {i} on {WORDS[i % len(WORDS)]}",
                        "abstract": " ".join(WORDS) * 3,
                        "published": "2024-01-01",
                        "authors": [f"Writer {(i * 13 + k) % max(10, n // 4)}" for k in range(3)],
                        "categories": ["cs.LG"],
                    }
                )
                + "\n"
            )
    engine = open_db(str(tmp / "ingest.db"))
    started = time.perf_counter()
    summary = ingest_paths(engine, [str(path)])
    elapsed = time.perf_counter() - started
    assert summary.new == n, (summary.new, summary.errors[:3])
    return n / elapsed


def _drop_indexes(con: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    rows = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
        f"({','.join('?' * len(tables))})",
        tables,
    ).fetchall()
    for name, _ in rows:
        con.execute(f"DROP INDEX {name}")
    return [sql for _, sql in rows]


def build(path: Path, n: int, seed: int = 11) -> dict:
    """The synthetic corpus, bulk-loaded. Returns counts and timings."""
    import numpy as np

    from annotator.db import open_db
    from annotator.db.engine import dispose_all

    open_db(str(path))  # the schema, every migration applied
    dispose_all()
    rng = np.random.default_rng(seed)
    n_authors = max(10, n // 5)
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=OFF", "cache_size=-400000", "foreign_keys=OFF"):
        con.execute(f"PRAGMA {pragma}")
    index_sql = _drop_indexes(con, ("papers", "authors", "authorships", "judgments", "author_metrics", "tasks"))
    rows = 0
    started = time.perf_counter()

    def load(sql: str, data) -> None:
        nonlocal rows
        con.execute("BEGIN")
        cur = con.executemany(sql, data)
        rows += cur.rowcount
        con.execute("COMMIT")

    abstract = (" ".join(WORDS) + " ") * 5
    load(
        "INSERT INTO papers (id, key, title, norm_title, abstract, category, categories, published, "
        "authors_truncated, is_eval, content_hash, created_at, updated_at) "
        "VALUES (?,?,?,?,?,'LG','[\"LG\"]',?,0,0,?,?,?)",
        (
            (
                i,
                f"bench:{i}",
                f"Paper {i} {WORDS[i % 17]}",
                f"paper {i} {WORDS[i % 17]}",
                abstract,
                f"{2015 + i % 10}-0{1 + i % 9}-1{i % 9}",
                f"{i:064x}",
                NOW,
                NOW,
            )
            for i in range(1, n + 1)
        ),
    )
    load(
        "INSERT INTO authors (id, name, norm_name, created_at) VALUES (?,?,?,?)",
        ((a, f"Author {a}", f"author {a}", NOW) for a in range(1, n_authors + 1)),
    )
    weights = rng.lognormal(0.0, 1.2, n_authors)
    k = np.clip(1 + rng.poisson(2.0, n), 1, 8)
    picks = rng.choice(n_authors, size=int(k.sum()), p=weights / weights.sum()) + 1
    paper_of = np.repeat(np.arange(1, n + 1), k)
    position = np.arange(picks.size) - np.repeat(np.cumsum(k) - k, k)
    load(
        "INSERT OR IGNORE INTO authorships (paper_id, position, author_id) VALUES (?,?,?)",
        zip(paper_of.tolist(), position.tolist(), picks.tolist()),
    )
    h = rng.poisson(weights * 6).astype(int)
    load(
        "INSERT INTO author_metrics (author_id, source, as_of, h_index, citations, created_at) "
        "VALUES (?,'openalex','2024-12-01',?,?,?)",
        ((a + 1, int(h[a]), int(h[a]) ** 2 * 3, NOW) for a in range(n_authors)),
    )
    for pv in (1, 2):
        con.execute(
            "INSERT INTO prompt_versions (id, name, version, content_hash, text, params_json, "
            "active, created_at) VALUES (?, 'score', ?, ?, 'bench', '{}', ?, ?)",
            (pv, str(pv), f"hash{pv}", int(pv == 2), NOW),
        )
        ai = np.clip(rng.normal(55, 20, n), 0, 100).astype(int).tolist()
        nov = np.clip(rng.normal(50, 18, n), 0, 100).astype(int).tolist()
        load(
            "INSERT INTO judgments (paper_id, prompt_version_id, model, ai_score, novelty, rationale, "
            "prompt_name, prompt_version, prompt_hash, params_json, code_version, demo_quality, "
            "abstract_truncated, injection_flag, prompt_tokens, completion_tokens, created_at) "
            f"VALUES (?,{pv},'bench-model',?,?,'A short rationale of two sentences. Fine.',"
            f"'score','{pv}','hash{pv}','{{}}','bench',0,0,0,350,45,?)",
            ((i + 1, ai[i], nov[i], NOW) for i in range(n)),
        )
    load_s = time.perf_counter() - started
    t = time.perf_counter()
    for sql in index_sql:
        con.execute(sql)
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    index_s = time.perf_counter() - t
    counts = np.bincount(picks, minlength=n_authors + 1)[1:]
    order = np.argsort(counts, kind="stable")
    con.close()
    return {
        "rows": rows,
        "load_s": load_s,
        "index_s": index_s,
        "authors": n_authors,
        "authorships": int(picks.size),
        "prolific": (int(order[-1]) + 1, int(counts[order[-1]])),
        "median": (int(order[n_authors // 2]) + 1, int(counts[order[n_authors // 2]])),
    }


def query_timings(db: str, info: dict, runs: int) -> tuple[list[tuple], str]:
    from annotator.db import open_db

    engine = open_db(db)
    out = []
    try:
        from annotator.biblio.profiles import author_profile, leaderboard
    except ImportError:
        from sqlalchemy import text

        how = "equivalent SQL (annotator.biblio.profiles is not available)"

        def author_profile(engine, query, **_):
            aid = int(query[1:])
            with engine.connect() as conn:
                return conn.execute(
                    text(
                        "SELECT COUNT(*), AVG(j.ai_score), AVG(j.novelty) FROM authorships a JOIN judgments j "
                        "ON j.paper_id = a.paper_id AND j.prompt_version_id = 2 WHERE a.author_id = :a"
                    ),
                    {"a": aid},
                ).all()

        def leaderboard(engine, by="ai_score", **_):
            col = {"ai_score": "AVG(j.ai_score)", "novelty": "AVG(j.novelty)"}.get(by)
            with engine.connect() as conn:
                if col is None:
                    return conn.execute(
                        text(
                            "SELECT author_id, MAX(h_index) h FROM author_metrics "
                            "GROUP BY author_id ORDER BY h DESC LIMIT 20"
                        )
                    ).all()
                return conn.execute(
                    text(
                        f"SELECT a.author_id, {col} s FROM authorships a JOIN judgments j ON "
                        "j.paper_id = a.paper_id AND j.prompt_version_id = 2 GROUP BY a.author_id "
                        "ORDER BY s DESC LIMIT 20"
                    )
                ).all()
    else:
        how = "annotator.biblio.profiles (author_profile, leaderboard; bootstrap CIs included)"
    for label, (aid, n) in (("most prolific", info["prolific"]), ("median", info["median"])):
        seconds = timed(lambda aid=aid: author_profile(engine, f"#{aid}"), runs)
        out.append((f"authors show: {label} author ({n} papers)", f"{seconds * 1000:.1f} ms"))
    for by in ("ai_score", "novelty", "h_index"):
        seconds = timed(lambda by=by: leaderboard(engine, by=by, limit=20), max(1, runs // 2))
        out.append((f"leaderboard by {by} (top 20)", f"{seconds * 1000:.1f} ms"))
    return out, how


def queue_timings(db: str, n: int, runs: int) -> list[tuple]:
    from sqlalchemy import text

    from annotator.db import open_db
    from annotator.db.engine import writer
    from annotator.jobs import queue

    engine = open_db(db)
    with writer(engine).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO prompt_versions (id, name, version, content_hash, text, "
                "params_json, active, created_at) VALUES (3, 'score', '3', 'hash3', 'b', "
                "'{}', :f, :now)"
            ),
            {"f": False, "now": NOW},
        )
    started = time.perf_counter()
    with writer(engine).begin() as conn:
        queued = queue.enqueue(conn, 3, "bench-model")
    enqueue_s = time.perf_counter() - started
    claims = []
    for k in range(runs * 3):
        t = time.perf_counter()
        got = queue.claim(engine, f"bench-{k}", 32, 60.0, prompt_version_id=3, model="bench-model")
        claims.append(time.perf_counter() - t)
        assert len(got) == 32
    return [
        (f"queue {queued:,} tasks for a new prompt version", f"{enqueue_s:.2f} s"),
        ("claim 32 tasks (median)", f"{statistics.median(claims) * 1000:.1f} ms"),
    ]


def size_of(db: str) -> int:
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="1,000,000 papers, 2,000,000 judgments.")
    ap.add_argument("--papers", type=int, default=None)
    ap.add_argument(
        "--ingest-papers",
        type=int,
        default=None,
        help="Papers for the ingest_paths rate (default 5,000; --full 20,000).",
    )
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", default=None, help="Database file (default: a temp file).")
    ap.add_argument("--keep", action="store_true", help="Keep the file; reuse it if it exists.")
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args()
    n = args.papers or (1_000_000 if args.full else 50_000)
    n_ingest = args.ingest_papers or (20_000 if args.full else 5_000)

    from annotator.db.engine import dispose_all

    print(f"storage: {n:,} papers, {2 * n:,} judgments; {environment()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        rate = ingest_rate(tmp_path, n_ingest)
        print(f"  ingest_paths: {rate:,.0f} papers/s on {n_ingest:,} papers", flush=True)
        dispose_all()
        db = args.db or str(tmp_path / f"storage_{n}.db")
        if args.keep and os.path.exists(db):
            raise SystemExit(f"{db} exists; reuse is for queries only: drop --keep or remove it")
        info = build(Path(db), n)
        print(
            f"  bulk load: {info['rows']:,} rows in {info['load_s']:.1f} s, indexes {info['index_s']:.1f} s", flush=True
        )
        size = size_of(db)
        queries, how = query_timings(db, info, args.runs)
        queue_rows = queue_timings(db, n, args.runs)
        dispose_all()
        rows = [
            (f"ingest_paths (JSONL, {n_ingest:,} papers, 3 authors each)", f"{rate:,.0f} papers/s"),
            (
                f"bulk load: {n:,} papers, {info['authorships']:,} authorships, {2 * n:,} judgments",
                f"{info['rows'] / info['load_s']:,.0f} rows/s",
            ),
            ("bulk load time / index rebuild", f"{info['load_s']:.1f} s / {info['index_s']:.1f} s"),
            *queries,
            *queue_rows,
            ("database size (before queueing)", f"{size / 2**20:,.0f} MiB"),
            ("database size (with the queued tasks)", f"{size_of(db) / 2**20:,.0f} MiB"),
        ]
        print_table(
            f"storage at scale: SQLite, {n:,} papers + {2 * n:,} judgments",
            ("measure", "value"),
            rows,
            [
                f"profiles and leaderboards timed with {how}",
                f"latencies are medians of {args.runs} runs (leaderboards {max(1, args.runs // 2)})",
            ],
        )
        if args.json_out:
            Path(args.json_out).write_text(
                json.dumps({"papers": n, "columns": ["measure", "value"], "rows": rows}, indent=2)
            )
        if args.db and not args.keep:
            for p in (db, db + "-wal", db + "-shm"):
                if os.path.exists(p):
                    os.remove(p)


if __name__ == "__main__":
    main()
