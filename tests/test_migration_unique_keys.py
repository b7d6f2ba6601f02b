"""``m014_unique_paper_keys`` on a database that already holds one paper twice.

The database is brought back to its state before the migration (no ``title_key``,
no unique indexes, the record gone) and given papers that share a DOI, an
OpenAlex id, an arXiv id or a title and first author, as two ingests at once
could leave them. The migration must not fail: each key stays on one paper
(the one whose key was made from it, else the oldest), the clash is logged, and
the next ingest of the paper updates that one row.
"""

from __future__ import annotations

import logging

from _pg import db_url, pg_server_url, pg_url, write_jsonl  # noqa: F401  (fixtures)
from sqlalchemy import text

from annotator.db import open_db
from annotator.db.engine import dispose_all
from annotator.db.migrations import migrate
from annotator.ingest import ingest_paths

# id, key, arxiv_id, doi, openalex_id, title, first author
PAPERS = [
    (1, "doi:10.1/a", None, "10.1/a", None, "Alpha", "ann"),
    (2, "arxiv:2401.1", "2401.1", "10.1/a", None, "Alpha again", "bo"),  # DOI of 1
    (3, "ext:x3", None, None, "W3", "Gamma", "cy"),
    (4, "ext:x4", None, None, "W3", "Gamma copy", "di"),  # OpenAlex id of 3
    (5, "doi:10.1/e", "2401.5", "10.1/e", None, "Epsilon", "ed"),
    (6, "arxiv:2401.5", "2401.5", None, None, "Epsilon", "ed"),  # arXiv id and title of 5
]


def _before_m014(engine) -> None:
    with engine.begin() as conn:
        for column in ("arxiv_id", "doi", "openalex_id", "title_key"):
            conn.execute(text(f"DROP INDEX IF EXISTS ux_papers_{column}"))
        conn.execute(text("ALTER TABLE papers DROP COLUMN title_key"))
        conn.execute(text("DELETE FROM _migrations WHERE name = 'm014_unique_paper_keys'"))
        for pid, key, arxiv, doi, openalex, title, author in PAPERS:
            conn.execute(
                text(
                    "INSERT INTO papers (id, key, arxiv_id, doi, openalex_id, title, norm_title, "
                    "abstract, categories, authors_truncated, is_eval, content_hash, source_format, "
                    "created_at, updated_at) VALUES (:id, :key, :a, :d, :o, :t, :n, 'An abstract.', "
                    "'[]', false, false, '', 'jsonl', '2026-01-01', '2026-01-01')"
                ),
                dict(id=pid, key=key, a=arxiv, d=doi, o=openalex, t=title, n=title.lower()),
            )
            conn.execute(
                text("INSERT INTO authors (id, name, norm_name, created_at) VALUES (:id, :n, :n, '2026-01-01')"),
                dict(id=pid, n=author),
            )
            conn.execute(
                text("INSERT INTO authorships (paper_id, position, author_id) VALUES (:id, 0, :id)"), dict(id=pid)
            )
        if engine.dialect.name == "postgresql":
            for table in ("papers", "authors"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))


def test_existing_duplicates_are_reported_and_the_keys_made_unique(db_url, tmp_path, caplog):  # noqa: F811
    engine = open_db(db_url)
    _before_m014(engine)
    dispose_all()
    with caplog.at_level(logging.WARNING, logger="annotator.db.migrations"):
        assert migrate(open_db(db_url, migrate_now=False)) == ["m014_unique_paper_keys"]
    engine = open_db(db_url)
    with engine.connect() as conn:
        got = {
            r[0]: tuple(r[1:])
            for r in conn.execute(text("SELECT id, arxiv_id, doi, openalex_id, title_key FROM papers ORDER BY id"))
        }
    assert got == {
        1: (None, "10.1/a", None, "alpha|ann"),
        2: ("2401.1", None, None, "alpha again|bo"),
        3: (None, None, "W3", "gamma|cy"),
        4: (None, None, None, "gamma copy|di"),
        5: (None, "10.1/e", None, "epsilon|ed"),
        6: ("2401.5", None, None, None),
    }
    warned = " ".join(r.getMessage() for r in caplog.records)
    for clash in (
        "papers 1, 2 share doi '10.1/a'",
        "papers 3, 4 share openalex_id 'W3'",
        "papers 6, 5 share arxiv_id '2401.5'",
        "papers 5, 6 share title_key",
    ):
        assert clash in warned
    # the keys are unique now, and an ingest of the paper again finds the one row
    again = write_jsonl(
        tmp_path / "again.jsonl",
        [
            {"title": "Alpha", "doi": "10.1/A", "abstract": "An abstract.", "authors": ["Ann"]},
            {"title": "Gamma", "openalex_id": "W3", "abstract": "An abstract.", "authors": ["Zed"]},
        ],
    )
    summary = ingest_paths(engine, [again])
    assert (summary.new, summary.rejected) == (0, 0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM papers")).scalar_one() == 6
