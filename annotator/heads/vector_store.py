"""Where embeddings are kept: the ``embedding_cache`` table, on top of the vectors that ship
with the package for the labelled papers (read-only, for the model they were made with).

Keyed by the model's fingerprint, not its name. Two endpoints often serve different
models under one name (llama.cpp and vLLM defaults), so a name says nothing about the
vectors. A :class:`DbCache` asks its endpoint once for the vector of a fixed probe text
(:data:`PROBE_TEXT`); that vector, matched against the probes seen before (same
dimension, cosine at least :data:`MATCH`, which absorbs the float noise of batching and
thread counts but not a different model or quantisation), names the model. Rows are
keyed by (``fp:<id>``, sha256 of the text), so the same model behind two URLs, or under
two names, shares the cache, and two models under one name never do.

The probes themselves are rows of the same table (model ``probe``, text hash = the
fingerprint id): no schema change. Two processes that meet a new model at the same
moment may each record a probe; each then takes the lowest matching id it sees, so they
agree once both are written, and at worst embed the same texts twice (never a wrong
vector). Rows from before fingerprints (keyed by a model name alone) cannot be told
apart and are removed by migration ``m015_embedding_cache_fingerprints``.

Writers: ``put_many`` inserts each batch of vectors in one transaction and skips
rows already there, so two processes embedding the same texts at once store each
vector once, and a process killed halfway leaves only whole vectors (the rest is
embedded again next time).

The shipped vectors come with the probe of the model they were made with
(``probe.json`` beside them) and are used only for an endpoint whose probe matches it.
:class:`DbCache` implements the ``get_many``/``put_many`` pair
``annotator.judge.embeddings.EmbeddingsClient`` uses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.sql.schema import Table

from annotator.db.engine import writer
from annotator.db.models import EmbeddingCacheRow
from annotator.judge.embeddings import EmbeddingsClient

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "heads"
# the labelled papers' vectors: repository-only training data (not in the wheel)
VECTORS_DIR = Path(__file__).resolve().parents[2] / "evals" / "data" / "embeddings"
_TABLE: Table = EmbeddingCacheRow.__table__  # type: ignore[attr-defined]
_CHUNK = 500

PROBE_TEXT = (
    "Fingerprint probe for the annotator's embedding cache.\n\nWe propose a method "
    "and evaluate it on three benchmarks; the results improve on prior work."
)
PROBE_KEY = "probe"  # the model column of the rows that hold the probe vectors
MATCH = 0.9999  # cosine at which two probe vectors are one model


def encode(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, "<f4").tobytes()).decode()


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), "<f4").astype(np.float32)


def same_model(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two probe vectors come from one model: same size, cosine >= MATCH."""
    if a.shape != b.shape:
        return False
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return norm > 0 and float(np.dot(a.astype(np.float64), b.astype(np.float64))) / norm >= MATCH


@lru_cache(maxsize=4)
def shipped_vectors(name: str = "smollm2") -> tuple[str, dict[str, int], np.ndarray] | None:
    """(model, text hash -> row, float16 matrix) of the labelled papers' vectors, or None
    (always None for an installed wheel: the file lives in the repository only)."""
    folder = VECTORS_DIR / name
    ids, matrix = folder / "ids.json", folder / "embeddings.npy"
    if not (ids.is_file() and matrix.is_file()):
        return None
    meta = json.loads(ids.read_text(encoding="utf-8"))
    rows = {h: i for i, (_, h) in enumerate(meta["papers"])}
    return meta["model"], rows, np.load(matrix, allow_pickle=False)


@lru_cache(maxsize=4)
def shipped_probe(name: str = "smollm2") -> np.ndarray | None:
    """The probe vector of the model the shipped vectors were made with, or None."""
    path = SHIPPED_DIR / name / "probe.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("text") != PROBE_TEXT:  # a probe of another text names nothing
        return None
    return np.asarray(data["vector"], np.float32)


