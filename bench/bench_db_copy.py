"""``annotator db copy`` at scale: SQLite to SQLite, SQLite to PostgreSQL and back.

    python bench/bench_db_copy.py                    # 100,000 papers, 200,000 judgments
    python bench/bench_db_copy.py --full             # 1,000,000 papers, 2,000,000 judgments
    python bench/bench_db_copy.py --db big.db --keep # keep the source; reuse it next time

The source is the storage benchmark's database (``bench_storage.build``: papers,
authors with skewed popularity, authorships, author metrics, two prompt versions
and two judgments per paper), plus cached embeddings (one per ten papers, 576
float32 values each, under two model names), whose text keys PostgreSQL must
sort in byte order (``COLLATE "C"``) rather than by its primary key index. Each
copy is ``db.copy.copy_database``, the library call behind the command: the
source read in one snapshot, every table in key order, in chunks, then both
sides counted and hashed. The times include that final check (reading the
destination back). PostgreSQL runs when ``ANNOTATOR_TEST_PG_URL`` names a
server: a scratch database is created there (with the server's default
collation: en_US.UTF-8 on ``.ci/pg.sh``'s, as in the official image) and
dropped afterwards.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from _util import environment, print_table
from bench_storage import build

from annotator.db.copy import CHUNK_ROWS, copy_database
from annotator.db.engine import dispose_all

PG_ENV = "ANNOTATOR_TEST_PG_URL"


def plain(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (psycopg's own connect needs it)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def scratch_pg(server: str) -> tuple[str, str]:
    """A new, empty database on the server: (its URL, its name)."""
    import psycopg

    name = f"annotator_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server.rsplit('/', 1)[0]}/{name}", name


def drop_pg(server: str, name: str) -> None:
    import psycopg

    dispose_all()
    with psycopg.connect(plain(server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def add_embeddings(path: str, n: int, dim: int = 576) -> int:
    """``n`` cached embeddings in the source, split between two model names."""
    vector = base64.b64encode(bytes(4 * dim)).decode()
    rows = [
        (
            ("smollm2", "SmolLM2-135M")[i % 2],
            hashlib.sha256(str(i).encode()).hexdigest(),
            dim,
            vector,
            "2024-05-01 00:00:00",
        )
        for i in range(n)
    ]
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT OR IGNORE INTO embedding_cache (model, text_hash, dim, vector, created_at) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    con.close()
    return n


def timed_copy(label: str, src: str, dst: str, chunk: int) -> tuple:
    started = time.perf_counter()
    report = copy_database(src, dst, chunk=chunk)
    seconds = time.perf_counter() - started
    print(f"  {label}: {report.rows:,} rows in {seconds:.1f} s", flush=True)
    return (
        label,
        f"{report.rows:,}",
        f"{seconds:.1f} s",
        f"{report.rows / seconds:,.0f}",
        "yes" if report.ok else "NO",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="1,000,000 papers, 2,000,000 judgments.")
    ap.add_argument("--papers", type=int, default=None, help="Papers (default 100,000).")
    ap.add_argument("--chunk", type=int, default=CHUNK_ROWS, help="Rows per insert and transaction.")
    ap.add_argument("--db", default=None, help="Source database file (default: a temp file).")
    ap.add_argument("--keep", action="store_true", help="Keep the source; reuse it if it exists.")
    ap.add_argument("--json", dest="json_out", default=None, help="Write the figures here as JSON.")
    args = ap.parse_args()
    n = args.papers or (1_000_000 if args.full else 100_000)
    server = os.environ.get(PG_ENV)
    print(f"db copy: {n:,} papers, {2 * n:,} judgments; chunk {args.chunk:,}; {environment()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = args.db or str(Path(tmp) / f"copy_source_{n}.db")
        if not (args.keep and os.path.exists(src)):
            info = build(Path(src), n)
            cached = add_embeddings(src, n // 10)
            print(f"  source built: {info['rows'] + cached:,} rows in {info['load_s']:.1f} s", flush=True)
        dispose_all()
        rows = [timed_copy("SQLite -> SQLite", src, str(Path(tmp) / "copy.db"), args.chunk)]
        notes = ["times include counting and hashing both sides at the end"]
        if server:
            url, name = scratch_pg(server)
            try:
                rows.append(timed_copy("SQLite -> PostgreSQL", src, url, args.chunk))
                rows.append(timed_copy("PostgreSQL -> SQLite", url, str(Path(tmp) / "back.db"), args.chunk))
            finally:
                drop_pg(server, name)
        else:
            notes.append(f"PostgreSQL skipped: {PG_ENV} is not set")
        dispose_all()
        print_table(
            f"db copy: {n:,} papers + {2 * n:,} judgments",
            ("direction", "rows", "time", "rows/s", "checksums equal"),
            rows,
            notes,
        )
        if args.json_out:
            Path(args.json_out).write_text(
                json.dumps(
                    {
                        "papers": n,
                        "columns": ["direction", "rows", "time", "rows/s", "checksums equal"],
                        "rows": rows,
                        "notes": notes,
                    },
                    indent=2,
                )
            )
        if args.db and not args.keep:
            for p in (src, src + "-wal", src + "-shm"):
                if os.path.exists(p):
                    os.remove(p)


if __name__ == "__main__":
    main()
