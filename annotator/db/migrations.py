"""Named, ordered migrations, recorded in the ``_migrations`` table.

Each migration is a function ``mNNN_description(conn)`` registered with
``@migration``; they run in name order, each in its own transaction together
with its record, so a failure leaves the database at the previous step.

One source of truth: the models in ``db.models`` (tables, columns, indexes and
constraints). A blank database is built from them in one step and every
migration is recorded as applied ("baseline"); the migrations exist to bring an
older database forward to the same schema. ``tests/test_schema.py`` builds one
database each way, on SQLite and PostgreSQL, and compares them.

Rules for a new migration: change the model first, then add ``mNNN_name`` that
makes an existing database match it, idempotently (``add_column`` and
``create_tables`` skip what already exists).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import annotator.db.models  # noqa: F401  (registers the tables)
from annotator.db.engine import writer

MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = []
LOG = logging.getLogger(__name__)


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    MIGRATIONS.append((fn.__name__, fn))
    MIGRATIONS.sort(key=lambda item: item[0])
    return fn


def create_tables(conn: Connection, *names: str) -> None:
    tables = [SQLModel.metadata.tables[n] for n in names]
    SQLModel.metadata.create_all(conn, tables=tables, checkfirst=True)


def add_column(conn: Connection, table: str, column: str, ddl_type: str) -> None:
    """``ALTER TABLE ... ADD COLUMN`` unless the column is already there."""
    existing = {c["name"] for c in inspect(conn).get_columns(table)}
    if column not in existing:
        conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{column}" {ddl_type}'))


def create_indexes(conn: Connection, *names: str) -> None:
    """Create the models' indexes of these names (skipping those that exist)."""
    wanted = set(names)
    for table in SQLModel.metadata.tables.values():
        for index in table.indexes:
            if index.name in wanted:
                index.create(conn, checkfirst=True)
                wanted.discard(index.name)
    if wanted:
        raise LookupError(f"no such index in the models: {sorted(wanted)}")


@migration
def m001_initial(conn: Connection) -> None:
    """The first release's tables. Only ever part of a baseline (see ``migrate``)."""
    SQLModel.metadata.create_all(conn)


@migration
def m002_profile_indexes(conn: Connection) -> None:
    """Indexes for author profiles and leaderboards (see ``db.models``)."""
    create_indexes(
        conn,
        "ix_judgments_pv_model_paper",
        "ix_authorships_paper_author",
        "ix_author_metrics_latest",
        "ix_paper_metrics_latest",
        "ix_paper_affiliations_affiliation",
    )


@migration
def m003_author_papers(conn: Connection) -> None:
    create_tables(conn, "author_papers")


@migration
def m004_batches(conn: Connection) -> None:
    """Batch API submissions (``annotator batch``) and which calls went through one."""
    create_tables(conn, "batches", "batch_items")
    add_column(conn, "llm_calls", "batch_id", "VARCHAR")
    create_indexes(conn, "ix_llm_calls_batch_id")


@migration
def m005_claim_index(conn: Connection) -> None:
    """Claiming tasks reads pending ones of one prompt version and model in id order."""
    create_indexes(conn, "ix_tasks_claim")


@migration
def m006_calibrations(conn: Connection) -> None:
    create_tables(conn, "calibrations")


@migration
def m007_author_aggregates(conn: Connection) -> None:
    """Author and affiliation aggregates behind the leaderboards (``annotator.biblio.aggregates``);
    empty here, filled by the first refresh."""
    create_tables(
        conn, "agg_author_scores", "agg_author_stats", "agg_affiliation_scores", "agg_affiliation_stats", "agg_marks"
    )


@migration
def m008_judgment_methods(conn: Connection) -> None:
    """The judging method of each judgment and the details it measured."""
    add_column(conn, "judgments", "method", "VARCHAR NOT NULL DEFAULT 'direct'")
    add_column(conn, "judgments", "details_json", "TEXT")


@migration
def m009_fitted_heads(conn: Connection) -> None:
    """Ridge heads fitted on eval suites (``annotator eval fit``)."""
    create_tables(conn, "fitted_heads")


@migration
def m010_fetch_cursors(conn: Connection) -> None:
    """Cursors and leases of recurring fetches (``annotator fetch``, ``feed run``)."""
    create_tables(conn, "fetch_cursors")


@migration
def m011_embedding_cache(conn: Connection) -> None:
    """Embeddings by model and text hash, so a text is embedded once."""
    create_tables(conn, "embedding_cache")


@migration
def m012_paper_indexes(conn: Connection) -> None:
    """A partial index of the eval papers' ids (see ``db.models.Paper``)."""
    create_indexes(conn, "ix_papers_eval_ids")


PARTIAL_ID_INDEXES = tuple(f"ix_papers_{c}" for c in ("arxiv_id", "doi", "openalex_id", "external_id")) + tuple(
    f"ix_authors_{c}" for c in ("openalex_id", "s2_id", "orcid")
)


@migration
def m013_write_indexes(conn: Connection) -> None:
    """Less to write per ingested paper (see ``db.models``): the identifier indexes hold
    only the rows that have the identifier, and ``ix_paper_metrics_paper_id`` goes
    (``ix_paper_metrics_latest`` starts with the same column)."""
    for name in PARTIAL_ID_INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    # the papers' arXiv, DOI and OpenAlex indexes became unique ones in m014
    create_indexes(conn, *(n for n in PARTIAL_ID_INDEXES if n in _model_indexes()))
    conn.execute(text("DROP INDEX IF EXISTS ix_paper_metrics_paper_id"))


