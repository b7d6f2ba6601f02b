"""Stored prompt versions as pages and the judgment set read them (the registry,
``annotator.prompts.registry``, writes them and decides which is active)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row


def version_rows(conn: Connection, *, name: str | None = None, version: str | None = None,
                 active: bool | None = None, version_id: int | None = None) -> list[Row[Any]]:
    """(id, name, version, content_hash, active) of the stored versions matching every filter
    given, in id order."""
    where: list[str] = []
    params: dict[str, object] = {}
    if name is not None:
        where.append("name = :n")
        params["n"] = name
    if version is not None:
        where.append("version = :v")
        params["v"] = version
    if active is not None:
        where.append("active = :t")
        params["t"] = active
    if version_id is not None:
        where.append("id = :i")
        params["i"] = version_id
    if not where:
        raise ValueError("version_rows needs a filter")
    return list(conn.execute(text(
        f"SELECT id, name, version, content_hash, active FROM prompt_versions WHERE {' AND '.join(where)} "
        "ORDER BY id"), params).all())


def all_versions(conn: Connection) -> list[Row[Any]]:
    """(id, name, version, content_hash, text, params_json, active, created_at) of every stored version."""
    return list(conn.execute(text(
        "SELECT id, name, version, content_hash, text, params_json, active, created_at "
        "FROM prompt_versions")))


def version_hashes(conn: Connection) -> list[Row[str, str, str]]:
    """(name, version, content_hash) of every stored version, by name then id."""
    return list(conn.execute(text(
        "SELECT name, version, content_hash FROM prompt_versions ORDER BY name, id")))


def judgments_per_version_and_model(conn: Connection) -> list[Row[int, str, int]]:
    """(prompt version id, model, judgments) for every pair with judgments, by model."""
    return list(conn.execute(text(
        "SELECT prompt_version_id, model, COUNT(*) FROM judgments "
        "GROUP BY prompt_version_id, model ORDER BY model")))
