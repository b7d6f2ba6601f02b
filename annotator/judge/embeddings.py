"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint, batched and cached.

:class:`EmbeddingsClient` sends many texts per request through the ``openai``
package and returns one float32 row per text. A server that answers with one
vector per token (llama.cpp without a pooling type) is mean-pooled here, so
every caller sees one vector per text. Texts already in the cache (keyed by the
model name and the sha256 of the text) are never sent again; the cache is any
object with ``get_many`` and ``put_many`` (:class:`MemoryCache` here, the
database table in ``annotator.heads.vector_store``).

When the endpoint is the embedded model started with several server processes
(``annotator.judge.local_model.replica_urls``), one call's texts are cut into
requests of ``SPREAD_BATCH`` texts (one) sent to every process at once, one request
per process at a time (each answers one request at a time), each process taking the
next text when it is free: a call of 32 texts on two processes is 32 requests, two at a
time. Every other endpoint
gets one request at a time, as before.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import openai

from annotator.errors import ModelError
from annotator.judge.base_url import client_options
from annotator.judge.local_model import replica_urls
from annotator.judge.prices import estimate_tokens

DEFAULT_BATCH = 32
SPREAD_BATCH = 1
"""Texts a request when spreading over processes: each process takes the next request
when it is free, so one text each keeps them all busy to the end (a request costs a few
milliseconds, an abstract about 0.7 s)."""


def text_hash(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VectorCache(Protocol):
    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, model: str, vectors: dict[str, np.ndarray]) -> None: ...


