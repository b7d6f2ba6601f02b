"""Shared fixtures: an isolated database, zero retry waits, a fake model server."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# An author's profile page from a paper feed, 45 papers (see tests/data/README.md).
SEED_PAGE = REPO / "tests" / "data" / "seed_profile.txt"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No test sleeps on retries, reads the user's config, or reaches a real API."""
    monkeypatch.setenv("ANNOTATOR_RETRY_WAIT_SCALE", "0")
    for var in (
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "ANNOTATOR_DB",
        "ANNOTATOR_MODEL",
        "ANNOTATOR_BASE_URL",
        "ANNOTATOR_API_KEY",
        "ANNOTATOR_PROMPTS",
    ):
        monkeypatch.delenv(var, raising=False)
    yield
    from annotator.db.engine import dispose_all

    dispose_all()


@pytest.fixture
def db_path(tmp_path) -> str:
    return str(tmp_path / "test.db")


@pytest.fixture
def engine(db_path):
    from annotator.db import open_db

    return open_db(db_path)


@pytest.fixture
def fake_server():
    from annotator.testing.fakeserver import FakeServer

    with FakeServer() as server:
        yield server


@pytest.fixture
def settings_for(db_path):
    """Settings pointing at a fake server (pass it), with short timeouts."""
    from annotator.settings import get_settings

    def make(server, **overrides):
        values = dict(base_url=server.base_url, api_key="sk-test-key", timeout_s=5.0)
        values.update(overrides)
        return get_settings(**values)

    return make
