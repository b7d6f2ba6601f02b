"""Two ingests at once store each paper once, on SQLite and PostgreSQL.

A writer reads its look-up tables (key, arXiv id, DOI, OpenAlex id, title plus
first author) when it starts. ``_paused_ingest.py`` is a second ingesting process
that reads them, stores a batch of other papers and waits; meanwhile
``annotator ingest`` stores the same papers from another file, where each
matches the waiting process's version by one key kind only. When the waiting
process goes on, its look-up tables are stale: its inserts fail on the unique
indexes, it reads the keys again and updates the stored papers instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _pg import cli_command, cli_env, db_url, pg_server_url, pg_url, write_jsonl  # noqa: F401
from sqlalchemy import text

from annotator.db import open_db
from annotator.ingest.store import BATCH

HELPER = Path(__file__).with_name("_paused_ingest.py")
ABSTRACT = "We measure what {} changes on six benchmarks and report every run."
# (the manual ingest's row, the waiting process's row): the same paper, matched by one key
SAME_PAPERS = {
    "doi": (
        {
            "title": "Sparse Attention for Long Protein Sequences",
            "arxiv_id": "2401.00001",
            "doi": "10.5555/doi.1",
            "authors": ["Ana Lima", "Bo Chen"],
        },
        {
            "title": "Sparse attention for long protein sequences (journal version)",
            "doi": "https://doi.org/10.5555/DOI.1",
            "authors": ["B. Chen"],
        },
    ),
    "openalex_id": (
        {
            "title": "Causal Probing of Retrieval Heads",
            "doi": "10.5555/oa.2",
            "openalex_id": "W4400000002",
            "authors": ["Caro Diaz"],
        },
        {
            "title": "Causal probing of retrieval heads, extended",
            "openalex_id": "https://openalex.org/W4400000002",
            "authors": ["C. Diaz"],
        },
    ),
    "arxiv_id": (
        {"title": "Federated Token Pruning", "arxiv_id": "2401.00003", "authors": ["Dev Patel"]},
        {
            "title": "Federated Token Pruning at Scale",
            "arxiv_id": "arXiv:2401.00003v2",
            "doi": "10.5555/ax.3",
            "authors": ["D. Patel"],
        },
    ),
    "title": (
        {"title": "Quantum Kernels Without Tears", "doi": "10.5555/title.4", "authors": ["Eve Novak", "Finn Berg"]},
        {"title": "Quantum kernels without tears!", "authors": ["Eve Novak"]},
    ),
}


def rows(side: int, kinds: tuple[str, ...]) -> list[dict]:
    return [dict(SAME_PAPERS[k][side], abstract=ABSTRACT.format(k)) for k in kinds]


def count(db: str, sql: str) -> int:
    with open_db(db).connect() as conn:
        return conn.execute(text(sql)).scalar_one()


# a key conflict in a batch had the old code read its tables again: without one, the
# papers matched by DOI, OpenAlex id or title alone were stored twice
@pytest.mark.parametrize("kinds", [("doi", "openalex_id", "title"), ("arxiv_id",)])
def test_a_paper_stored_meanwhile_by_another_ingest_is_updated_not_stored_again(db_url, tmp_path, kinds):  # noqa: F811
    manual = write_jsonl(tmp_path / "manual.jsonl", rows(0, kinds))
    waiting = write_jsonl(tmp_path / "waiting.jsonl", rows(1, kinds))
    open_db(db_url).dispose()  # the schema exists before either process starts
    env = cli_env(db=db_url)
    second = subprocess.Popen(
        [sys.executable, str(HELPER), db_url, str(waiting)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert second.stdout is not None and second.stdin is not None
        assert second.stdout.readline().strip() == "paused"  # its look-up tables are read
        first = subprocess.run(
            [*cli_command(), "ingest", str(manual)], env=env, capture_output=True, text=True, timeout=120
        )
        assert first.returncode == 0, first.stderr
        second.stdin.write("go\n")
        second.stdin.flush()
        out, _ = second.communicate(timeout=120)
    finally:
        if second.poll() is None:
            second.kill()
    summary = json.loads(out.strip().splitlines()[-1])
    assert second.returncode == 0
    assert (summary["new"], summary["updated"], summary["rejected"], summary["errors"]) == (BATCH, len(kinds), 0, [])
    assert count(db_url, "SELECT COUNT(*) FROM papers WHERE external_id IS NULL") == len(kinds)
    for kind in kinds:
        column, value = STORED_AS[kind]
        assert count(db_url, f"SELECT COUNT(*) FROM papers WHERE {column} = '{value}'") == 1
    if "arxiv_id" in kinds:  # the update reached the stored paper: its DOI is filled
        assert count(db_url, "SELECT COUNT(*) FROM papers WHERE doi = '10.5555/ax.3'") == 1


STORED_AS = {
    "doi": ("doi", "10.5555/doi.1"),
    "openalex_id": ("openalex_id", "W4400000002"),
    "arxiv_id": ("arxiv_id", "2401.00003"),
    "title": ("doi", "10.5555/title.4"),
}


def _forms(i: int) -> tuple[dict, dict]:
    """Paper ``i`` as two sources write it: matched by DOI, OpenAlex id, arXiv id or
    title plus first author alone, in turn."""
    title, abstract = f"Robust token routing, study {i}", ABSTRACT.format(f"routing {i}")
    full = {
        "title": title,
        "abstract": abstract,
        "authors": [f"Author {i}", "Second Author"],
        "arxiv_id": f"2402.{i:05d}",
        "doi": f"10.5555/r.{i}",
        "openalex_id": f"W44{i:08d}",
    }
    other = {"title": f"{title} (extended)", "abstract": abstract, "authors": [f"A. {i}"]}
    kind = i % 4
    if kind == 0:
        other["doi"] = full["doi"].upper()
    elif kind == 1:
        other["openalex_id"] = f"https://openalex.org/{full['openalex_id']}"
    elif kind == 2:
        other["arxiv_id"] = f"arXiv:{full['arxiv_id']}v3"
    else:
        other = {**other, "title": title.upper(), "authors": [f"Author {i}"]}
    return full, other


def test_two_ingests_at_once_over_overlapping_files_store_each_paper_once(db_url, tmp_path):  # noqa: F811
    """Both processes run at the same time; each file is a transaction of its own, and the
    two read the same papers in opposite orders, in either form."""
    chunks, per_chunk = 8, 40
    files: dict[str, list[Path]] = {"one": [], "two": []}
    for c in range(chunks):
        papers = [_forms(c * per_chunk + j) for j in range(per_chunk)]
        for side, name in ((0, "one"), (1, "two")):
            form = side if c % 2 == 0 else 1 - side
            files[name].append(write_jsonl(tmp_path / f"{name}_{c}.jsonl", [p[form] for p in papers]))
    open_db(db_url).dispose()
    env = cli_env(db=db_url)
    procs = [
        subprocess.Popen(
            [*cli_command(), "ingest", "--format", "jsonl", *map(str, paths)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for paths in (files["one"], files["two"][::-1])
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, outs):
        assert proc.returncode == 0, err[-2000:]
    total = chunks * per_chunk
    assert count(db_url, "SELECT COUNT(*) FROM papers") == total
    for column in ("arxiv_id", "doi", "openalex_id", "title_key"):
        assert count(db_url, f"SELECT COUNT(DISTINCT {column}) FROM papers") == total, column
