"""The fake server's ``/v1/embeddings``: deterministic vectors that carry known signal.

A text's vector is Gaussian noise seeded by the text's sha256, plus, when the text's
first line is the title of a paper in the configured labels file (an eval suite's JSONL
data), ``signal`` times the paper's standardised labels along two fixed directions:

    v = noise * N(0, I) + signal * (z_ai * d_ai + z_novelty * d_novelty)

so a head fitted on these vectors can recover the labels, and how well it does follows
from ``signal``/``noise``. Configure with ``POST /_fake/embeddings`` (JSON object, keys
in ``DEFAULTS``); ``GET`` returns the configuration. ``pooling: "none"`` answers one
vector per token (three per text, whose mean is the vector above), as llama.cpp does
without a pooling type.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

EMBEDDINGS_PATH = "/v1/embeddings"
ADMIN_PATH = "/_fake/embeddings"
DEFAULTS: dict[str, Any] = {
    "dim": 64,
    "noise": 1.0,
    "signal": 0.0,  # 0: pure noise
    "labels": None,  # path of a JSONL file with title and label fields
    "title_field": "title",
    "ai_field": "rating_mean",
    "novelty_field": "novelty_or_contribution_mean",
    "seed": 0,
    "pooling": "mean",  # or "none": per-token vectors
    "status": None,  # an HTTP status to answer every request with (errors)
}
_KEY: web.AppKey = web.AppKey("fake_embeddings", dict)


def _labels(cfg: dict) -> dict[str, tuple[float, float]]:
    """Title -> (standardised ai label, standardised novelty label); NaN-free (missing: 0)."""
    if not cfg["labels"]:
        return {}
    rows = [json.loads(line) for line in Path(cfg["labels"]).read_text(encoding="utf-8").splitlines() if line.strip()]

    def z(field: str) -> dict[str, float]:
        vals = {
            " ".join(str(r[cfg["title_field"]]).split()): float(r[field])
            for r in rows
            if isinstance(r.get(field), (int, float))
        }
        arr = np.array(list(vals.values()), float)
        mean, sd = (arr.mean(), arr.std() or 1.0) if arr.size else (0.0, 1.0)
        return {t: (v - mean) / sd for t, v in vals.items()}

    ai, nov = z(cfg["ai_field"]), z(cfg["novelty_field"])
    return {t: (ai.get(t, 0.0), nov.get(t, 0.0)) for t in set(ai) | set(nov)}


def check(cfg: dict) -> dict:
    unknown = set(cfg) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown embeddings config keys {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    out = dict(DEFAULTS, **cfg)
    if int(out["dim"]) < 2:
        raise ValueError("dim must be at least 2")
    if out["pooling"] not in ("mean", "none"):
        raise ValueError("pooling must be 'mean' or 'none'")
    return out


class EmbeddingsState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configure({})

    def configure(self, cfg: dict) -> dict:
        checked = check(cfg)
        table = _labels(checked)
        rng = np.random.default_rng(int(checked["seed"]))
        dirs = np.linalg.qr(rng.standard_normal((int(checked["dim"]), 2)))[0].T  # orthonormal
        with self.lock:
            self.cfg, self.table, self.dirs = checked, table, dirs
        return dict(checked)

    def vector(self, text: str) -> np.ndarray:
        with self.lock:
            cfg, table, dirs = self.cfg, self.table, self.dirs
        seed = int.from_bytes(hashlib.sha256(f"{cfg['seed']}:{text}".encode()).digest()[:8], "little")
        v = float(cfg["noise"]) * np.random.default_rng(seed).standard_normal(int(cfg["dim"]))
        title = " ".join(text.strip().split("\n", 1)[0].split())
        if title in table:
            z_ai, z_nov = table[title]
            v = v + float(cfg["signal"]) * (z_ai * dirs[0] + z_nov * dirs[1])
        return v.astype(np.float32)


def _item(vector: np.ndarray, index: int, encoding: str, pooling: str) -> dict:
    if pooling == "none":  # three "token" vectors averaging to the vector
        offset = np.linspace(-1, 1, vector.shape[0], dtype=np.float32)
        value: Any = [(vector + offset).tolist(), vector.tolist(), (vector - offset).tolist()]
    elif encoding == "base64":
        value = base64.b64encode(vector.astype("<f4").tobytes()).decode()
    else:
        value = vector.tolist()
    return {"object": "embedding", "index": index, "embedding": value}


async def _embeddings(request: web.Request) -> web.Response:
    state = request.app[_KEY]["state"]
    body = await request.json()
    status = state.cfg["status"]
    if status:
        return web.json_response({"error": {"message": "configured failure", "type": "fake"}}, status=int(status))
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return web.json_response(
            {"error": {"message": "input must be a string or a list of strings", "type": "invalid_request_error"}},
            status=400,
        )
    encoding = body.get("encoding_format") or "float"
    data = [_item(state.vector(t), i, encoding, state.cfg["pooling"]) for i, t in enumerate(texts)]
    tokens = sum(len(t.split()) for t in texts)
    return web.json_response(
        {
            "object": "list",
            "data": data,
            "model": body.get("model") or "fake-embed",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def _admin(request: web.Request) -> web.Response:
    state = request.app[_KEY]["state"]
    if request.method == "GET":
        return web.json_response(state.cfg)
    try:
        cfg = await request.json()
        if not isinstance(cfg, dict):
            raise ValueError("config must be a JSON object")
        return web.json_response(state.configure(cfg))
    except (ValueError, TypeError, OSError) as exc:
        return web.json_response({"error": {"message": str(exc)}}, status=400)


def add_routes(app: web.Application) -> None:
    """Serve ``/v1/embeddings`` and its admin endpoint on ``app``."""
    app[_KEY] = {"state": EmbeddingsState()}
    app.router.add_post(EMBEDDINGS_PATH, _embeddings)
    app.router.add_route("*", ADMIN_PATH, _admin)