def probe(model: str, base_url: str | None, api_key: str | None) -> np.ndarray:
    """The endpoint's vector of :data:`PROBE_TEXT` for ``model`` (one request, no cache)."""
    client = EmbeddingsClient(model, base_url=base_url, api_key=api_key)
    try:
        return client.embed([PROBE_TEXT])[0]
    finally:
        client.close()


def _insert(engine: Engine):
    pg = engine.dialect.name == "postgresql"
    return (pg_insert(_TABLE) if pg else sqlite_insert(_TABLE)).on_conflict_do_nothing()


def fingerprint(engine: Engine, vector: np.ndarray) -> str:
    """The cache key of the model whose probe vector is ``vector``: a recorded probe that
    matches it, else this one, recorded now."""

    def known() -> list[str]:
        query = select(_TABLE.c.text_hash, _TABLE.c.vector).where(
            _TABLE.c.model == PROBE_KEY, _TABLE.c.dim == int(vector.shape[0])
        )
        with engine.connect() as conn:
            return sorted(h for h, v in conn.execute(query) if same_model(decode(v), vector))

    found = known()
    if not found:
        new_id = hashlib.sha256(np.asarray(vector, "<f4").tobytes()).hexdigest()[:24]
        with writer(engine).begin() as conn:
            conn.execute(
                _insert(engine),
                [
                    {
                        "model": PROBE_KEY,
                        "text_hash": new_id,
                        "dim": int(vector.shape[0]),
                        "vector": encode(vector),
                        "created_at": datetime.now(UTC),
                    }
                ],
            )
        found = known()
    return "fp:" + found[0]


class DbCache:
    """Embeddings in the database by model fingerprint, with the shipped labelled vectors as
    a fallback for the model they were made with.

    ``base_url``/``api_key``: the endpoint the vectors come from; it is asked for the probe
    once per model, on first use."""

    def __init__(
        self, engine: Engine, *, base_url: str | None, api_key: str | None = None, shipped: str | None = "smollm2"
    ):
        self.engine = engine
        self.base_url, self.api_key = base_url, api_key
        self.shipped = shipped_vectors(shipped) if shipped else None
        self.shipped_probe = shipped_probe(shipped) if shipped else None
        self._keys: dict[str, tuple[str, bool]] = {}  # model -> (cache key, shipped vectors apply)
        self._lock = threading.Lock()

    def key(self, model: str) -> tuple[str, bool]:
        """(the cache key of ``model`` at this endpoint, whether the shipped vectors are its)."""
        with self._lock:
            if model not in self._keys:
                vector = probe(model, self.base_url, self.api_key)
                ours = self.shipped_probe is not None and same_model(vector, self.shipped_probe)
                self._keys[model] = (fingerprint(self.engine, vector), ours)
            return self._keys[model]

    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        key, ours = self.key(model)
        out: dict[str, np.ndarray] = {}
        query = select(_TABLE.c.text_hash, _TABLE.c.vector).where(
            _TABLE.c.model == key, _TABLE.c.text_hash.in_(bindparam("hashes", expanding=True))
        )
        with self.engine.connect() as conn:
            for i in range(0, len(hashes), _CHUNK):
                for h, v in conn.execute(query, {"hashes": list(hashes[i : i + _CHUNK])}):
                    out[h] = decode(v)
        if self.shipped is not None and ours:
            _, rows, matrix = self.shipped
            for h in hashes:
                if h not in out and h in rows:
                    out[h] = matrix[rows[h]].astype(np.float32)
        return out

    def put_many(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        key, _ = self.key(model)
        now = datetime.now(UTC)
        rows = [
            {"model": key, "text_hash": h, "dim": int(v.shape[0]), "vector": encode(v), "created_at": now}
            for h, v in vectors.items()
        ]
        with writer(self.engine).begin() as conn:
            conn.execute(_insert(self.engine), rows)
