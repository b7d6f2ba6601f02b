"""``eval run --repeats N``: judge the suite's papers N - 1 more times, as independent runs.

A plain second run is answered from the stored calls (the same request, the same
reply), so it would show no difference at all. A repeat instead gives every request
its own cache identity (``ModelClient.repeat``, like ``_sample`` for samples): repeat
``r`` of a paper is sent once, stored in ``llm_calls`` under the paper's task, and a
later run with the same ``--repeats`` (or ``--replay``) reads it back from there.

Repeats are not stored as judgments (a paper has one judgment per prompt version and
model); their scores go into the predictions as ``runs``: ``{field: [score of run 1,
run 2, ...]}`` on 0-100, run 1 being the stored judgment. The report's "between runs"
figure is the mean absolute difference between two runs of the same paper.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from annotator.db.engine import writer
from annotator.db.models import LLMCall
from annotator.db.queries import judgments
from annotator.evaluation.run_samples import FIELDS
from annotator.jobs.annotate import AnnotateOptions, run_setup
from annotator.jobs.outcomes import table_of
from annotator.judge.endpoint import endpoint
from annotator.judge.stored_replies import pack_reply
from annotator.methods.dispatch import method_for
from annotator.methods.interface import MethodContext, PaperInput, Verdict
from annotator.prompts.files import Prompt
from annotator.prompts.registry import version_id
from annotator.settings import Settings


def _papers(engine: Engine, suite_name: str, prompt: Prompt, model: str) -> list[tuple]:
    """(paper id, external id, title, abstract, task id) of the suite's judged papers."""
    with engine.connect() as conn:
        return list(judgments.suite_judged_tasks(conn, suite_name, prompt.name, str(prompt.version), model))


def _store(engine: Engine, pv_id: int, model: str, done: list[tuple[tuple, Verdict]]) -> None:
    """Every attempt of the repeats, under the paper's task (so the cache serves them later)."""
    calls = [
        dict(
            task_id=row[4],
            paper_id=row[0],
            prompt_version_id=pv_id,
            model=model,
            request_hash=a.request_hash,
            request_json=a.request_json,
            response_text=pack_reply(a.response_text, a.logprobs),
            outcome=a.outcome,
            error=a.error,
            status_code=a.status_code,
            attempt=a.attempt,
            reask=a.reask,
            prompt_tokens=a.prompt_tokens,
            completion_tokens=a.completion_tokens,
            latency_ms=a.latency_ms,
            cost_usd=a.cost_usd,
        )
        for row, v in done
        for a in v.attempts
    ]
    if calls:
        with writer(engine).begin() as conn:
            conn.execute(table_of(LLMCall).insert(), calls)


async def _judge_all(method, client, rows: list[tuple], concurrency: int) -> list[tuple[tuple, Verdict]]:
    gate = asyncio.Semaphore(concurrency)

    async def one(row: tuple) -> tuple[tuple, Verdict]:
        async with gate:
            return row, await method.judge(PaperInput(row[0], row[2], row[3]))

    try:
        await method.prepare()
        return list(await asyncio.gather(*(one(r) for r in rows)))
    finally:
        await client.close()


def attach_repeats(
    engine: Engine,
    settings: Settings,
    prompt: Prompt,
    model: str,
    suite_name: str,
    repeats: int,
    opts: AnnotateOptions,
    preds: dict[str, dict],
) -> int:
    """Judge the suite's judged papers ``repeats - 1`` more times and add ``runs`` to their
    predictions (papers whose every run gave a score); returns how many papers have them."""
    if repeats < 2:
        return 0
    with engine.connect() as conn:
        pv_id = version_id(conn, prompt.name, prompt.version)
    assert pv_id is not None  # registered by the run that judged these papers
    rows = _papers(engine, suite_name, prompt, model)
    runs: dict[str, dict[str, list[float]]] = {}
    for ext_id in (r[1] for r in rows):
        rec = preds.get(ext_id) or {}
        runs[ext_id] = {f: [float(rec[f])] for f in FIELDS if isinstance(rec.get(f), (int, float))}
    for r in range(1, repeats):
        with endpoint(
            settings, model, replay=opts.replay, logprobs=prompt.meta.method == "expected", method=prompt.meta.method
        ) as ep:
            client, run_opts = run_setup(engine, settings, ep, opts)
            client.repeat = r
            samples = opts.samples if opts.samples > 1 else prompt.meta.samples
            method = method_for(
                MethodContext(
                    client=client,
                    prompt=prompt,
                    params=prompt.meta.params.model_dump(exclude_none=True),
                    samples=samples,
                    max_abstract_chars=run_opts.max_abstract_chars,
                    engine=engine,
                )
            )

            done = asyncio.run(_judge_all(method, client, rows, run_opts.job.concurrency))
        _store(engine, pv_id, model, done)
        for row, verdict in done:
            fields = verdict.fields or {}
            for f in list(runs[row[1]]):
                if isinstance(fields.get(f), (int, float)):
                    runs[row[1]][f].append(float(fields[f]))
                else:
                    del runs[row[1]][f]  # a run without a score: no pair for this field
    n = 0
    for ext_id, per in runs.items():
        kept = {f: v for f, v in per.items() if len(v) == repeats}
        if kept and isinstance(preds.get(ext_id), dict):
            preds[ext_id]["runs"] = kept
            n += 1
    return n
