"""``annotator annotate`` and ``annotator demo``: judge the papers that lack a judgment."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.markup import escape
from rich.table import Table

from annotator.commands.batch import submit_and_report
from annotator.commands.common import (
    console,
    db_of,
    engine_of,
    err_console,
    print_json,
    print_run_summary,
    settings_of,
)
from annotator.commands.job_options import (
    DEFAULT_CONCURRENCY,
    DEFAULT_SAMPLES,
    ConcurrencyOption,
    MaxCostOption,
    ModelOption,
    PromptOption,
    RpmOption,
    SamplesOption,
    TpmOption,
)
from annotator.jobs.annotate import AnnotateOptions
from annotator.jobs.annotate import annotate as run
from annotator.jobs.annotate import dry_run as estimate
from annotator.jobs.batch_types import BatchOptions
from annotator.jobs.progress import RichReporter
from annotator.judge.endpoint import Endpoint, default_model
from annotator.prompts.resolve import choose_prompt

app = typer.Typer()


@app.command()
def annotate(
    ctx: typer.Context,
    prompt: PromptOption = None,
    model: ModelOption = None,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    limit: int | None = typer.Option(None, min=0, help="Judge at most this many papers."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Estimate calls, tokens and cost; call nothing."),
    samples: SamplesOption = DEFAULT_SAMPLES,
    max_cost: MaxCostOption = None,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not answer from stored calls."),
    replay: bool = typer.Option(False, "--replay", help="Answer only from stored calls; fail on a miss."),
    response_format: str = typer.Option("auto", help="auto, json_schema, json_object or none."),
    batch: bool = typer.Option(
        False,
        "--batch",
        help="Send through the Batch API instead (half price, within 24 h); then run 'annotator batch collect'.",
    ),
    refit: bool = typer.Option(
        False,
        "--refit",
        help="Method 'tournament': fit the stored comparisons again and rewrite the scores; call nothing.",
    ),
):
    """Judge every paper that lacks a judgment for this prompt version and model."""
    if refit:
        from annotator.methods.tournament_refit import refit as refit_tournament

        engine = engine_of(ctx)
        done = refit_tournament(
            engine, choose_prompt(engine, settings_of(ctx), prompt), default_model(settings_of(ctx), model)
        )
        console.print(
            f"refit {done.fit_id}: {done.judgments} judgments from {done.comparisons} "
            f"comparisons; position bias {done.position_bias:+.2f} logits"
        )
        return
    if batch:
        submit_and_report(
            engine_of(ctx),
            settings_of(ctx),
            BatchOptions(
                prompt=prompt,
                model=model,
                limit=limit,
                samples=samples,
                max_cost=max_cost,
                use_cache=not no_cache,
                response_format=response_format,
            ),
        )
        return
    settings = settings_of(ctx)
    engine = engine_of(ctx)
    chosen = choose_prompt(engine, settings, prompt)  # no endpoint: the embedded default judge
    prompt = chosen.ref
    opts = AnnotateOptions(
        prompt=prompt,
        model=model,
        concurrency=concurrency,
        limit=limit,
        samples=samples,
        max_cost=max_cost,
        rpm=rpm,
        tpm=tpm,
        use_cache=not no_cache,
        replay=replay,
        response_format=response_format,
    )
    if dry_run:
        d = estimate(engine, chosen, default_model(settings, model), opts, settings.max_abstract_chars)
        console.print(
            f"dry run: {d.calls} calls for {d.prompt_ref} on {d.model} ({d.papers} papers, "
            f"method {d.method}); about "
            f"{d.prompt_tokens:,} input and {d.completion_tokens:,} output tokens; "
            f"estimated cost ${d.cost_usd:.4f}"
        )
        return

    def notice(ep: Endpoint) -> None:
        if ep.embedded and not replay:
            from annotator.heads.notice import judge_notice  # numpy and the heads: only when one judges

            said = escape(judge_notice(chosen))  # it names the extra: [local] is text, not markup
            err_console.print(f"[yellow]note:[/yellow] {said}", highlight=False)

    summary = run(engine, settings, opts, RichReporter(err_console), on_endpoint=notice)
    print_run_summary(summary)
    if summary.failed and summary.done == 0:
        raise typer.Exit(5)


@app.command()
def demo(
    ctx: typer.Context,
    concurrency: int = typer.Option(1, min=1, help="Parallel requests to the local model (it answers one at a time)."),
    prompt: str | None = typer.Option(
        None,
        help="NAME@VERSION. Default: the embedding judge (embed@1) with the local extra, else the text "
        "judge (text-head@1); score@1: the chat path on the embedded model (demo quality).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the judgments and the run summary as JSON."),
):
    """Judge the bundled sample papers offline: the embedding judge, or the text judge without the local extra."""
    # imported here: the demo loads the shipped head (numpy, scikit-learn), which every
    # other command would otherwise pay for at start-up
    from annotator.demo import run_demo
    from annotator.redact import redact_url

    result = run_demo(db_of(ctx), concurrency=concurrency, console=err_console, prompt=prompt)
    if as_json:
        print_json({**asdict(result), "db": redact_url(result.db)})
        return
    table = Table("title", "AI score", "novelty", "rationale", title=f"judgments by {result.model}")
    for j in result.judgments:
        table.add_row(j.title, str(j.ai_score), f"{j.novelty}%", j.rationale)
    console.print(table)
    for line in result.about or []:
        console.print(line, highlight=False, markup=False)
    print_run_summary(result.summary)
