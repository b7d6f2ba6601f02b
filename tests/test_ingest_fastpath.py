"""The batched write path of an ingest on SQLite and PostgreSQL: new papers take ids
reserved for their batch and go in with one executemany, next to papers the batch
matches; a bad row or a row the database refuses inside such a batch costs only
that row; ids stay in step after a refused batch; values converted for the driver
(dates, timestamps, booleans) read back as the ORM wrote them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from _pg import pg_server_url, pg_url  # noqa: F401  (fixtures)
from sqlalchemy import text
from sqlmodel import select

from annotator.db import open_db
from annotator.db.engine import session_for
from annotator.db.models import Author, Authorship, Paper, PaperAffiliation, PaperMetric
from annotator.ingest import ingest_paths, store


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(i: int, **extra) -> dict:
    return {
        "id": f"p{i}",
        "title": f"Paper number {i}",
        "abstract": f"Abstract {i}.",
        "authors": [f"Author {i}", "Shared Person"],
        "affiliations": [f"Lab {i % 3}"],
        "published": f"2021-03-{i % 28 + 1:02d}",
        "has_code": i % 2 == 0,
        "citations": i,
        **extra,
    }


def _links(engine) -> dict[int, list[str]]:
    with session_for(engine) as s:
        rows = s.exec(
            select(Authorship.paper_id, Author.name)
            .join(Author, Author.id == Authorship.author_id)
            .order_by(Authorship.paper_id, Authorship.position)
        ).all()
    out: dict[int, list[str]] = {}
    for pid, name in rows:
        out.setdefault(pid, []).append(name)
    return out


def _mixed_batch(engine, tmp_path: Path) -> None:
    """A batch of new papers and papers stored by an earlier file, with a bad row in
    the middle: new ids follow the stored ones, every paper keeps its own authors,
    affiliations and citation snapshot, and the values read back typed."""
    first = ingest_paths(engine, [_jsonl(tmp_path / "a.jsonl", [_row(i) for i in range(4)])])
    assert (first.new, first.rejected) == (4, 0)
    rows = [
        _row(10),
        _row(1, abstract="Changed abstract."),
        _row(11),
        {"id": "bad", "title": "No abstract"},
        _row(2),
        _row(12, authors=["Author 2"]),
    ]
    second = ingest_paths(engine, [_jsonl(tmp_path / "b.jsonl", rows)])
    assert (second.new, second.updated, second.unchanged, second.rejected) == (3, 1, 1, 1)
    assert (second.errors[0].line, second.errors[0].field) == (4, "abstract")
    with session_for(engine) as s:
        papers = {p.external_id: p for p in s.exec(select(Paper)).all()}
        affs = s.exec(select(PaperAffiliation.paper_id).order_by(PaperAffiliation.paper_id)).all()
        metrics = s.exec(select(PaperMetric.paper_id, PaperMetric.citations)).all()
        authors = s.exec(select(Author.name)).all()
    old_ids = [papers[f"p{i}"].id for i in range(4)]
    new_ids = [papers[k].id for k in ("p10", "p11", "p12")]
    assert min(new_ids) > max(old_ids) and new_ids == sorted(new_ids)
    assert second.paper_ids == [new_ids[0], old_ids[1], new_ids[1], old_ids[2], new_ids[2]]
    assert papers["p1"].abstract == "Changed abstract."
    links = _links(engine)
    assert links[new_ids[0]] == ["Author 10", "Shared Person"]
    assert links[new_ids[2]] == ["Author 2"]  # an author stored by the first file
    assert sorted(authors) == sorted({f"Author {i}" for i in (0, 1, 2, 3, 10, 11)} | {"Shared Person"})
    assert sorted(affs) == sorted(old_ids + new_ids)
    assert sorted(metrics) == sorted(
        [(pid, i) for pid, i in zip(old_ids, range(4))] + [(new_ids[0], 10), (new_ids[1], 11), (new_ids[2], 12)]
    )
    p11 = papers["p11"]
    assert p11.published == date(2021, 3, 12) and p11.has_code is False
    assert papers["p10"].has_code is True and p11.is_eval is False
    created = p11.created_at if p11.created_at.tzinfo else p11.created_at.replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - created).total_seconds()) < 600
    again = ingest_paths(engine, [tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    # a.jsonl's p1 restores its abstract, b.jsonl's changes it back: the pair settles
    assert (again.new, again.rejected) == (0, 1)
    assert again.paper_ids == first.paper_ids + second.paper_ids


def test_mixed_batch_sqlite(tmp_path):
    engine = open_db(str(tmp_path / "mixed.db"))
    _mixed_batch(engine, tmp_path)
    with session_for(engine) as s:  # a row written by the ORM, to compare the stored text
        s.add(
            Paper(
                key="ext:orm", title="ORM", norm_title="orm", abstract="A.", published=date(2021, 3, 12), has_code=False
            )
        )
        s.commit()
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT external_id, published, created_at, updated_at, has_code FROM papers "
            "WHERE external_id = 'p11' OR key = 'ext:orm' ORDER BY id"
        ).all()
    (_, pub, created, updated, code), (_, orm_pub, orm_created, orm_updated, orm_code) = stored
    assert (pub, code) == (orm_pub, orm_code) == ("2021-03-12", 0)
    shape = [(len(v), v[4], v[10]) for v in (created, updated, orm_created, orm_updated)]
    assert len(set(shape)) == 1, stored
    engine.dispose()


@pytest.mark.postgres
def test_mixed_batch_postgres(pg_url, tmp_path):
    _mixed_batch(open_db(pg_url), tmp_path)


REFUSE = {
    "sqlite": [
        "CREATE TRIGGER no_bad BEFORE INSERT ON papers WHEN NEW.title = 'Bad' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION no_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.title = 'Bad' THEN RAISE EXCEPTION 'refused'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER no_bad BEFORE INSERT ON papers FOR EACH ROW EXECUTE FUNCTION no_bad()",
    ],
}


def _refused_batch(engine, tmp_path: Path, monkeypatch) -> None:
    """A row the database refuses inside a batch: the batch is stored again one record
    at a time, only that row is rejected (naming its line), the ids the summary hands
    back are the stored ones, and the next file's papers and links come after them."""
    monkeypatch.setattr(store, "BATCH", 4)
    with engine.begin() as conn:
        for statement in REFUSE[engine.dialect.name]:
            conn.execute(text(statement))
    rows = [_row(i, title="Bad" if i == 5 else f"Paper {i}") for i in range(10)]
    first = ingest_paths(engine, [_jsonl(tmp_path / "one.jsonl", rows)])
    assert (first.new, first.rejected) == (9, 1)
    assert first.errors[0].line == 6 and "refused" in str(first.errors[0])
    more = ingest_paths(
        engine,
        [_jsonl(tmp_path / "two.jsonl", [_row(20, authors=["Author 4", "Author 5"]), _row(3, abstract="New text.")])],
    )
    assert (more.new, more.updated) == (1, 1)
    with session_for(engine) as s:
        stored = s.exec(select(Paper.id, Paper.external_id).order_by(Paper.id)).all()
    assert [e for _, e in stored] == [f"p{i}" for i in range(10) if i != 5] + ["p20"]
    ids = [i for i, _ in stored]
    assert first.paper_ids + more.paper_ids[:1] == ids and more.paper_ids[1] == ids[3]
    links = _links(engine)
    assert set(links) == set(ids)
    assert links[ids[-1]] == ["Author 4", "Author 5"]  # "Author 5" was refused with its paper
    assert all(links[pid] == [f"Author {e[1:]}", "Shared Person"] for pid, e in stored[:-1])


