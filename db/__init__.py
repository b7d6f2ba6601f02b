"""Persistence: tables, the engine, and ordered migrations."""

from db.engine import open_db, session_for, database_url
from db.migrations import migrate, applied_migrations

__all__ = ["open_db", "session_for", "database_url", "migrate", "applied_migrations"]
