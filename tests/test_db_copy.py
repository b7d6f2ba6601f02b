"""``annotator db copy``: every table moves, ids kept, resumable, refused over other data.

The source is a SQLite database filled the way a user fills one: a feed page and a JSONL
file ingested, OpenAlex and CSV bibliometrics imported, papers judged against the fake
server (with HTTP faults, so stored calls include failures), embeddings cached under two
models whose names sort differently by byte and by en_US rules, aggregates refreshed. The
copy goes to PostgreSQL and back, and the final database must hold exactly the original
rows. PostgreSQL runs twice: with the en_US.UTF-8 collation the official image gives a
database, and with collation C.

A copy reads the source in one snapshot: the last tests let a worker finish tasks on the
source between two tables of a copy (through the copy's per-table callback) and check
that the destination is the source as it was when the copy began.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _pg import (  # noqa: F401
    pg_any_url,
    pg_server_url,
    pg_server_url_c,
    pg_url,
    pg_url_c,
    write_papers,
)
from conftest import SEED_PAGE
from sqlalchemy import insert, select, text
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from annotator import cli
from annotator.biblio.aggregates import refresh
from annotator.biblio.save import import_paths, link_feed_pages
from annotator.db import open_db
from annotator.db.copy import CopyError, copy_database, copy_table
from annotator.db.models import Author, Judgment, Paper
from annotator.ingest import ingest_paths
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.settings import get_settings
from annotator.testing.fakeserver import FakeServer

BIBLIO = Path(__file__).parent / "fixtures" / "biblio"
TABLES = SQLModel.metadata.sorted_tables
# byte order puts "SmolLM2-135M" first ('S' < 's'); en_US folds case, ignores the '-'
# at first and puts the shorter "smollm2" first
EMBEDDING_MODELS = ("SmolLM2-135M", "smollm2", "all-MiniLM_L6")


@pytest.fixture(
    params=["sqlite", pytest.param("en_US", marks=pytest.mark.postgres), pytest.param("C", marks=pytest.mark.postgres)]
)
def db_url(request, tmp_path):
    """A SQLite file, then PostgreSQL databases with collations en_US.UTF-8 and C."""
    if request.param == "sqlite":
        return str(tmp_path / "test.db")
    return request.getfixturevalue("pg_url" if request.param == "en_US" else "pg_url_c")


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in key order (text by code point, whatever the collation)."""
    engine = open_db(url)
    with engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=_key_of(t)) for t in TABLES}


def _key_of(table):
    at = [list(table.columns).index(c) for c in table.primary_key.columns]
    return lambda row: [row[i] for i in at]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Iterator[str]:
    """Built once for the module; the tests only read it."""
    path = str(tmp_path_factory.mktemp("source") / "source.db")
    with pytest.MonkeyPatch.context() as env, FakeServer() as fake_server:
        env.setenv("ANNOTATOR_RETRY_WAIT_SCALE", "0")
        yield fill(path, fake_server, tmp_path_factory.mktemp("files"))


def fill(path: str, fake_server: FakeServer, tmp_path: Path) -> str:
    engine = open_db(path)
    for file in (SEED_PAGE, write_papers(tmp_path / "papers.jsonl", 30)):
        assert not ingest_paths(engine, [str(file)]).errors
    import_paths(
        engine,
        [BIBLIO / "openalex_author.json", BIBLIO / "openalex_works_page1.json", BIBLIO / "openalex_works_page2.json"],
    )
    import_paths(engine, [BIBLIO / "paper_metrics.csv"])
    import_paths(engine, [BIBLIO / "author_metrics.csv"])
    link_feed_pages(engine, [SEED_PAGE])
    fake_server.configure(fault_rates={"503": 0.2, "bad_json": 0.1})
    settings = get_settings(base_url=fake_server.base_url, api_key="sk-test", timeout_s=5.0)
    done = annotate(engine, settings, AnnotateOptions(model="fake-model", concurrency=4))
    assert done.done > 30
    cache = SQLModel.metadata.tables["embedding_cache"]
    with engine.begin() as conn:
        conn.execute(
            insert(cache),
            [
                {
                    "model": model,
                    "text_hash": f"{k}{i:x}",
                    "dim": 4,
                    "vector": f"v{i}",
                    "created_at": datetime(2024, 5, 1, tzinfo=UTC),
                }
                for k, model in enumerate(EMBEDDING_MODELS)
                for i in range(20)
            ],
        )
    refresh(engine, full=True)
    return path


