"""Fixtures and helpers for the reliability, crash, PostgreSQL and security tests.

PostgreSQL: tests that need it take ``pg_url`` (or ``db_url`` with the
``postgres`` parameter) and are marked ``postgres``. They read the server from
``ANNOTATOR_TEST_PG_URL`` (``.ci/pg.sh`` starts one and sets it); each test
gets a database of its own, created from that URL and dropped afterwards.
Without the variable they are skipped with a visible reason, and fail instead
when ``ANNOTATOR_REQUIRE_PG=1`` (CI sets both, so they never pass silently).

Collation: a test's database sorts text like the database the URL names
(same provider, collation and ctype, made from ``template0``). ``.ci/pg.sh``
names an en_US.UTF-8 one, as the official postgres image creates, in
``ANNOTATOR_TEST_PG_URL``, and one with collation C in
``ANNOTATOR_TEST_PG_URL_C``; ``pg_url_c`` and ``pg_any_url`` (both
collations) serve the tests whose results could depend on text order.

Import what a test module needs: ``from _pg import db_url, pg_url, ...``
(pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import pytest

REPO = Path(__file__).resolve().parent.parent
PG_ENV = "ANNOTATOR_TEST_PG_URL"
PG_C_ENV = "ANNOTATOR_TEST_PG_URL_C"
SECRET_ENV_VARS = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "ANNOTATOR_DB",
    "ANNOTATOR_MODEL",
    "ANNOTATOR_BASE_URL",
    "ANNOTATOR_API_KEY",
    "ANNOTATOR_PROMPTS",
)


# -- PostgreSQL -------------------------------------------------------------------------


def _admin_url(url: str) -> str:
    """A plain libpq URL (psycopg does not know SQLAlchemy's ``+psycopg``)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.rpartition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{head}/{name}{query}"


def _server_url(env: str) -> str:
    url = os.environ.get(env)
    if not url:
        message = f"{env} is not set: PostgreSQL tests did not run (start a server with: source .ci/pg.sh && pg_start)"
        if os.environ.get("ANNOTATOR_REQUIRE_PG") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    return _server_url(PG_ENV)


@pytest.fixture(scope="session")
def pg_server_url_c() -> str:
    return _server_url(PG_C_ENV)


def _locale_clause(conn) -> str:
    """CREATE DATABASE options giving the connected database's text order."""
    row = conn.execute(
        "SELECT datcollate, datctype, to_jsonb(d) ->> 'datlocprovider', "
        "COALESCE(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale') "
        "FROM pg_database d WHERE datname = current_database()"
    ).fetchone()
    collate, ctype, provider, icu = row

    def quoted(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    clause = f"TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE {quoted(collate)} LC_CTYPE {quoted(ctype)}"
    if provider == "i":
        clause += f" LOCALE_PROVIDER icu ICU_LOCALE {quoted(icu)}"
    elif provider == "c":
        clause += " LOCALE_PROVIDER libc"
    return clause


@contextmanager
def _fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server, sorting text like ``server_url``'s; dropped after."""
    import psycopg

    admin = _admin_url(server_url)
    name = f"annotator_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" {_locale_clause(conn)}')
    try:
        yield _with_database(server_url, name)
    finally:
        from annotator.db.engine import dispose_all

        dispose_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server_url):
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    with _fresh_database(pg_server_url) as url:
        yield url


@pytest.fixture
def pg_url_c(pg_server_url_c):
    """As ``pg_url``, in a database with collation C (text in byte order)."""
    with _fresh_database(pg_server_url_c) as url:
        yield url


@pytest.fixture(params=["en_US", "C"])
def pg_any_url(request):
    """A fresh PostgreSQL database of each collation (``pg_url``, then ``pg_url_c``)."""
    return request.getfixturevalue("pg_url" if request.param == "en_US" else "pg_url_c")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """The same test against a SQLite file and (when configured) a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "test.db")
    return request.getfixturevalue("pg_url")


# -- corpora ----------------------------------------------------------------------------

WORDS = (
    "transformer graph diffusion protein retrieval kernel sparse attention "
    "policy gradient robust causal federated quantum token benchmark"
).split()


def paper_row(i: int, *, prefix: str = "p") -> dict:
    words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(12))
    return {
        "id": f"{prefix}{i:06d}",
        "title": f"Paper {prefix}{i}: {WORDS[i % len(WORDS)]} study",
        "abstract": f"We study {words}. Experiment {i} shows gains on task {i % 13}.",
        "authors": [f"Author {i % 97}", f"Coauthor {i % 31}"],
        "categories": ["cs.LG"],
        "published": "2024-05-01",
    }


def write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_papers(path: Path, n: int, *, start: int = 0, prefix: str = "p") -> Path:
    return write_jsonl(path, (paper_row(i, prefix=prefix) for i in range(start, start + n)))


def ingest(db: str, path: Path) -> None:
    from annotator.db import open_db
    from annotator.ingest import ingest_paths

    summary = ingest_paths(open_db(db), [str(path)])
    assert not summary.errors, summary.errors[:3]


# -- the command line -------------------------------------------------------------------


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("annotator")
    if script.exists():
        return [str(script)]
    found = shutil.which("annotator")
    return [found] if found else [sys.executable, "-c", "from annotator.cli import main; main()"]


def cli_env(*, db: str | None = None, base_url: str | None = None, api_key: str | None = None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS}
    env["ANNOTATOR_RETRY_WAIT_SCALE"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["COLUMNS"] = "200"
    if db is not None:
        env["ANNOTATOR_DB"] = db
    if base_url is not None:
        env["OPENAI_BASE_URL"] = base_url
    if api_key is not None:
        env["OPENAI_API_KEY"] = api_key
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict, *, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_command() + list(args), env=env, cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout
    )


def popen_cli(args: list[str], env: dict, *, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        cli_command() + list(args), env=env, cwd=cwd or REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


# -- reading the store ------------------------------------------------------------------


def fetch(db: str, sql: str, **params) -> list[tuple]:
    from sqlalchemy import text

    from annotator.db import open_db

    with open_db(db).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def snapshot(
    db: str, tables: Iterable[str] = ("papers", "authors", "authorships", "judgments", "tasks", "llm_calls")
) -> dict:
    """Every row of ``tables`` (sorted), to compare before and after an operation."""
    return {t: sorted(fetch(db, f"SELECT * FROM {t}"), key=repr) for t in tables}
