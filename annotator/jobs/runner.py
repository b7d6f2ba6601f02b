"""Running the queue: async workers, a batched writer, leases kept fresh.

One process runs ``concurrency`` worker coroutines. A feeder claims tasks in
small batches, workers call the model, and a single writer commits finished
tasks in batches (one transaction holds each task's calls, its judgment and
its ``done`` mark, and only while this run still holds the task's lease). On
Ctrl-C or a budget stop, unfinished leases are given back; on ``kill -9`` they
lapse or are reclaimed from the dead process. When the database refuses to
store results, the run stops at once: calls in flight are abandoned, leases
are given back and ``StorageError`` is raised, since further calls would only
be paid for and lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Engine

from annotator.db.models import PromptVersion
from annotator.errors import StorageError
from annotator.jobs import queue
from annotator.jobs.outcomes import JudgmentProvenance, Outcome, paper_flags, save_outcomes
from annotator.jobs.owners import new_owner
from annotator.jobspec import JobSpec
from annotator.judge.client import ModelClient
from annotator.judge.prices import cost_usd, require_price, warn_unpriced
from annotator.methods.dispatch import method_for
from annotator.methods.interface import MethodContext, PaperInput
from annotator.prompts.files import Prompt
from annotator.provenance import code_version


class Reporter(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, ok: bool) -> None: ...
    def finish(self) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        pass

    def advance(self, ok: bool) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class RunOptions:
    """One run of the queue: the job (its concurrency already fitted to the endpoint) and the
    runner's own settings."""

    job: JobSpec = field(default_factory=JobSpec)
    limit: int | None = None
    lease_s: float = 120.0
    max_abstract_chars: int = 12_000
    demo_quality: bool = False
    task_ids: list[int] | None = None


@dataclass
class RunSummary:
    done: int = 0
    failed: int = 0
    calls: int = 0
    cached: int = 0
    retries: int = 0
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0
    lost: int = 0  # finished tasks not stored: their lease had passed to another worker
    stopped: str | None = None  # why the run ended early, if it did
    failures: list[str] = field(default_factory=list)

    @property
    def papers_per_s(self) -> float:
        return (self.done + self.failed) / self.wall_s if self.wall_s else 0.0