def test_the_source_fills_the_tables_a_copy_must_carry(source):
    rows = dump(source)
    for name in (
        "papers",
        "authors",
        "authorships",
        "author_metrics",
        "paper_metrics",
        "author_papers",
        "prompt_versions",
        "tasks",
        "judgments",
        "llm_calls",
        "embedding_cache",
        "agg_author_scores",
        "agg_marks",
    ):
        assert rows[name], name
    column = [c.name for c in SQLModel.metadata.tables["llm_calls"].columns].index("outcome")
    outcomes = {r[column] for r in rows["llm_calls"]}
    assert "ok" in outcomes and len(outcomes) > 1  # failed attempts are stored calls too


@pytest.mark.postgres
def test_sqlite_to_postgres_and_back_keeps_every_row(source, pg_any_url, tmp_path):
    there = copy_database(source, pg_any_url)
    assert there.ok, [t.table for t in there.tables if not t.ok]
    assert there.rows == sum(len(v) for v in dump(source).values())
    assert [t.table for t in there.tables] == [t.name for t in TABLES]
    again = copy_database(source, pg_any_url)  # a re-run finds every row already there
    assert again.ok and sum(t.copied for t in again.tables) == 0
    back = copy_database(pg_any_url, str(tmp_path / "back.db"))
    assert back.ok
    assert [(t.source_checksum, t.source_rows) for t in back.tables] == [
        (t.dest_checksum, t.dest_rows) for t in there.tables
    ]
    assert dump(str(tmp_path / "back.db")) == dump(source)


def test_rows_added_after_a_copy_get_fresh_ids(source, db_url):
    copy_database(source, db_url)
    before = dump(db_url)
    with Session(open_db(db_url)) as session:
        paper = Paper(key="new:1", title="New", norm_title="new", abstract="A new paper.")
        author = Author(name="New Author", norm_name="new author")
        session.add_all([paper, author])
        session.commit()
        assert paper.id == max(r[0] for r in before["papers"]) + 1
        assert author.id == max(r[0] for r in before["authors"]) + 1


def test_an_interrupted_copy_goes_on_without_duplicates(source, db_url):
    src, dst = open_db(source), open_db(db_url)
    partial = next(t for t in TABLES if t.name == "judgments")
    for table in TABLES[: TABLES.index(partial)]:  # the copy got this far, then stopped
        assert copy_table(src, dst, table).ok
    judgments = dump(source)["judgments"]
    names = [c.name for c in partial.columns]
    with dst.begin() as conn:
        conn.execute(insert(partial), [dict(zip(names, r)) for r in judgments[:7]])

    report = copy_database(source, db_url, chunk=5)
    assert report.ok
    resumed = {t.table: t for t in report.tables}
    assert (resumed["judgments"].already, resumed["judgments"].copied) == (7, len(judgments) - 7)
    assert resumed["papers"].copied == 0 and resumed["llm_calls"].already == 0
    assert dump(db_url) == dump(source)
    again = copy_database(source, db_url)
    assert again.ok and sum(t.copied for t in again.tables) == 0
    assert dump(db_url) == dump(source)


