"""A long-running worker: keeps claiming queued tasks until it is told to stop.

One worker serves ONE prompt version and ONE model, fixed when it starts: the
given ``NAME@VERSION`` (default: the one ``annotate`` judges with, by the rule of
``prompts.resolve``) and the given model (default: the configured one, as for ``annotate``). It
never queues anything itself; producers do (``annotate`` queues every paper
lacking a task before it runs, ``annotate --limit 0`` queues without judging).

The worker runs *rounds*: when the queue holds runnable tasks (pending, or
leased by someone whose lease lapsed) it starts a ``Runner``, which claims and
judges until the queue is empty; then it polls every ``poll_s`` seconds.
Several workers, on one host or many, share one database: claims go through
``jobs.queue`` (``SKIP LOCKED`` on PostgreSQL), so each task is judged once.

SIGTERM or SIGINT: the worker claims nothing more, lets the calls in flight
finish and be stored, and gives back the tasks claimed but not started. If
that takes longer than ``grace_s`` (or a second signal arrives), the calls
still in flight are abandoned and their tasks given back too. Either way no
lease is left behind and the worker returns normally.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from sqlalchemy.engine import Engine

from annotator.db.models import PromptVersion
from annotator.jobs import queue
from annotator.jobs.annotate import AnnotateOptions, run_setup
from annotator.jobs.runner import Runner, RunOptions, RunSummary
from annotator.judge.client import ModelClient
from annotator.judge.endpoint import endpoint
from annotator.prompts.files import Prompt
from annotator.prompts.resolve import resolve
from annotator.settings import Settings

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass
class WorkerOptions:
    job: AnnotateOptions = field(default_factory=AnnotateOptions)  # prompt, model, concurrency...
    poll_s: float = 2.0  # idle sleep between looks at the queue
    grace_s: float = 30.0  # after a stop signal: time to finish the calls in flight
    exit_when_idle: bool = False  # return when the queue has nothing runnable


@dataclass
class WorkerSummary:
    prompt: str  # NAME@VERSION served
    model: str
    rounds: int = 0  # runs started because the queue had work
    total: RunSummary = field(default_factory=RunSummary)  # over all rounds; wall_s: lifetime
    stopped: str = ""  # "idle", or the signal and how the tasks held were settled


def add_summary(total: RunSummary, part: RunSummary) -> None:
    """Add one round's counts to the running total (failures: the first 20 kept)."""
    for f in fields(RunSummary):
        value = getattr(part, f.name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            setattr(total, f.name, getattr(total, f.name) + value)
    total.failures.extend(part.failures[: max(0, 20 - len(total.failures))])


class Worker:
    def __init__(
        self,
        engine: Engine,
        client: ModelClient,
        prompt: Prompt,
        pv: PromptVersion,
        run_opts: RunOptions,
        opts: WorkerOptions,
        on_round: Callable[[int, RunSummary], None] | None = None,
    ):
        assert pv.id is not None  # stored
        self.engine, self.client, self.prompt, self.pv, self.pv_id = engine, client, prompt, pv, pv.id
        self.run_opts, self.opts, self.on_round = run_opts, opts, on_round
        self.summary = WorkerSummary(prompt=prompt.ref, model=client.model)
        self._stop = asyncio.Event()  # first signal: finish what is held
        self._hurry = asyncio.Event()  # grace over, or a second signal: give it back
        self._stopped_at = 0.0

    def request_stop(self, reason: str) -> None:
        if self._stop.is_set():
            self._hurry.set()
            return
        self._stopped_at = time.monotonic()
        self.summary.stopped = reason
        self._stop.set()

    async def serve(self) -> WorkerSummary:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        try:
            while not self._stop.is_set():
                runnable = await asyncio.to_thread(queue.runnable, self.engine, self.pv_id, self.client.model)
                if runnable:
                    await self._round()
                elif self.opts.exit_when_idle:
                    self.summary.stopped = "idle"
                    break
                else:
                    await _wait(self._stop, self.opts.poll_s)
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)
            await self.client.close()
            self.summary.total.wall_s = time.monotonic() - started
        return self.summary

    async def _round(self) -> None:
        runner = Runner(self.engine, self.client, self.prompt, self.pv, self.run_opts)
        run = asyncio.create_task(runner.run())
        await _first(run, self._stop)
        if not run.done():  # asked to stop: claim no more, finish what is held
            runner.stop(f"stopping: {self.summary.stopped}")
            grace = self.opts.grace_s - (time.monotonic() - self._stopped_at)
            await _first(run, self._hurry, timeout=max(0.0, grace))
            if not run.done():  # abandon the calls in flight; run() gives their tasks back
                self.summary.stopped += "; calls in flight abandoned, their tasks given back"
                run.cancel()
        try:
            part = await run
        except asyncio.CancelledError:
            if not run.cancelled():
                raise
            part = runner.summary
        self.summary.rounds += 1
        add_summary(self.summary.total, part)
        if self.on_round is not None:
            self.on_round(self.summary.rounds, part)


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Until ``event`` is set or ``timeout`` seconds have passed."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pass


async def _first(task: asyncio.Task, event: asyncio.Event, timeout: float | None = None) -> None:
    """Until ``task`` is done, ``event`` is set, or ``timeout`` seconds have passed."""
    waiter = asyncio.create_task(event.wait())
    try:
        await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


def run_worker(
    engine: Engine, settings: Settings, opts: WorkerOptions, on_round: Callable[[int, RunSummary], None] | None = None
) -> WorkerSummary:
    """Serve the queue of one prompt version and model until a stop signal (or idle)."""
    resolved = resolve(engine, settings, opts.job.prompt)
    prompt, pv = resolved.prompt, resolved.row
    with endpoint(settings, opts.job.model, method=prompt.meta.method) as ep:
        client, run_opts = run_setup(engine, settings, ep, opts.job)

        async def main() -> WorkerSummary:  # the events belong to this loop
            return await Worker(engine, client, prompt, pv, run_opts, opts, on_round).serve()

        return asyncio.run(main())
