"""Where embeddings are kept: the ``embedding_cache`` table, on top of the vectors that ship
with the package for the labelled papers (read-only, for the model they were made with).

Both are keyed by (model, sha256 of the text); :class:`DbCache` implements the
``get_many``/``put_many`` pair ``annotator.judge.embeddings.EmbeddingsClient`` uses.
"""

from __future__ import annotations

import base64
import json
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

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "heads"
_TABLE: Table = EmbeddingCacheRow.__table__  # type: ignore[attr-defined]
_CHUNK = 500


def encode(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, "<f4").tobytes()).decode()


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), "<f4").astype(np.float32)


@lru_cache(maxsize=4)
def shipped_vectors(name: str = "smollm2") -> tuple[str, dict[str, int], np.ndarray] | None:
    """(model, text hash -> row, float16 matrix) of a shipped embeddings file, or None."""
    folder = SHIPPED_DIR / name
    ids, matrix = folder / "ids.json", folder / "embeddings.npy"
    if not (ids.is_file() and matrix.is_file()):
        return None
    meta = json.loads(ids.read_text(encoding="utf-8"))
    rows = {h: i for i, (_, h) in enumerate(meta["papers"])}
    return meta["model"], rows, np.load(matrix, allow_pickle=False)


class DbCache:
    """Embeddings in the database, with the shipped labelled vectors as a fallback."""

    def __init__(self, engine: Engine, shipped: str | None = "smollm2"):
        self.engine = engine
        self.shipped = shipped_vectors(shipped) if shipped else None

    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        query = select(_TABLE.c.text_hash, _TABLE.c.vector).where(
            _TABLE.c.model == model, _TABLE.c.text_hash.in_(bindparam("hashes", expanding=True)))
        with self.engine.connect() as conn:
            for i in range(0, len(hashes), _CHUNK):
                for h, v in conn.execute(query, {"hashes": list(hashes[i:i + _CHUNK])}):
                    out[h] = decode(v)
        if self.shipped is not None and self.shipped[0] == model:
            _, rows, matrix = self.shipped
            for h in hashes:
                if h not in out and h in rows:
                    out[h] = matrix[rows[h]].astype(np.float32)
        return out

    def put_many(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        pg = self.engine.dialect.name == "postgresql"
        stmt = (pg_insert(_TABLE) if pg else sqlite_insert(_TABLE)).on_conflict_do_nothing()
        now = datetime.now(UTC)
        rows = [{"model": model, "text_hash": h, "dim": int(v.shape[0]), "vector": encode(v),
                 "created_at": now}
                for h, v in vectors.items()]
        with writer(self.engine).begin() as conn:
            conn.execute(stmt, rows)
