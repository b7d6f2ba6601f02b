"""Prompt versions in the database: registration, the changed-content guard, activation,
their order, and the named queries that read them (the one module that writes SQL about
``prompt_versions``; joins from judgments or calls to a version belong to those aggregates)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from annotator.db.engine import session_for, writer
from annotator.db.models import Judgment, PromptVersion
from annotator.errors import PromptError
from annotator.prompts.files import Prompt


def version_key(version: str | None) -> tuple[int, int, str]:
    """Sorts prompt versions as numbers ("2" before "10", "v2" the same as "2"); other text
    after them. The one sort order of prompt versions: every list of versions uses it."""
    text_ = str(version or "").lstrip("v")
    return (0, int(text_), "") if text_.isdigit() else (1, 0, text_)


def register_prompt(engine: Engine, prompt: Prompt) -> PromptVersion:
    """The row for this prompt version, created on first use.

    A file whose content changed after judgments were stored under its
    version is refused: those judgments would no longer describe the words
    the model saw.

    Several processes may start at once: the transaction takes SQLite's write
    lock up front (a read that turns into a write would fail with "database is
    locked"), and a row another process inserted first is simply read again.
    """
    try:
        return _register(engine, prompt)
    except IntegrityError:  # registered by a concurrent process in the meantime
        return _register(engine, prompt)


def _register(engine: Engine, prompt: Prompt) -> PromptVersion:
    with session_for(writer(engine)) as session:
        row = session.exec(
            select(PromptVersion).where(PromptVersion.name == prompt.name, PromptVersion.version == str(prompt.version))
        ).first()
        if row is None:
            row = PromptVersion(
                name=prompt.name,
                version=str(prompt.version),
                content_hash=prompt.content_hash,
                path=prompt.path,
                text=prompt.text,
                params_json=json.dumps(prompt.meta.params.model_dump()),
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return row
        if row.content_hash != prompt.content_hash:
            judged = session.exec(
                select(func.count()).select_from(Judgment).where(Judgment.prompt_version_id == row.id)
            ).one()
            if judged:
                raise PromptError(
                    f"{prompt.path or prompt.ref}: content changed after {judged} judgment(s) were "
                    f"stored under {prompt.ref} (stored hash {row.content_hash[:12]}, file hash "
                    f"{prompt.content_hash[:12]}). Make a new version instead: "
                    f"annotator prompts new {prompt.name}"
                )
            row.content_hash, row.text, row.path = prompt.content_hash, prompt.text, prompt.path
            row.params_json = json.dumps(prompt.meta.params.model_dump())
            session.add(row)
            session.commit()
            session.refresh(row)
        return row


def active_version(engine: Engine, name: str) -> PromptVersion | None:
    with session_for(engine) as session:
        return session.exec(
            select(PromptVersion).where(PromptVersion.name == name, PromptVersion.active == True)  # noqa: E712
        ).first()


def activate(engine: Engine, name: str, version: str) -> PromptVersion:
    with session_for(engine) as session:
        rows = session.exec(select(PromptVersion).where(PromptVersion.name == name)).all()
        target = [r for r in rows if r.version == str(version)]
        if not target:
            raise PromptError(f"{name}@{version} has not been used yet; run annotate with it first")
        for r in rows:
            r.active = r.version == str(version)
            session.add(r)
        session.commit()
        return target[0]


# -- named queries -------------------------------------------------------------------

_COLUMNS = "id, name, version, content_hash, active"


def version_id(conn: Connection, name: str, version: int | str) -> int | None:
    """The id of ``name@version``; None when that version was never used here."""
    return conn.execute(
        text("SELECT id FROM prompt_versions WHERE name = :n AND version = :v"),
        {"n": name, "v": str(version).lstrip("v")},
    ).scalar()


def lock_version_id(conn: Connection, name: str, version: int | str) -> int:
    """The id of a stored ``name@version``, its row locked until the transaction ends on
    PostgreSQL (SQLite's writer lock serialises writers anyway)."""
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    return conn.execute(
        text("SELECT id FROM prompt_versions WHERE name = :n AND version = :v" + lock), {"n": name, "v": str(version)}
    ).scalar_one()


def version_rows(conn: Connection, name: str) -> list[Row[Any]]:
    """Every stored version of ``name`` (id, name, version, content_hash, active), by id."""
    return list(conn.execute(text(f"SELECT {_COLUMNS} FROM prompt_versions WHERE name = :n ORDER BY id"), {"n": name}))


def active_rows(conn: Connection) -> list[Row[Any]]:
    """The active version of every name that has one (columns as :func:`version_rows`), by id."""
    return list(
        conn.execute(text(f"SELECT {_COLUMNS} FROM prompt_versions WHERE active = :t ORDER BY id"), {"t": True})
    )


def row_by_id(conn: Connection, pv_id: int) -> Row[Any] | None:
    """One stored version by id (columns as :func:`version_rows`)."""
    return conn.execute(text(f"SELECT {_COLUMNS} FROM prompt_versions WHERE id = :i"), {"i": pv_id}).first()


def full_row(conn: Connection, pv_id: int) -> dict[str, Any]:
    """Every column of one stored version (a batch rebuilds its prompt from the stored text)."""
    return dict(conn.execute(text("SELECT * FROM prompt_versions WHERE id = :id"), {"id": pv_id}).mappings().one())


def stored_text(conn: Connection, name: str, version: int | str) -> str | None:
    """The text ``name@version`` had when it was first used; None if it never was."""
    return conn.execute(
        text("SELECT text FROM prompt_versions WHERE name = :n AND version = :v"), {"n": name, "v": str(version)}
    ).scalar()


def hashes(conn: Connection) -> list[tuple[str, str, str]]:
    """(name, version, content hash) of every stored version, by name then first use."""
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(text("SELECT name, version, content_hash FROM prompt_versions ORDER BY name, id"))
    ]


def with_counts(conn: Connection) -> list[tuple[Any, ...]]:
    """Every stored version with what ``prompts list`` shows: name, version, content_hash,
    active, created_at and the number of judgments stored under it."""
    return [
        tuple(r)
        for r in conn.execute(
            text(
                "SELECT pv.name, pv.version, pv.content_hash, pv.active, pv.created_at, "
                "(SELECT COUNT(*) FROM judgments j WHERE j.prompt_version_id = pv.id) "
                "FROM prompt_versions pv"
            )
        )
    ]


def described(conn: Connection) -> list[Row[Any]]:
    """Every stored version with its text and parameters (the site's prompt pages)."""
    return list(
        conn.execute(
            text("SELECT id, name, version, content_hash, text, params_json, active, created_at FROM prompt_versions")
        )
    )
