"""The write-side schema (``m013_write_indexes``): smaller indexes, the same look-ups.

* Every look-up the matcher, ``authors show`` and an ingest make on the columns whose
  indexes became partial (identifiers most rows lack) still seeks an index: the
  statements are recorded as the real code issues them and explained by the
  database itself (SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN with sequential
  scans priced out, so a plan that still scans has no index to use).
* A database migrated from the first release has the same partial predicates as a
  fresh one (``tests/test_schema.py`` compares index names and columns, not those).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from _pg import pg_server_url, pg_url  # noqa: F401  (fixtures)
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from test_schema import freeze_oldest

from annotator.biblio.match import Matcher
from annotator.biblio.profiles import find_author
from annotator.biblio.sources import AuthorMetrics, PaperMetrics
from annotator.db import open_db
from annotator.db.engine import database_url, make_engine
from annotator.db.migrations import migrate
from annotator.errors import InputError
from annotator.ingest.store import ingest_paths


def _papers(path: Path, n: int = 60) -> Path:
    """JSONL rows with each kind of identifier, and an author with an ORCID."""
    rows = []
    for i in range(n):
        ids = (
            {"arxiv_id": f"2401.{i:05d}"} if i % 3 == 0 else {"doi": f"10.1/t{i}"} if i % 3 == 1 else {"id": f"own-{i}"}
        )
        first = {"name": "Ana Kim", "orcid": "0000-0001-0000-0001"} if i % 4 == 0 else "Bo Li"
        rows.append(
            json.dumps(
                {
                    "title": f"Paper {i}",
                    "abstract": f"About {i}.",
                    **ids,
                    "authors": [first, f"Chen {i % 7}"],
                    "affiliations": [f"Lab {i % 5}", "Lab X"],
                    "citations": i,
                }
            )
        )
    path.write_text("\n".join(rows) + "\n")
    return path


def _selects(engine: Engine, run: Callable[[], object]) -> list[tuple[str, object]]:
    """The SELECT statements ``run`` sends to the database, with their parameters."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def _lookups(engine: Engine) -> list[tuple[str, object]]:
    """What matching imported metrics and finding authors ask, every id given and none
    found, so each look-up in the chain runs."""

    def run() -> None:
        with engine.connect() as conn:
            matcher = Matcher(conn)
            assert not matcher.paper(
                PaperMetrics(
                    source="csv",
                    title="Nothing",
                    doi="10.9/none",
                    arxiv_id="2999.00001",
                    openalex_id="W1",
                    s2_id="abc",
                    external_id="own-none",
                )
            ).ok
            assert not matcher.author(
                AuthorMetrics(source="csv", name="Nobody", openalex_id="A1", s2_id="9", orcid="0000-0009-0000-0000")
            ).ok
            for query in ("orcid:0000-0001-0000-0001", "openalex:A1", "s2:9"):
                try:
                    find_author(conn, query)
                except InputError:
                    pass

    return _selects(engine, run)


def _sqlite_scans(engine: Engine, statements: list[tuple[str, object]]) -> list[str]:
    scans = []
    with engine.connect() as conn:
        for sql, params in statements:
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params):  # type: ignore[arg-type]
                if row[-1].startswith("SCAN"):
                    scans.append(f"{row[-1]}  <-  {' '.join(sql.split())}")
    return scans


def test_identifier_lookups_seek_an_index_on_sqlite(tmp_path):
    engine = open_db(str(tmp_path / "p.db"))
    ingest_paths(engine, [_papers(tmp_path / "p.jsonl")])
    statements = _lookups(engine)
    tables = {t for sql, _ in statements for t in re.findall(r"FROM (\w+)", sql)}
    assert {"papers", "authors"} <= tables and len(statements) >= 10
    assert _sqlite_scans(engine, statements) == []


def test_an_ingest_again_reads_links_by_key_on_sqlite(tmp_path):
    """The second ingest of a file reads the batch's stored rows, authors, affiliations
    and citation snapshots by paper id: each a seek (the full read of every paper's
    identity for matching is the one scan an ingest makes, and has no WHERE)."""
    engine = open_db(str(tmp_path / "p.db"))
    path = _papers(tmp_path / "p.jsonl")
    ingest_paths(engine, [path])
    statements = [(s, p) for s, p in _selects(engine, lambda: ingest_paths(engine, [path])) if "WHERE" in s.upper()]
    assert any("authorships" in s for s, _ in statements)
    assert any("paper_affiliations" in s for s, _ in statements)
    assert any("paper_metrics" in s for s, _ in statements)
    assert _sqlite_scans(engine, statements) == []


def test_the_plan_check_sees_a_scan(tmp_path):
    """The check can fail: a look-up that no index serves is reported."""
    engine = open_db(str(tmp_path / "p.db"))
    ingest_paths(engine, [_papers(tmp_path / "p.jsonl", 5)])
    found = _sqlite_scans(engine, [("SELECT id FROM papers WHERE doi IS NULL", ())])
    assert len(found) == 1 and found[0].startswith("SCAN papers")


@pytest.mark.postgres
def test_identifier_lookups_seek_an_index_on_postgres(pg_url, tmp_path):  # noqa: F811
    engine = open_db(pg_url)
    ingest_paths(engine, [_papers(tmp_path / "p.jsonl")])
    statements = _lookups(engine)
    assert len(statements) >= 10
    scans = []
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for sql, params in statements:
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))  # type: ignore[arg-type]
            if re.search(r"Seq Scan on (papers|authors)\b", plan):
                scans.append(f"{plan}\n  <-  {sql}")
    assert scans == []


# -- migrated equals fresh, in what tests/test_schema.py does not compare ----------------


@pytest.fixture
def both(request, tmp_path) -> tuple[Engine, Engine]:
    """(fresh, oldest brought forward), on SQLite files or in two PostgreSQL schemas."""
    if request.param == "sqlite":
        made = [make_engine(database_url(str(tmp_path / f"{n}.db"))) for n in ("fresh", "oldest")]
    else:
        url = database_url(request.getfixturevalue("pg_url"))
        with make_engine(url).begin() as conn:
            conn.execute(text("CREATE SCHEMA fresh; CREATE SCHEMA oldest"))
        made = [create_engine(url, connect_args={"options": f"-csearch_path={n}"}) for n in ("fresh", "oldest")]
    migrate(made[0])
    freeze_oldest(made[1])
    migrate(made[1])
    return made[0], made[1]


def _index_ddl(engine: Engine) -> dict[str, str]:
    """Every index's definition as the database reports it (the partial predicate too)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        else:
            rows = conn.exec_driver_sql(
                "SELECT indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes "
                "WHERE schemaname = current_schema()"
            )
        return {name: " ".join(ddl.replace('"', "").replace("(", " ").replace(")", " ").split()) for name, ddl in rows}


@pytest.mark.parametrize("both", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_migrated_database_has_the_partial_indexes(both):
    fresh, oldest = both
    want = _index_ddl(fresh)
    assert _index_ddl(oldest) == want
    assert want["ux_papers_doi"].endswith("WHERE doi IS NOT NULL")  # unique since m014
    assert want["ix_authors_orcid"].endswith("WHERE orcid IS NOT NULL")
    assert "ix_paper_metrics_paper_id" not in want
    assert "ix_authorships_paper_author" in want  # the leaderboards' plans need it
