"""``embedding-head``: embed the text the template renders, score it with a fitted head.

No chat call is made. The runner's concurrent tasks hand their texts to one batcher,
which sends them to ``/v1/embeddings`` many at a time (cached by text hash in the
database). The head (``annotator.heads``: fitted with ``annotator eval fit``, or shipped
with the package for the embedded SmolLM2 model) turns a vector into a predicted mean
reviewer rating and novelty label, reported as 0-100 percentiles of the labelled papers.
The rationale names the closest labelled papers with their human scores: this judge
predicts review scores from public reviews; it is not a reviewer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import numpy as np

from annotator.errors import AnnotatorError, ConfigError
from annotator.heads.explain import rationale
from annotator.heads.head_store import StoredHead, find_head
from annotator.heads.text import prompt_text
from annotator.heads.vector_store import DbCache
from annotator.judge.client import Attempt
from annotator.judge.embeddings import EmbeddingsClient, text_hash
from annotator.judge.prices import cost_usd
from annotator.methods.interface import CallEstimate, JudgingMethod, PaperInput, Verdict
from annotator.methods.sampling import round_half_up

BATCH = 32
WAIT_S = 0.02  # how long a text waits for others to share its request


class _Batcher:
    """Collects texts from concurrent tasks and embeds them in shared requests."""

    def __init__(self, client: EmbeddingsClient, size: int = BATCH):
        self.client, self.size = client, size
        self.pending: list[tuple[str, asyncio.Future]] = []
        self.scheduled = False
        self.tasks: set[asyncio.Task] = set()
        self.lock = asyncio.Lock()  # one request at a time: the client is synchronous

    async def embed(self, text: str) -> tuple[np.ndarray, int | None]:
        """The text's vector and the tokens billed for it (None when it came from the cache)."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pending.append((text, future))
        if len(self.pending) >= self.size:
            batch, self.pending = self.pending, []
            self._spawn(self._send(batch))
        elif not self.scheduled:
            self.scheduled = True
            self._spawn(self._later())
        return await future

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _later(self) -> None:
        await asyncio.sleep(WAIT_S)
        self.scheduled = False
        batch, self.pending = self.pending, []
        await self._send(batch)

    async def _send(self, batch: list[tuple[str, asyncio.Future]]) -> None:
        if not batch:
            return
        try:
            async with self.lock:
                rows, tokens = await asyncio.to_thread(self.client.embed_billed, [t for t, _ in batch])
        except Exception as exc:  # noqa: BLE001 - every waiting task gets the failure
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, fut), row, billed in zip(batch, rows, tokens):
            if not fut.done():
                fut.set_result((row, billed))


class EmbeddingHeadMethod(JudgingMethod):
    name = "embedding-head"
    stored: StoredHead
    batcher: _Batcher

    def calls_per_paper(self) -> int:
        return 0

    def estimate(self, paper: PaperInput) -> CallEstimate:
        # no chat call; the embedding request reads about one token per 4 characters
        return CallEstimate(0, len(self.text(paper)) // 4 + 1, 0)

    def text(self, paper: PaperInput) -> str:
        return prompt_text(self.ctx.prompt, paper.title, paper.abstract, self.ctx.max_abstract_chars)

    async def prepare(self) -> None:
        client = self.client
        self.stored = find_head(self.ctx.engine, self.ctx.prompt, client.model)
        missing = {"ai", "novelty"} - set(self.stored.head.targets)
        if missing:
            raise ConfigError(
                f"the head for {self.ctx.prompt.ref} on '{client.model}' has no "
                f"{' or '.join(sorted(missing))} target; fit it on a suite with "
                "that label (for novelty: evals/iclr2022.toml)"
            )
        # the chat client's key serves the same endpoint's /v1/embeddings
        api_key = getattr(client, "api_key", None)
        cache = (
            DbCache(self.ctx.engine, base_url=client.base_url, api_key=api_key) if self.ctx.engine is not None else None
        )
        self.batcher = _Batcher(EmbeddingsClient(client.model, base_url=client.base_url, api_key=api_key, cache=cache))

    async def judge(self, paper: PaperInput) -> Verdict:
        text = self.text(paper)
        cut = len(paper.abstract) > self.ctx.max_abstract_chars
        try:
            vector, tokens = await self.batcher.embed(text)
        except AnnotatorError as exc:
            return Verdict([], None, str(exc), cut)
        attempt = self._accounted(text, vector, tokens)
        head = self.stored.head
        # a head that stacks on the text head also reads the text's word features
        x = head.inputs([text], vector[None, :])
        predicted = {name: float(v[0]) for name, v in head.predict(x).items()}
        scores = {name: float(head.targets[name].score(v)) for name, v in predicted.items()}
        near = head.neighbours.nearest(vector, 3, exclude_hash=text_hash(text)) if head.neighbours else []
        details: dict[str, Any] = {
            "embedding": {"model": self.client.model, "dim": int(vector.shape[0]), "text_hash": text_hash(text)},
            "head": {
                "id": self.stored.head_id,
                "hash": self.stored.head_hash,
                "source": self.stored.source,
                "suites": head.suites,
                "fitted_by": head.provenance.get("code_version"),
            },
            "predicted": predicted,
            "interval": {n: list(head.targets[n].interval(v)) for n, v in predicted.items()},
            "neighbours": [{"id": p["id"], "similarity": round(p["similarity"], 4)} for p in near],
        }
        fields = {
            "ai_score": round_half_up(scores["ai"]),
            "novelty": round_half_up(scores["novelty"]),
            "rationale": rationale(head, predicted, scores, near),
        }
        return Verdict([attempt], fields, None, cut, details)

    def _accounted(self, text: str, vector: np.ndarray, tokens: int | None) -> Attempt:
        """The paper's share of an embeddings request, stored with the chat calls so that
        ``costs``, budgets and run summaries count it (``cached``: no request was made)."""
        model = self.client.model
        request = {"model": model, "input": text, "encoding_format": "float"}
        h = hashlib.sha256(
            json.dumps({"embeddings": request}, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()
        reply = json.dumps({"object": "embedding", "dim": int(vector.shape[0]), "text_hash": text_hash(text)})
        return Attempt(
            request_hash=h,
            request_json=json.dumps(request, ensure_ascii=False),
            outcome="cached" if tokens is None else "ok",
            response_text=reply,
            prompt_tokens=tokens or 0,
            cost_usd=cost_usd(model, tokens or 0, 0),
        )


METHOD = EmbeddingHeadMethod
