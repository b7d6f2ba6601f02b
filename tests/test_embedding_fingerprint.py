"""The embedding cache names a model by its vector of a probe text, not by its name: two
models under one name never share vectors, one model behind two URLs does, and the
shipped vectors serve only the model they were made with."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.cli import app
from annotator.heads.vector_store import PROBE_TEXT
from annotator.testing.fakeserver import FakeServer

REPO = Path(__file__).resolve().parent.parent
ICLR22 = REPO / "evals" / "iclr2022.toml"
N = 20


def small_suite(folder: Path) -> Path:
    """The first ``N`` papers of ICLR 2022 as a suite of their own."""
    source = REPO / "evals" / "data" / "iclr2022_ratings_novelty.jsonl"
    (folder / "data").mkdir()
    lines = source.read_text(encoding="utf-8").splitlines()[:N]
    (folder / "data" / "small.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    toml = ICLR22.read_text(encoding="utf-8")
    toml = (
        toml.replace('name = "iclr2022"', 'name = "small"')
        .replace("data/iclr2022_ratings_novelty.jsonl", "data/small.jsonl")
        .replace("sample_size = 100", "")
    )
    path = folder / "small.toml"
    path.write_text(toml[: toml.index("[thresholds]")], encoding="utf-8")
    return path


def paper_texts(server: FakeServer) -> list[str]:
    """The texts a server was asked to embed, the probe left out."""
    return [t for r in server.requests(path="/v1/embeddings") for t in r["body"]["input"] if t != PROBE_TEXT]


def fit(db_path: str, suite: Path, server: FakeServer, model: str, monkeypatch) -> dict:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    result = CliRunner().invoke(
        app,
        [
            "--db",
            db_path,
            "eval",
            "fit",
            str(suite),
            "--prompt",
            "embed@1",
            "--model",
            model,
            "--n-boot",
            "100",
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def serving(seed: int) -> FakeServer:
    server = FakeServer().__enter__()
    r = httpx.post(server.url + "/_fake/embeddings", json={"seed": seed, "dim": 16}, trust_env=False)
    assert r.status_code == 200, r.text
    return server


@pytest.fixture
def servers():
    started: list[FakeServer] = []

    def start(seed: int) -> FakeServer:
        started.append(serving(seed))
        return started[-1]

    yield start
    for s in started:
        s.__exit__(None, None, None)


def test_two_models_under_one_name_do_not_share_vectors(db_path, tmp_path, servers, monkeypatch):
    suite = small_suite(tmp_path)
    first, other = servers(0), servers(1)  # another model, answering to the same name
    a = fit(db_path, suite, first, "same-name", monkeypatch)
    assert len(paper_texts(first)) == N
    b = fit(db_path, suite, other, "same-name", monkeypatch)
    assert sorted(paper_texts(other)) == sorted(paper_texts(first))  # embedded anew, not read back
    assert a["hash"] != b["hash"]


def test_one_model_behind_two_urls_shares_the_cache(db_path, tmp_path, servers, monkeypatch):
    suite = small_suite(tmp_path)
    first, again = servers(0), servers(0)  # the same model at another address
    a = fit(db_path, suite, first, "same-name", monkeypatch)
    b = fit(db_path, suite, again, "another-name", monkeypatch)
    assert len(paper_texts(first)) == N and paper_texts(again) == []
    assert len(again.requests(path="/v1/embeddings")) == 1  # the probe, once
    assert a["metrics"] == b["metrics"]


def test_shipped_vectors_serve_only_their_model(db_path, tmp_path, servers, monkeypatch):
    """A server that answers to the shipped model's name with other vectors gets every
    text to embed; the shipped vectors are not handed out by name."""
    suite = small_suite(tmp_path)
    impostor = servers(0)
    fit(db_path, suite, impostor, "smollm2-135m-instruct", monkeypatch)
    assert len(paper_texts(impostor)) == N


def test_rows_keyed_by_a_name_alone_are_removed_by_the_migration(db_path):
    from annotator.db import open_db
    from annotator.db.engine import writer
    from annotator.db.migrations import migrate

    engine = open_db(db_path)
    now = datetime.now(UTC)
    with writer(engine).begin() as conn:
        for model, h in (("some-model", "h1"), ("fp:abc", "h1"), ("probe", "abc")):
            conn.execute(
                text(
                    "INSERT INTO embedding_cache (model, text_hash, dim, vector, created_at) "
                    "VALUES (:m, :h, 1, 'AAAAAA==', :t)"
                ),
                {"m": model, "h": h, "t": now},
            )
        conn.execute(text("DELETE FROM _migrations WHERE name = 'm015_embedding_cache_fingerprints'"))
    assert migrate(engine) == ["m015_embedding_cache_fingerprints"]
    with engine.connect() as conn:
        kept = sorted(r[0] for r in conn.execute(text("SELECT model FROM embedding_cache")))
    assert kept == ["fp:abc", "probe"]


@pytest.mark.slow
def test_the_embedded_model_matches_the_shipped_probe(engine):
    """The shipped vectors stay in use for the model they were made with."""
    from annotator.heads.vector_store import DbCache, shipped_vectors
    from annotator.judge.local_model import MODEL_NAME, LocalModelServer

    shipped = shipped_vectors()
    assert shipped is not None
    some = sorted(shipped[1])[:3]
    with LocalModelServer(embedding=True) as server:
        cache = DbCache(engine, base_url=server.base_url, api_key="local")
        got = cache.get_many(MODEL_NAME, some)
    assert sorted(got) == some