@dataclass
class MemoryCache:
    """A cache held in memory (tests, one-off scripts)."""

    rows: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        return {h: self.rows[(model, h)] for h in hashes if (model, h) in self.rows}

    def put_many(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        for h, v in vectors.items():
            self.rows[(model, h)] = v


def pooled(raw: object) -> np.ndarray:
    """One vector from an endpoint's ``embedding`` value: a list of floats, or a list of
    per-token vectors (mean-pooled)."""
    arr = np.asarray(raw, dtype=np.float32)
    if arr.ndim == 2 and arr.shape[0] > 0:
        arr = arr.mean(axis=0)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ModelError(f"the embeddings endpoint sent an unusable vector (shape {arr.shape})")
    return arr


@dataclass
class EmbedStats:
    texts: int = 0
    cached: int = 0
    requests: int = 0
    tokens: int = 0
    seconds: float = 0.0


class EmbeddingsClient:
    """Batched, cached embeddings for one model at one endpoint."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = DEFAULT_BATCH,
        timeout_s: float = 600.0,
        max_retries: int = 3,
        cache: VectorCache | None = None,
        spread_batch: int | None = None,
    ):
        self.model = model
        self.batch_size = max(1, int(batch_size))
        self.spread_batch = spread_batch  # texts a request when spread; None: SPREAD_BATCH
        self.cache = cache
        self.stats = EmbedStats()
        self.base_url, self._api_key = base_url, api_key
        self._timeout_s, self._max_retries = timeout_s, max_retries
        self._replicas: dict[str, openai.OpenAI] = {}  # another process's URL -> its client
        self._stats_lock = threading.Lock()
        self._client = openai.OpenAI(
            **client_options(base_url), api_key=api_key or "not-needed", timeout=timeout_s, max_retries=max_retries
        )

    def close(self) -> None:
        self._client.close()
        for client in self._replicas.values():
            client.close()

    def _clients(self) -> list[openai.OpenAI]:
        """A client for every process serving this endpoint (see ``replica_urls``)."""
        clients = [self._client]
        for url in replica_urls(self.base_url)[1:]:
            if url is None:
                continue
            if url not in self._replicas:
                self._replicas[url] = openai.OpenAI(  # a local server's plain URL
                    base_url=url,
                    api_key=self._api_key or "not-needed",
                    timeout=self._timeout_s,
                    max_retries=self._max_retries,
                )
            clients.append(self._replicas[url])
        return clients

    def _request(self, texts: list[str], client: openai.OpenAI | None = None) -> tuple[list[np.ndarray], list[int]]:
        """(one vector per text, the tokens billed for each: the request's usage shared
        out by text length, or estimated when the server reports none)."""
        start = time.monotonic()
        try:
            # encoding_format float: llama.cpp and other servers ignore base64
            resp = (client or self._client).embeddings.with_raw_response.create(
                model=self.model, input=texts, encoding_format="float"
            )
        except openai.APIStatusError as exc:
            raise ModelError(
                f"embeddings request failed with HTTP {exc.status_code}: {str(exc.message)[:300]}"
            ) from None
        except openai.APIError as exc:
            raise ModelError(f"embeddings request failed: {exc}") from None
        body = resp.http_response.json()
        data = sorted(body.get("data") or [], key=lambda d: d.get("index", 0))
        if len(data) != len(texts):
            raise ModelError(f"the embeddings endpoint answered {len(data)} vectors for {len(texts)} texts")
        total = int((body.get("usage") or {}).get("prompt_tokens") or 0)
        shares = share_tokens(total, texts) if total else [estimate_tokens(t) for t in texts]
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.tokens += sum(shares)
            self.stats.seconds += time.monotonic() - start
        return [pooled(d.get("embedding")) for d in data], shares

    def embed(self, texts: Sequence[str], on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
        """One float32 row per text, in order; cached texts are not sent."""
        return self.embed_billed(texts, on_batch)[0]

    def embed_billed(
        self, texts: Sequence[str], on_batch: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, list[int | None]]:
        """``embed`` plus, per text, the tokens billed for it (None: taken from the cache,
        or a repeat of an earlier text of the same call)."""
        keys = [text_hash(t) for t in texts]
        found = self.cache.get_many(self.model, sorted(set(keys))) if self.cache else {}
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in found:
                todo.setdefault(k, t)
        self.stats.texts += len(texts)
        self.stats.cached += len(texts) - sum(k in todo for k in keys)
        pending = list(todo.items())
        done = 0
        billed: dict[str, int] = {}
        for chunk, rows, shares in self._batches(pending):
            vectors = dict(zip([k for k, _ in chunk], rows))
            billed.update(zip([k for k, _ in chunk], shares))
            if self.cache is not None:
                self.cache.put_many(self.model, vectors)
            found.update(vectors)
            done += len(chunk)
            if on_batch is not None:
                on_batch(done, len(pending))
        if not texts:
            return np.zeros((0, 0), np.float32), []
        dims = {found[k].shape[0] for k in keys}
        if len(dims) != 1:
            raise ModelError(f"the embeddings endpoint gave vectors of different sizes: {sorted(dims)}")
        tokens: list[int | None] = [billed.pop(k, None) for k in keys]  # a repeat is billed once
        return np.vstack([found[k] for k in keys]).astype(np.float32), tokens

    def _batches(
        self, pending: list[tuple[str, str]]
    ) -> Iterator[tuple[list[tuple[str, str]], list[np.ndarray], list[int]]]:
        """(chunk, vectors, billed tokens) per request, as the requests finish: one at a
        time on one process, else spread over every process, one request each at once. A
        process that joins while requests go one at a time (a local server's replicas start
        after the first answers) takes its share of the rest."""
        done = 0
        while done < len(pending):
            clients = self._clients()
            if len(clients) >= 2 and len(pending) - done >= 2:
                yield from self._spread(pending[done:], clients)
                return
            chunk = pending[done : done + self.batch_size]
            yield (chunk, *self._request([t for _, t in chunk]))
            done += len(chunk)

    def _spread(
        self, pending: list[tuple[str, str]], clients: list[openai.OpenAI]
    ) -> Iterator[tuple[list[tuple[str, str]], list[np.ndarray], list[int]]]:
        """The requests of ``pending`` spread over ``clients``, one request each at once."""
        # abstracts differ in length: one process must not idle while another ends a long batch
        size = min(self.batch_size, self.spread_batch or SPREAD_BATCH)
        chunks = [pending[i : i + size] for i in range(0, len(pending), size)]
        free: queue.Queue[openai.OpenAI] = queue.Queue()
        for client in clients:
            free.put(client)

        def send(chunk: list[tuple[str, str]]) -> tuple[list[np.ndarray], list[int]]:
            client = free.get()  # never waits long: as many workers as clients
            try:
                return self._request([t for _, t in chunk], client)
            finally:
                free.put(client)

        with ThreadPoolExecutor(len(clients), thread_name_prefix="embeddings") as pool:
            futures = {pool.submit(send, chunk): chunk for chunk in chunks}
            try:
                for future in as_completed(futures):
                    yield (futures[future], *future.result())
            finally:
                for future in futures:
                    future.cancel()


def share_tokens(total: int, texts: Sequence[str]) -> list[int]:
    """``total`` tokens shared out by text length, summing to ``total`` exactly."""
    sizes = [max(len(t), 1) for t in texts]
    whole = sum(sizes)
    shares = [total * n // whole for n in sizes]
    for i in range(total - sum(shares)):  # the remainder, one token each, to the first texts
        shares[i % len(shares)] += 1
    return shares
