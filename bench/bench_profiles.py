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
* one judgment per non-eval paper for one prompt version and model;
* a citation count per paper and one or two metric snapshots per author.

Then it times ``author_profile`` (the library call behind ``annotator authors
show``) for the most prolific author, a 99th-percentile one and the median one
(median of ``--runs`` runs each, bootstrap included), and ``leaderboard`` (behind
``annotator authors top``) for each board, and prints a table with the database size.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotator.biblio.profiles import author_profile, leaderboard  # noqa: E402
from db import open_db  # noqa
from db.engine import dispose_all  # noqa: E402

WORDS = ("model language learning neural sparse attention graph training data transformer "
         "efficient robust knowledge pretrained benchmark inference scaling prompt reasoning").split()
CATEGORIES = ["CL", "LG", "CV", "AI", "IR", "RO", "CR", "NE"]
NOW = "2026-01-01 00:00:00.000000"


def _drop_indexes(con: sqlite3.Connection) -> list[str]:
    rows = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                       "AND tbl_name IN ('papers', 'authors', 'authorships', 'author_papers', "
                       "'paper_affiliations', 'judgments', 'author_metrics', 'paper_metrics')").fetchall()
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
            yield (pid, f"bench:{pid}", title, title.lower(), filler[:abstract_chars],
                   CATEGORIES[cats[i]], f'["{CATEGORIES[cats[i]]}"]',
                   (base + timedelta(days=int(days[i]))).isoformat(), int(i % 3 == 0), 1,
                   int(is_eval[i]), "bench" if is_eval[i] else None, f"{pid:064x}", NOW, NOW)

    load("INSERT INTO papers (id, key, title, norm_title, abstract, category, categories, published, "
         "has_code, authors_truncated, is_eval, eval_suite, content_hash, created_at, updated_at) "
         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", papers())
    load("INSERT INTO authors (id, name, norm_name, primary_category, created_at) VALUES (?,?,?,?,?)",
         ((a, f"Bench Author {a}", f"bench author {a}", CATEGORIES[a % len(CATEGORIES)], NOW)
          for a in range(1, n_authors + 1)))

    weights = rng.lognormal(0.0, 1.2, n_authors)
    k = np.clip(1 + rng.poisson(2.5, n_papers), 1, 12)
    picks = rng.choice(n_authors, size=int(k.sum()), p=weights / weights.sum()) + 1
    paper_of = np.repeat(np.arange(1, n_papers + 1), k)
    position = np.arange(picks.size) - np.repeat(np.cumsum(k) - k, k)
    load("INSERT INTO authorships (paper_id, position, author_id) VALUES (?,?,?)",
         zip(paper_of.tolist(), position.tolist(), picks.tolist()))
    claimed = np.flatnonzero(rng.random(n_papers) < 0.02) + 1
    claim_authors = rng.choice(n_authors, size=claimed.size, p=weights / weights.sum()) + 1
    load("INSERT OR IGNORE INTO author_papers (author_id, paper_id, source, created_at) VALUES (?,?,?,?)",
         ((int(a), int(p), "feedpage", NOW) for a, p in zip(claim_authors, claimed)))

    n_aff = 300
    load("INSERT INTO affiliations (id, name) VALUES (?,?)", ((i, f"institute-{i}") for i in range(1, n_aff + 1)))
    aff_k = 1 + (rng.random(n_papers) < 0.3)
    aff_paper = np.repeat(np.arange(1, n_papers + 1), aff_k)
    aff_ids = rng.zipf(1.3, aff_paper.size) % n_aff + 1
    load("INSERT OR IGNORE INTO paper_affiliations (paper_id, affiliation_id, position) VALUES (?,?,?)",
         zip(aff_paper.tolist(), aff_ids.tolist(), [0] * aff_paper.size))

    con.execute("INSERT INTO prompt_versions (id, name, version, content_hash, text, params_json, active, "
                "created_at) VALUES (1, 'score', '1', 'benchhash', 'bench', '{}', 1, ?)", (NOW,))
    ai = np.clip(rng.normal(55, 20, n_papers), 0, 100).astype(int)
    nov = np.clip(rng.normal(50, 18, n_papers), 0, 100).astype(int)
    load("INSERT INTO judgments (paper_id, prompt_version_id, model, ai_score, novelty, rationale, "
         "prompt_name, prompt_version, prompt_hash, params_json, code_version, demo_quality, "
         "abstract_truncated, injection_flag, prompt_tokens, completion_tokens, created_at) "
         "VALUES (?,1,'bench-model',?,?,'r','score','1','benchhash','{}','bench',0,0,0,300,40,?)",
         ((i + 1, int(ai[i]), int(nov[i]), NOW) for i in range(n_papers) if not is_eval[i]))
    cites = rng.lognormal(2.5, 1.6, n_papers).astype(int)
    load("INSERT INTO paper_metrics (paper_id, source, as_of, citations, created_at) VALUES (?,?,?,?,?)",
         ((i + 1, "openalex", "2025-12-01", int(cites[i]), NOW) for i in range(n_papers)))
    h = rng.poisson(weights * 6).astype(int)
    load("INSERT INTO author_metrics (author_id, source, as_of, h_index, citations, works_count, "
         "reported_ai_score, reported_novelty, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
         ((a + 1, "openalex", "2025-12-01", int(h[a]), int(h[a] ** 2 * 3), None, None, None, NOW)
          for a in range(n_authors)))
    second = np.flatnonzero(rng.random(n_authors) < 0.3)
    load("INSERT INTO author_metrics (author_id, source, as_of, h_index, citations, works_count, "
         "reported_ai_score, reported_novelty, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
         ((int(a) + 1, "feedpage", "2026-01-01", int(h[a]) + 1, int(h[a] ** 2 * 3) + 10, 40, 55.0,
           54.0, NOW) for a in second))
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
    return {"papers": n_papers, "authors": n_authors, "authorships": int(picks.size),
            "load_s": load_s, "index_s": index_s,
            "prolific": int(order[-1]) + 1, "prolific_n": int(counts[order[-1]]),
            "p99": int(order[int(0.99 * n_authors)]) + 1, "p99_n": int(counts[order[int(0.99 * n_authors)]]),
            "median": int(order[n_authors // 2]) + 1, "median_n": int(counts[order[n_authors // 2]])}


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
        print(f"  loaded in {info['load_s']:.1f} s, indexes in {info['index_s']:.1f} s; "
              f"{info['authors']:,} authors, {info['authorships']:,} authorships", flush=True)
    engine = open_db(str(path))
    if info is None:  # a reused database: find the authors to time
        with engine.connect() as conn:
            from sqlalchemy import text

            counts = conn.execute(text("SELECT author_id, COUNT(*) c FROM authorships GROUP BY author_id "
                                       "ORDER BY c")).all()
        info = {"prolific": counts[-1][0], "prolific_n": counts[-1][1],
                "p99": counts[int(0.99 * len(counts))][0], "p99_n": counts[int(0.99 * len(counts))][1],
                "median": counts[len(counts) // 2][0], "median_n": counts[len(counts) // 2][1]}

    rows = []
    for label in ("prolific", "p99", "median"):
        aid = info[label]
        name = f"Bench Author {aid}"
        author_profile(engine, name)  # warm the cache
        t = timed(lambda name=name: author_profile(engine, name), args.runs)
        rows.append((f"authors show ({label}, {info[label + '_n']} papers)", t))
    for by, kw in (("ai_score", {"min_papers": 5}), ("novelty", {"min_papers": 5}),
                   ("h_index", {}), ("citations", {}),
                   ("ai_score", {"min_papers": 5, "affiliation": "institute-2"}),
                   ("ai_score", {"group": "affiliation", "min_papers": 20})):
        label = f"authors top --by {by}" + "".join(f" --{k.replace('_', '-')} {v}" for k, v in kw.items())
        t = timed(lambda by=by, kw=kw: leaderboard(engine, by, limit=20, **kw), args.top_runs)
        rows.append((label, t))
    size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))
    width = max(len(r[0]) for r in rows)
    print(f"\n{args.papers:,} papers, database {size / 2**20:,.0f} MiB (SQLite {sqlite3.sqlite_version})")
    print(f"{'operation':<{width}}  {'median':>10}")
    for label, t in rows:
        print(f"{label:<{width}}  {t * 1000:>8.1f} ms")
    dispose_all()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
