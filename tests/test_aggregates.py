"""The leaderboard aggregates equal the computation from the raw tables, on SQLite and
PostgreSQL: after the first judgments, after more papers and judgments arrive, under a
second model, after author and paper metrics arrive, after ingest rewrites stored papers'
authors or marks papers as eval papers. Judgments come from the fake model server over HTTP.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from _pg import db_url, pg_server_url, pg_url, write_jsonl  # noqa: F401  (fixtures)
from sqlalchemy import text

from annotator.biblio import aggregates
from annotator.biblio.aggregates import refresh
from annotator.biblio.profiles import leaderboard
from annotator.biblio.save import import_paths
from annotator.db import open_db
from annotator.ingest import ingest_paths
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.settings import get_settings

NAMES = [f"Writer {chr(65 + i)}{i}" for i in range(24)]
AFFILIATIONS = ["MIT", "Tsinghua", "ETH Zurich", "Inria", "Mila", "tsinghua university"]
BOARDS = [
    ("ai_score", {}),
    ("novelty", {}),
    ("ai_score", {"min_papers": 3}),
    ("novelty", {"min_papers": 0}),
    ("ai_score", {"affiliation": "mit"}),
    ("novelty", {"affiliation": "Tsinghua", "min_papers": 2}),
    ("h_index", {}),
    ("citations", {}),
    ("h_index", {"min_papers": 0}),
    ("citations", {"min_papers": 4}),
    ("h_index", {"affiliation": "inria"}),
    ("ai_score", {"group": "affiliation"}),
    ("novelty", {"group": "affiliation", "min_papers": 5}),
    ("h_index", {"group": "affiliation"}),
    ("citations", {"group": "affiliation", "min_papers": 3}),
    ("ai_score", {"group": "affiliation", "affiliation": "MILA"}),
]


def _paper(i: int, rng: random.Random, prefix: str = "agg") -> dict:
    authors = rng.sample(NAMES[:12] if i % 3 else NAMES, rng.randint(1, 4))
    if i % 17 == 0:  # one name listed twice on a paper: the author counts once
        authors.append(authors[0])
    row = {
        "id": f"{prefix}{i}",
        "title": f"Aggregate study {prefix} {i} of {rng.random():.6f}",
        "abstract": f"We measure effect {i} with method {rng.randint(0, 10**6)}.",
        "authors": authors,
        "affiliations": rng.sample(AFFILIATIONS, rng.randint(0, 2)),
    }
    if i % 4:
        row["citations"] = rng.randint(0, 300)
    return row


def _ingest(engine, path: Path, rows: list[dict], **kw) -> None:
    summary = ingest_paths(engine, [write_jsonl(path, rows)], **kw)
    assert not summary.errors, summary.errors[:3]


def _judge(engine, server, model: str) -> None:
    settings = get_settings(base_url=server.base_url, api_key="sk-test", timeout_s=5.0)
    assert annotate(engine, settings, AnnotateOptions(model=model, concurrency=8)).failed == 0


def _same(engine, model: str | None = None) -> int:
    """Every board from the aggregates equals the board from the raw tables; rows compared."""
    compared = 0
    for by, kw in BOARDS:
        fast = leaderboard(engine, by, limit=200, model=model, **kw).to_json()
        slow = leaderboard(engine, by, limit=200, model=model, use_aggregates=False, **kw).to_json()
        assert fast == slow, (by, kw)
        compared += len(fast["rows"])
    return compared


def _dump(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {t: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))) for t in aggregates.AGG_TABLES}


def test_aggregates_equal_the_raw_tables_as_data_arrives(db_url, fake_server, tmp_path, monkeypatch):  # noqa: F811
    engine = open_db(db_url)
    rng = random.Random(14)
    first = [_paper(i, rng) for i in range(70)]
    _ingest(engine, tmp_path / "a.jsonl", first)
    _judge(engine, fake_server, "fake")
    assert refresh(engine).mode == "full"
    assert _same(engine) > 100

    # more papers, then their judgments: added to the sums
    _ingest(engine, tmp_path / "b.jsonl", [_paper(i, rng) for i in range(70, 110)])
    assert refresh(engine).mode == "incremental"
    _judge(engine, fake_server, "fake")
    assert aggregates.ensure_fresh(engine).mode == "incremental"
    assert aggregates.ensure_fresh(engine) is None  # current: nothing to do
    _same(engine)

    # a second model: its own sums; both selectable
    _judge(engine, fake_server, "fake-two")
    _same(engine, model="fake-two")
    _same(engine, model="fake")

    # author metrics (two sources, two dates) and new paper citation snapshots
    csv = tmp_path / "authors.csv"
    csv.write_text(
        "name,orcid,h_index,citations,works_count,as_of,source\n"
        + "".join(
            f"{n},,{rng.randint(0, 40)},{rng.randint(0, 9000)},{rng.randint(1, 90)},2025-0{1 + k}-01,"
            f"{'scholar' if k else 'csv'}\n"
            for k in range(2)
            for n in NAMES[::2]
        )
    )
    assert import_paths(engine, [csv]).authors_matched >= 20
    for row in first[:30]:
        row["citations"] = rng.randint(0, 500)
    _ingest(engine, tmp_path / "c.jsonl", first[:30])
    assert refresh(engine).mode == "incremental"
    assert _same(engine) > 100
    monkeypatch.setattr(aggregates, "SMALL_AFFILIATION", 0)  # candidates checked a page at a time
    monkeypatch.setattr(aggregates, "FIRST_PAGE", 2)
    _same(engine)
    monkeypatch.undo()

    # ingest rewrites stored papers' authors, and marks papers as eval papers: a rebuild
    for row in first[:5]:
        row["authors"] = [NAMES[-1], NAMES[-2]]
    _ingest(engine, tmp_path / "d.jsonl", first[:5])
    _ingest(engine, tmp_path / "e.jsonl", first[40:48], is_eval=True, eval_suite="held-out")
    report = refresh(engine)
    assert report.mode == "full" and "authors" in report.why
    _same(engine)

    # the sums kept step by step equal a rebuild from nothing
    kept = _dump(engine)
    assert kept["agg_author_scores"] and kept["agg_affiliation_stats"]
    assert refresh(engine, full=True).mode == "full"
    assert _dump(engine) == kept


def test_a_refresh_waits_for_nothing_and_reports_current(engine, fake_server, tmp_path):
    rng = random.Random(3)
    _ingest(engine, tmp_path / "a.jsonl", [_paper(i, rng) for i in range(12)])
    assert refresh(engine).mode == "full"  # first refresh, nothing judged yet
    assert refresh(engine).mode == "current"
    assert leaderboard(engine, "ai_score").rows == []
    _judge(engine, fake_server, "fake")
    board = leaderboard(engine, "ai_score", limit=50)  # refreshes itself
    assert board.rows and board == leaderboard(engine, "ai_score", limit=50, use_aggregates=False)
    assert refresh(engine).mode == "current"
