"""Batched writes of an ingest: rows that meet inside one batch, snapshots per source,
the ids handed back, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _pg import pg_server_url, pg_url  # noqa: F401  (fixtures)
from sqlalchemy import text
from sqlmodel import select

from annotator.db import open_db
from annotator.db.engine import session_for
from annotator.db.models import Author, Authorship, Paper, PaperMetric
from annotator.ingest import ingest_paths, store


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows_meet_in_one_batch(engine, tmp_path: Path) -> None:
    """A later row matching an earlier new one of the same batch (same title and first
    author, other identifiers) updates it; the ids handed back are the stored ones."""
    rows = [
        {"id": "x1", "title": "Shared Title", "abstract": "First.", "authors": ["Ann Lee"], "citations": 2},
        {"id": "other", "title": "Other", "abstract": "B.", "authors": ["Bo Chen", "Ann Lee"]},
        {
            "doi": "10.1/shared",
            "title": "Shared  title",
            "abstract": "Second.",
            "authors": ["Ann Lee", "Bo Chen"],
            "citations": 5,
        },
    ]
    path = _jsonl(tmp_path / "meet.jsonl", rows)
    first = ingest_paths(engine, [path])
    assert (first.new, first.updated, first.rejected) == (2, 1, 0)
    with session_for(engine) as s:
        papers = s.exec(select(Paper.id, Paper.external_id, Paper.doi, Paper.abstract).order_by(Paper.id)).all()
        links = s.exec(
            select(Authorship.paper_id, Author.name)
            .join(Author, Author.id == Authorship.author_id)
            .order_by(Authorship.paper_id, Authorship.position)
        ).all()
        citations = s.exec(select(PaperMetric.citations).order_by(PaperMetric.id)).all()
    (shared, *_), (other, *_) = papers
    assert papers == [(shared, "x1", "10.1/shared", "Second."), (other, "other", None, "B.")]
    assert first.paper_ids == [shared, other, shared]
    assert links == [(shared, "Ann Lee"), (shared, "Bo Chen"), (other, "Bo Chen"), (other, "Ann Lee")]
    assert citations == [5]  # one paper, one source, one day: the batch keeps the last value
    again = ingest_paths(engine, [path])
    # row 1 now differs from the merged paper (abstract), row 3 restores it: the file
    # as a whole keeps ending in the same state
    assert (again.new, again.rejected) == (0, 0)
    with session_for(engine) as s:
        assert s.exec(select(Paper.abstract).where(Paper.id == shared)).one() == "Second."


def test_rows_meet_in_one_batch(tmp_path):
    engine = open_db(str(tmp_path / "meet.db"))
    _rows_meet_in_one_batch(engine, tmp_path)
    engine.dispose()


@pytest.mark.postgres
def test_rows_meet_in_one_batch_postgres(pg_url, tmp_path):
    _rows_meet_in_one_batch(open_db(pg_url), tmp_path)


def test_citation_snapshots_compared_per_source(tmp_path):
    engine = open_db(str(tmp_path / "src.db"))
    row = {"id": "p1", "title": "T", "abstract": "A", "citations": 3}
    assert ingest_paths(engine, [_jsonl(tmp_path / "a.jsonl", [row])]).metrics_added == 1
    csv = tmp_path / "a.csv"
    csv.write_text("id,title,abstract,citations\np1,T,A,3\n")
    from_csv = ingest_paths(engine, [csv])
    assert (from_csv.unchanged, from_csv.metrics_added) == (1, 1)  # another source's snapshot
    assert ingest_paths(engine, [csv, tmp_path / "a.jsonl"]).metrics_added == 0
    with session_for(engine) as s:
        assert s.exec(select(PaperMetric.source, PaperMetric.citations).order_by(PaperMetric.id)).all() == [
            ("jsonl", 3),
            ("csv", 3),
        ]
    engine.dispose()


def test_refused_batch_keeps_ids_in_step(tmp_path, monkeypatch):
    """After a batch is rolled back and stored one record at a time, new papers still
    get the ids the summary reports, and a later file continues after them."""
    monkeypatch.setattr(store, "BATCH", 3)
    engine = open_db(str(tmp_path / "ids.db"))
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER no_bad BEFORE INSERT ON papers "
                "WHEN NEW.title = 'Bad' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    rows = [
        {"id": f"p{i}", "title": "Bad" if i == 4 else f"Paper {i}", "abstract": "A", "authors": [f"Author {i}"]}
        for i in range(8)
    ]
    first = ingest_paths(engine, [_jsonl(tmp_path / "one.jsonl", rows)])
    assert (first.new, first.rejected) == (7, 1) and first.errors[0].line == 5
    more = ingest_paths(
        engine,
        [_jsonl(tmp_path / "two.jsonl", [{"id": "q", "title": "Later", "abstract": "A", "authors": ["Author 0"]}])],
    )
    with session_for(engine) as s:
        stored = s.exec(select(Paper.id, Paper.title).order_by(Paper.id)).all()
    assert [t for _, t in stored] == [f"Paper {i}" for i in range(8) if i != 4] + ["Later"]
    assert first.paper_ids + more.paper_ids == [i for i, _ in stored]
    engine.dispose()