def test_a_destination_holding_other_data_is_refused(source, tmp_path):
    other = str(tmp_path / "other.db")
    assert not ingest_paths(open_db(other), [str(write_papers(tmp_path / "o.jsonl", 3, prefix="x"))]).errors
    with pytest.raises(CopyError, match=r"authors: the destination's row id=1 differs"):
        copy_database(source, other)

    copied = str(tmp_path / "copied.db")
    copy_database(source, copied)
    with open_db(copied).begin() as conn:
        conn.execute(Judgment.__table__.update().where(Judgment.__table__.c.id == 3).values(ai_score=101))
    with pytest.raises(CopyError, match=r"judgments: the destination's row id=3 differs"):
        copy_database(source, copied)

    r = CliRunner().invoke(cli.app, ["db", "copy", source, other])
    assert r.exit_code == CopyError.exit_code and "refusing to copy" in r.output


def test_missing_source_and_copy_onto_itself_are_refused(source, tmp_path):
    with pytest.raises(CopyError, match="source database not found"):
        copy_database(str(tmp_path / "nope.db"), str(tmp_path / "dst.db"))
    with pytest.raises(CopyError, match="same database"):
        copy_database(source, source)


def test_cli_prints_the_per_table_report(source, tmp_path):
    dst = str(tmp_path / "dst.db")
    r = CliRunner().invoke(cli.app, ["db", "copy", source, dst, "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["ok"] and {t["table"] for t in data["tables"]} == {t.name for t in TABLES}
    papers = next(t for t in data["tables"] if t["table"] == "papers")
    assert papers["source_rows"] == papers["dest_rows"] == len(dump(source)["papers"])
    assert papers["source_checksum"] == papers["dest_checksum"]
    table = CliRunner().invoke(cli.app, ["db", "copy", source, dst], catch_exceptions=False)
    assert table.exit_code == 0 and "judgments" in table.stdout and "rows/s" in table.stdout


def count(url: str, sql: str) -> int:
    with open_db(url).connect() as conn:
        return conn.execute(text(sql)).scalar_one()


JUDGED_PENDING = "SELECT COUNT(*) FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.state = 'pending'"


@pytest.mark.parametrize("dest_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_copy_reads_the_source_as_it_was_when_the_copy_began(db_url, dest_kind, fake_server, tmp_path, request):
    """Workers finish tasks on the source while the copy runs (between its tables)."""
    engine = open_db(db_url)
    assert not ingest_paths(engine, [str(write_papers(tmp_path / "p.jsonl", 12))]).errors
    settings = get_settings(base_url=fake_server.base_url, api_key="sk-test", timeout_s=5.0)
    assert annotate(engine, settings, AnnotateOptions(model="fake-model", limit=4)).done == 4
    before = {t.name: count(db_url, f"SELECT COUNT(*) FROM {t.name}") for t in TABLES}
    assert count(db_url, "SELECT COUNT(*) FROM tasks WHERE state = 'pending'") == 8

    worked: list[int] = []

    def worker_between_tables(done) -> None:  # the tasks are copied, the judgments not yet
        if done.table == "tasks":
            worked.append(annotate(engine, settings, AnnotateOptions(model="fake-model")).done)

    if dest_kind == "sqlite":
        dst = str(tmp_path / "dst.db")
    else:  # another database than the source's
        dst = request.getfixturevalue("pg_url_c" if request.node.callspec.params["db_url"] == "en_US" else "pg_url")
    report = copy_database(db_url, dst, progress=worker_between_tables)
    assert worked == [8] and count(db_url, "SELECT COUNT(*) FROM judgments") == 12
    assert report.ok
    assert count(dst, JUDGED_PENDING) == 0
    assert {t.table: t.source_rows for t in report.tables} == before
    assert {t.name: count(dst, f"SELECT COUNT(*) FROM {t.name}") for t in TABLES} == before
    assert count(dst, "SELECT COUNT(*) FROM tasks WHERE state = 'pending'") == 8


@pytest.mark.postgres
def test_the_snapshot_of_a_postgres_source_is_repeatable_read_and_read_only(pg_any_url):
    from annotator.db.copy import snapshot

    with snapshot(open_db(pg_any_url)) as conn:
        assert conn.execute(text("SHOW transaction_isolation")).scalar_one() == "repeatable read"
        with pytest.raises(Exception, match="read-only transaction"):
            conn.execute(text("DELETE FROM agg_marks"))