class Runner:
    def __init__(
        self,
        engine: Engine,
        client: ModelClient,
        prompt: Prompt,
        pv: PromptVersion,
        options: RunOptions,
        reporter: Reporter | None = None,
    ):
        self.engine, self.client, self.prompt, self.pv = engine, client, prompt, pv
        assert pv.id is not None  # stored
        self.pv_id: int = pv.id
        self.opts = options
        self.reporter = reporter or _Silent()
        self.owner = new_owner()
        self.summary = RunSummary()
        self._in_flight: set[int] = set()
        self._calls: set[asyncio.Future] = set()  # judge calls running now
        # the claim running in a thread: a cancelled run waits for it before giving
        # tasks back, or the claim could commit after the release and keep its leases
        self._claiming: asyncio.Future | None = None
        self._reserved = 0.0  # estimated cost of requests in flight
        self._stop: str | None = None
        self._error: BaseException | None = None  # raised by a worker; re-raised by run()
        self._results: asyncio.Queue = asyncio.Queue()
        self._params = prompt.meta.params.model_dump(exclude_none=True)
        self._code_version = code_version().label
        self.samples = options.job.samples if options.job.samples > 1 else prompt.meta.samples
        self.method = method_for(
            MethodContext(
                client=client,
                prompt=prompt,
                params=self._params,
                samples=self.samples,
                aggregate="median" if options.job.samples > 1 else "mean",
                max_abstract_chars=options.max_abstract_chars,
                engine=engine,
            )
        )

    def stop(self, reason: str) -> None:
        """Claim nothing more: calls in flight finish and are stored, tasks claimed but
        not started are given back when ``run()`` returns (a worker asked to stop)."""
        if self._stop is None:
            self._stop = reason

    # -- the run -------------------------------------------------------------
    async def run(self) -> RunSummary:
        started = time.perf_counter()
        if self.opts.job.max_cost is not None and not self.opts.demo_quality:
            require_price(self.client.model)
        if not self.opts.demo_quality:  # the embedded model runs here, for free
            warn_unpriced(self.client.model)
        queue.reclaim_dead(self.engine)
        await self.method.prepare()
        self.reporter.start(self._runnable())
        tasks: asyncio.Queue = asyncio.Queue(maxsize=self.opts.job.concurrency)
        writer_task = asyncio.create_task(self._writer())
        heartbeat = asyncio.create_task(self._heartbeat())
        workers = [asyncio.create_task(self._worker(tasks)) for _ in range(self.opts.job.concurrency)]
        try:
            await self._feed(tasks)
            for _ in workers:
                await tasks.put(None)
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            heartbeat.cancel()
            await self._results.put(None)
            await asyncio.shield(writer_task)
            if self._claiming is not None:
                await asyncio.gather(self._claiming, return_exceptions=True)
            try:
                await asyncio.to_thread(queue.release, self.engine, self.owner)
            except Exception as exc:
                self._storage_failed(exc, "could not give unfinished tasks back")
            self.summary.wall_s = time.perf_counter() - started
            self.reporter.finish()
        self.summary.stopped = self._stop if self._stop != "finished" else None
        if self._error is not None:
            raise self._error
        await self.method.finish()
        return self.summary

    def _runnable(self) -> int:
        n = queue.runnable(self.engine, self.pv_id, self.client.model)
        return min(n, self.opts.limit) if self.opts.limit is not None else n

    async def _feed(self, tasks: asyncio.Queue) -> None:
        taken = 0
        while self._stop is None:
            want = self.opts.job.concurrency
            if self.opts.limit is not None:
                want = min(want, self.opts.limit - taken)
                if want <= 0:
                    break
            self._claiming = asyncio.ensure_future(
                asyncio.to_thread(
                    queue.claim,
                    self.engine,
                    self.owner,
                    want,
                    self.opts.lease_s,
                    prompt_version_id=self.pv_id,
                    model=self.client.model,
                    task_ids=self.opts.task_ids,
                )
            )
            try:
                batch = await asyncio.shield(self._claiming)
            except Exception as exc:
                self._storage_failed(exc, "could not claim tasks")
                break
            if not batch:
                break
            taken += len(batch)
            for task in batch:
                self._in_flight.add(task.id)
                await tasks.put(task)

    async def _worker(self, tasks: asyncio.Queue) -> None:
        while True:
            task = await tasks.get()
            if task is None:
                return
            if self._stop is not None:
                continue  # released in bulk at the end
            call = asyncio.ensure_future(self._judge(task))
            self._calls.add(call)
            try:
                outcome = await call
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # this worker is being cancelled
                continue  # the call was abandoned: the store failed
            except Exception as exc:  # e.g. ReplayMiss: stop feeding, drain, re-raise in run()
                if self._error is None:
                    self._error = exc
                    self._stop = f"error: {exc}"
                continue
            finally:
                self._calls.discard(call)
            if outcome is not None:
                await self._results.put(outcome)

    async def _judge(self, task: queue.ClaimedTask) -> Outcome | None:
        paper = PaperInput(task.paper_id, task.title, task.abstract)
        plan = self.method.estimate(paper)
        estimate = cost_usd(self.client.model, plan.prompt_tokens, plan.completion_tokens)
        if self.opts.job.max_cost is not None:
            spent = self.summary.cost_usd + self._reserved
            if spent + estimate > self.opts.job.max_cost:
                self._stop = f"budget: ${self.opts.job.max_cost:.4f} would be crossed"
                return None
        self._reserved += estimate
        try:
            verdict = await self.method.judge(paper)
        finally:
            self._reserved -= estimate
        self.summary.cost_usd += sum(a.cost_usd for a in verdict.attempts)
        if verdict.fields is None:
            return Outcome(task, verdict.attempts, None, verdict.error)
        fields = {
            **verdict.columns(),
            "method": self.prompt.meta.method,
            **paper_flags(task.title, task.abstract, verdict.abstract_cut),
        }
        return Outcome(task, verdict.attempts, fields, None)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.opts.lease_s / 3)
            try:
                await asyncio.to_thread(queue.renew, self.engine, self.owner, list(self._in_flight), self.opts.lease_s)
            except Exception as exc:
                self._storage_failed(exc, "could not renew leases")
                return

    def _storage_failed(self, exc: BaseException, what: str) -> None:
        """Stop the run at once: no new calls, calls in flight abandoned; run() raises."""
        if not isinstance(self._error, StorageError):
            reason = getattr(exc, "orig", None) or exc  # the driver's words, not the whole SQL
            error = StorageError(f"{what}: {reason}; the run stopped, unfinished tasks are back in the queue")
            error.__cause__ = exc
            if self._error is None:
                self._error = error
            self._stop = f"error: {error}"
        for call in list(self._calls):
            call.cancel()

    async def _writer(self) -> None:
        """Commit finished tasks in batches; returns after a ``None``."""
        closing = broken = False
        while not closing:
            item = await self._results.get()
            batch = []
            if item is None:
                closing = True
            else:
                batch.append(item)
            while not self._results.empty():
                more = self._results.get_nowait()
                if more is None:
                    closing = True
                else:
                    batch.append(more)
            if batch and not broken:
                try:
                    lost = await asyncio.to_thread(self._save, batch)
                except Exception as exc:  # leases stay ours; run() gives them back
                    broken = True
                    self._storage_failed(exc, "could not store results")
                    continue
                for o in batch:
                    self._in_flight.discard(o.task.id)
                    if o.task.id in lost:
                        self.summary.lost += 1
                    else:
                        self._count(o)

    def _count(self, o: Outcome) -> None:
        s = self.summary
        s.calls += sum(1 for a in o.attempts if a.outcome != "cached")
        s.cached += sum(1 for a in o.attempts if a.outcome == "cached")
        s.retries += sum(1 for a in o.attempts if a.attempt > 1)
        s.reasks += sum(1 for a in o.attempts if a.reask > 0 and a.attempt == 1)
        s.prompt_tokens += sum(a.prompt_tokens for a in o.attempts)
        s.completion_tokens += sum(a.completion_tokens for a in o.attempts)
        if o.judgment is not None:
            s.done += 1
        else:
            s.failed += 1
            if len(s.failures) < 20:
                s.failures.append(f"paper {o.task.paper_id}: {o.error}")
        self.reporter.advance(o.judgment is not None)

    # -- persistence (runs in a worker thread) -------------------------------
    def _save(self, batch: list[Outcome]) -> set[int]:
        # the format as it is now: the client may have fallen back to a simpler one
        provenance = JudgmentProvenance(
            params_json=json.dumps(
                {
                    **self._params,
                    "response_format": self.client.mode,
                    "samples": self.samples,
                    "method": self.prompt.meta.method,
                }
            ),
            code_version=self._code_version,
            base_url=self.client.base_url,
            demo_quality=self.opts.demo_quality,
        )
        return save_outcomes(
            self.engine, batch, pv=self.pv, model=self.client.model, owner=self.owner, provenance=provenance
        )


async def run_queue(
    engine: Engine,
    client: ModelClient,
    prompt: Prompt,
    pv: PromptVersion,
    options: RunOptions,
    reporter: Reporter | None = None,
) -> RunSummary:
    try:
        return await Runner(engine, client, prompt, pv, options, reporter).run()
    finally:
        await client.close()