def _model_indexes() -> set[str]:
    return {str(ix.name) for t in SQLModel.metadata.tables.values() for ix in t.indexes}


# a paper's match keys (``ingest.writer``) and the key prefix that says a paper was
# stored under that identifier (it keeps the identifier when two papers share one)
MATCH_KEYS = {"arxiv_id": "arxiv:", "doi": "doi:", "openalex_id": None, "title_key": "title:"}


def _one_paper_per_key(conn: Connection, column: str, prefix: str | None) -> None:
    """Leave each value of ``column`` on one paper: the one whose key was made from it,
    else the oldest. The others lose the value (their rows, judgments and links stay)
    and each such clash is logged as a warning naming the papers."""
    rows = conn.execute(
        text(
            f"SELECT {column}, id, key FROM papers WHERE {column} IN (SELECT {column} FROM papers "
            f"WHERE {column} IS NOT NULL GROUP BY {column} HAVING COUNT(*) > 1) "
            f"ORDER BY {column}, id"
        )
    ).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for value, pid, key in rows:
        groups.setdefault(value, []).append((pid, key))
    cleared: list[int] = []
    for value, papers in groups.items():
        keeper = next((pid for pid, key in papers if prefix and key == prefix + value), papers[0][0])
        others = [pid for pid, _ in papers if pid != keeper]
        cleared += others
        LOG.warning(
            "papers %s share %s %r: it stays on paper %d only",
            ", ".join(map(str, [keeper, *others])),
            column,
            value,
            keeper,
        )
    clear = text(f"UPDATE papers SET {column} = NULL WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
    for start in range(0, len(cleared), 500):
        conn.execute(clear, {"ids": cleared[start : start + 500]})


@migration
def m014_unique_paper_keys(conn: Connection) -> None:
    """A paper's match keys (arXiv id, DOI, OpenAlex id, normalised title plus first author
    in the new ``title_key``) become unique, so two ingests at once cannot store one paper
    twice. Papers that already share a key keep their rows; the key stays on one of them
    (see ``_one_paper_per_key``), so the migration cannot fail on a user's database."""
    add_column(conn, "papers", "title_key", "VARCHAR")
    conn.execute(
        text(
            "UPDATE papers SET title_key = norm_title || '|' || (SELECT NULLIF(a.norm_name, '') "
            "FROM authorships s JOIN authors a ON a.id = s.author_id "
            "WHERE s.paper_id = papers.id AND s.position = 0) WHERE title_key IS NULL"
        )
    )
    for column, prefix in MATCH_KEYS.items():
        _one_paper_per_key(conn, column, prefix)
        conn.execute(text(f"DROP INDEX IF EXISTS ix_papers_{column}"))
    create_indexes(conn, *(f"ux_papers_{c}" for c in MATCH_KEYS))


@migration
def m015_embedding_cache_fingerprints(conn: Connection) -> None:
    """The embedding cache is keyed by the model's fingerprint (``fp:<id>``, the vector of a
    probe text; see ``heads.vector_store``), no longer by its name. Rows keyed by a name
    alone cannot be told apart from another model served under that name: they are
    removed (the texts are embedded again on demand); the probe rows stay."""
    conn.execute(text("DELETE FROM embedding_cache WHERE model NOT LIKE 'fp:%' AND model <> 'probe'"))


def _ensure_table(conn: Connection) -> None:
    conn.execute(
        text("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)")
    )


def applied_migrations(engine: Engine) -> list[str]:
    with writer(engine).begin() as conn:
        _ensure_table(conn)
        return [r[0] for r in conn.execute(text("SELECT name FROM _migrations ORDER BY name"))]


def _record(conn: Connection, name: str) -> None:
    conn.execute(
        text("INSERT INTO _migrations (name, applied_at) VALUES (:n, :t)"),
        {"n": name, "t": datetime.now(UTC).isoformat()},
    )


def _lock(conn: Connection) -> None:
    # one migrator at a time across processes: SQLite's write lock is taken at
    # BEGIN (``writer``); PostgreSQL takes an advisory lock
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7261)"))


def migrate(engine: Engine) -> list[str]:
    """Bring the database to the models' schema; returns the migrations recorded now.

    A blank database (no migration recorded) is built from the models in one
    transaction and every migration is recorded; otherwise each pending
    migration runs in its own transaction together with its record.
    """
    done = set(applied_migrations(engine))
    if not done:
        with writer(engine).begin() as conn:
            _lock(conn)
            if conn.execute(text("SELECT COUNT(*) FROM _migrations")).scalar_one() == 0:
                SQLModel.metadata.create_all(conn)
                for name, _ in MIGRATIONS:
                    _record(conn, name)
                return [name for name, _ in MIGRATIONS]
        done = set(applied_migrations(engine))
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with writer(engine).begin() as conn:
            _lock(conn)
            already = conn.execute(text("SELECT 1 FROM _migrations WHERE name = :n"), {"n": name}).first()
            if already:
                continue
            fn(conn)
            _record(conn, name)
        applied.append(name)
    return applied
