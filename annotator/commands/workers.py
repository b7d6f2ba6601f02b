"""``annotator worker``: a long-running worker that judges tasks as they are queued."""

from __future__ import annotations

import typer

from annotator.commands.common import console, engine_of, err_console, print_run_summary, settings_of
from annotator.commands.job_options import (
    DEFAULT_CONCURRENCY,
    DEFAULT_SAMPLES,
    ConcurrencyOption,
    ModelOption,
    PromptOption,
    RpmOption,
    SamplesOption,
    TpmOption,
)
from annotator.jobs.annotate import AnnotateOptions
from annotator.jobs.runner import RunSummary
from annotator.jobs.worker import WorkerOptions, run_worker

app = typer.Typer()


def _round_line(n: int, s: RunSummary) -> None:
    err_console.print(f"round {n}: done {s.done}, failed {s.failed}, lost {s.lost}; {s.wall_s:.1f} s", highlight=False)


@app.command()
def worker(
    ctx: typer.Context,
    prompt: PromptOption = None,
    model: ModelOption = None,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    poll: float = typer.Option(2.0, "--poll", min=0.01, help="Seconds between looks at an idle queue."),
    grace: float = typer.Option(
        30.0,
        "--grace",
        min=0.0,
        help="After SIGTERM/SIGINT: seconds to finish the calls in flight before giving their tasks back.",
    ),
    exit_when_idle: bool = typer.Option(False, "--exit-when-idle", help="Exit once the queue has nothing to run."),
    samples: SamplesOption = DEFAULT_SAMPLES,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not answer from stored calls."),
    response_format: str = typer.Option("auto", help="auto, json_schema, json_object or none."),
):
    """Judge queued tasks of ONE prompt version and model as they arrive, until stopped.

    Producers queue tasks: 'annotate' queues what lacks a task, then judges;
    'annotate --limit 0' only queues. The worker itself queues nothing.
    Workers on one host or on several, sharing one database, judge each task once.
    SIGTERM or SIGINT: no more claims; calls in flight finish within --grace
    (else their tasks are given back); then exit 0. Another prompt or model:
    run another worker.
    """
    job = AnnotateOptions(
        prompt=prompt,
        model=model,
        concurrency=concurrency,
        samples=samples,
        rpm=rpm,
        tpm=tpm,
        use_cache=not no_cache,
        response_format=response_format,
    )
    opts = WorkerOptions(job=job, poll_s=poll, grace_s=grace, exit_when_idle=exit_when_idle)
    err_console.print(
        f"worker: serving {job.prompt or 'the default prompt'} "
        f"with concurrency {concurrency}; SIGTERM or Ctrl-C stops it",
        highlight=False,
    )
    result = run_worker(engine_of(ctx), settings_of(ctx), opts, on_round=_round_line)
    print_run_summary(result.total)
    console.print(
        f"worker {result.prompt} on {result.model}: {result.rounds} round(s); stopped: {result.stopped}",
        highlight=False,
    )