def test_refused_batch_sqlite(tmp_path, monkeypatch):
    engine = open_db(str(tmp_path / "refused.db"))
    _refused_batch(engine, tmp_path, monkeypatch)
    engine.dispose()


@pytest.mark.postgres
def test_refused_batch_postgres(pg_url, tmp_path, monkeypatch):
    _refused_batch(open_db(pg_url), tmp_path, monkeypatch)


def test_stored_author_gains_ids_in_one_batch(tmp_path):
    """Authors stored by name gain the ORCID and OpenAlex id a later batch gives them
    (several authors, different columns), and later rows match them by those ids."""
    engine = open_db(str(tmp_path / "fill.db"))
    ingest_paths(
        engine,
        [
            _jsonl(
                tmp_path / "a.jsonl",
                [{"id": "a", "title": "A", "abstract": "A.", "authors": ["Ann Lee", "Bo Chen", "Cy Dam"]}],
            )
        ],
    )
    ingest_paths(
        engine,
        [
            _jsonl(
                tmp_path / "b.jsonl",
                [
                    {
                        "id": "b",
                        "title": "B",
                        "abstract": "B.",
                        "authors": [
                            {"name": "Ann Lee", "orcid": "0000-0001"},
                            {"name": "Bo Chen", "openalex_id": "A9"},
                            {"name": "Cy Dam", "orcid": "0000-0003", "openalex_id": "A7"},
                        ],
                    },
                    {
                        "id": "c",
                        "title": "C",
                        "abstract": "C.",
                        "authors": [{"name": "A. Lee", "orcid": "https://orcid.org/0000-0001"}],
                    },
                ],
            )
        ],
    )
    with session_for(engine) as s:
        authors = s.exec(select(Author.name, Author.orcid, Author.openalex_id).order_by(Author.id)).all()
    assert authors == [("Ann Lee", "0000-0001", None), ("Bo Chen", None, "A9"), ("Cy Dam", "0000-0003", "A7")]
    assert _links(engine)[3] == ["Ann Lee"]
    engine.dispose()


def test_cache_and_collector_settings_restored(tmp_path):
    """The ingest connection's larger page cache and the collector's thresholds are
    put back when the ingest ends."""
    import gc

    engine = open_db(str(tmp_path / "restore.db"))
    before = gc.get_threshold()
    ingest_paths(engine, [_jsonl(tmp_path / "a.jsonl", [_row(1)])])
    assert gc.get_threshold() == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() != -store.CACHE_KIB
    engine.dispose()
