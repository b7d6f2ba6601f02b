"""``annotator eval``: run a suite against the model, compare two runs, reference numbers."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markdown import Markdown
from rich.markup import escape

from annotator.commands.common import (
    console,
    engine_of,
    err_console,
    is_stdout,
    print_json,
    settings_of,
    wide_console,
)
from annotator.commands.job_options import (
    DEFAULT_CONCURRENCY,
    ConcurrencyOption,
    ModelOption,
    PromptOption,
)

app = typer.Typer(no_args_is_help=True, help="Check judgments against labelled eval suites.")


@app.command("run")
def eval_run(
    ctx: typer.Context,
    suite: Path = typer.Argument(..., help="A suite file, or a shipped suite's name (iclr2022, neurips2023, ...)."),
    prompt: PromptOption = None,
    model: ModelOption = None,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    fail_under: list[str] = typer.Option([], "--fail-under", help="METRIC=VALUE, e.g. spearman_ai=0.3 (repeatable)."),
    out: Path = typer.Option(Path("eval-report"), "--out", help="Folder for report.md, result.json, junit.xml, PNGs."),
    sample_size: int | None = typer.Option(None, min=1, help="Override the suite's sample size."),
    n_boot: int = typer.Option(1000, min=100, help="Bootstrap resamples for the intervals."),
    no_cache: bool = typer.Option(False, "--no-cache"),
    replay: bool = typer.Option(False, "--replay", help="Answer only from stored calls; fail on a miss."),
    no_plots: bool = typer.Option(False, "--no-plots"),
    repeats: int = typer.Option(
        1,
        "--repeats",
        min=1,
        max=20,
        help="Judge every paper N times as independent runs (N times the calls) and report "
        "the mean absolute difference between runs.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print result.json instead of the Markdown report."),
):
    """Judge the suite's papers, compute metrics with intervals, write the reports.

    Exits 1 when a threshold (from the suite or --fail-under) is breached."""
    from annotator.evalrun.run import EvalRunOptions, run_eval
    from annotator.evaluation.thresholds import raise_for_thresholds
    from annotator.jobs.progress import RichReporter

    settings, engine = settings_of(ctx), engine_of(ctx)
    opts = EvalRunOptions(
        prompt=prompt,
        model=model,
        concurrency=concurrency,
        fail_under=tuple(fail_under),
        out_dir=str(out),
        use_cache=not no_cache,
        replay=replay,
        n_boot=n_boot,
        sample_size=sample_size,
        plots=not no_plots,
        repeats=repeats,
    )

    def notice(ep):
        if ep.embedded and not replay:
            from annotator.heads.notice import judge_notice
            from annotator.prompts.resolve import choose_prompt

            said = escape(judge_notice(choose_prompt(engine, settings, prompt)))  # [local] is text
            err_console.print(f"[yellow]note:[/yellow] {said}", highlight=False)

    run = run_eval(engine, settings, str(suite), opts, RichReporter(err_console, "eval"), on_endpoint=notice)
    if as_json:
        sys.stdout.write(run.files.json.read_text(encoding="utf-8"))
    else:
        console.print(Markdown(run.files.markdown.read_text(encoding="utf-8")))
    summary = run.summary
    err_console.print(
        f"judged {summary.done}, failed {summary.failed}, calls {summary.calls} "
        f"(cached {summary.cached}); reports in {out}/",
        highlight=False,
    )
    raise_for_thresholds(run.result)


@app.command("fit")
def eval_fit(
    ctx: typer.Context,
    suites: list[Path] = typer.Argument(
        ..., help="Suite files or shipped suites' names, e.g. iclr2022 evals/neurips2023.toml."
    ),
    prompt: str = typer.Option(..., help="NAME@VERSION whose judgments (or embeddings) the head reads."),
    model: ModelOption = None,
    folds: int = typer.Option(5, "--folds", min=2, max=20, help="Folds of the recorded split."),
    seed: int = typer.Option(0),
    sample: bool = typer.Option(False, "--sample", help="Embedding heads: only each suite's sample."),
    n_boot: int = typer.Option(1000, min=100, help="Bootstrap resamples for the intervals."),
    as_json: bool = typer.Option(False, "--json", help="Print the head's id, hash and held-out figures as JSON."),
):
    """Fit a ridge head from a prompt version's features to the suites' human labels and store it."""
    from annotator.heads.fit_report import fit_lines
    from annotator.heads.train import FitOptions, fit_suites

    stored = fit_suites(
        engine_of(ctx),
        settings_of(ctx),
        [str(s) for s in suites],
        FitOptions(prompt=prompt, model=model, k=folds, seed=seed, sample=sample, n_boot=n_boot),
    )
    if as_json:
        print_json(
            {
                "id": stored.head_id,
                "hash": stored.head_hash,
                "suites": stored.head.suites,
                "provenance": stored.head.provenance,
                "metrics": stored.head.metrics,
            }
        )
        return
    for line in fit_lines(stored):
        console.print(line, highlight=False, markup=False)


@app.command("compare")
def eval_compare(
    ctx: typer.Context,
    runs: list[Path] = typer.Argument(
        ...,
        exists=True,
        help="result.json files: the baseline first. Two: a paired "
        "comparison; three or more (or --table): one table of methods with cost.",
    ),
    n_boot: int = typer.Option(1000, min=100),
    table: bool = typer.Option(False, "--table", help="The methods table even for two runs."),
    price_model: str | None = typer.Option(
        None, "--price-model", help="Cost per paper at this model's prices (e.g. gpt-4o-mini)."
    ),
    md: Path | None = typer.Option(None, "--md", help="Also write the Markdown here."),
    json_out: Path | None = typer.Option(
        None, "--json", help="Also write JSON here ('-': print it instead of the Markdown)."
    ),
):
    """Paired bootstrap over the papers both runs judged: differences with intervals and a verdict.

    With three or more runs (or --table): one row per run with Spearman, AUROC and QWK
    (95% intervals), failures, calls, tokens and cost per paper, beside the human
    ceiling and the baselines."""
    from annotator.evaluation.paired import compare
    from annotator.evaluation.results import load_result

    if len(runs) < 2:
        raise typer.BadParameter("give at least two result.json files", param_hint="RUNS")
    if table or len(runs) > 2:
        from annotator.evaluation.method_table import method_table

        summary = method_table([load_result(str(r)) for r in runs], engine=engine_of(ctx), price_model=price_model)
        if md:
            md.write_text(summary.to_markdown(), encoding="utf-8")
        if json_out and not is_stdout(json_out):
            json_out.write_text(summary.model_dump_json(indent=2), encoding="utf-8")
        if is_stdout(json_out):
            sys.stdout.write(summary.model_dump_json(indent=2) + "\n")
        else:
            wide_console().print(summary.to_markdown(), markup=False, highlight=False, soft_wrap=True)
        return
    run_a, run_b = runs
    comparison = compare(load_result(str(run_a)), load_result(str(run_b)), n_boot=n_boot)
    text = comparison.to_markdown()
    if md:
        md.write_text(text, encoding="utf-8")
    if is_stdout(json_out):
        sys.stdout.write(comparison.model_dump_json(indent=2) + "\n")
        return
    console.print(Markdown(text))
    for d in comparison.diffs:  # the verdicts in plain words, whatever the terminal width
        if d.name.startswith(("spearman", "auroc")) and d.diff is not None:
            console.print(f"{d.name}: {d.verdict} ({d.diff:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}])", highlight=False)
    if json_out:
        json_out.write_text(comparison.model_dump_json(indent=2), encoding="utf-8")


@app.command("baselines")
def eval_baselines(
    suite: Path = typer.Argument(..., help="A suite file, or a shipped suite's name (iclr2022)."),
    sample: bool = typer.Option(False, "--sample", help="Only the suite's sample (default: the whole data file)."),
    n_boot: int = typer.Option(1000, min=1, help="Bootstrap resamples for the intervals."),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON."),
):
    """Human ceiling and TF-IDF baseline of a suite's labelled data: no model involved."""
    from annotator.evaluation.items import load_items
    from annotator.evaluation.reference import reference_numbers, summary_lines
    from annotator.evaluation.suites import load_suite

    loaded = load_suite(suite)
    ref = reference_numbers(loaded, load_items(loaded, sample=sample), n_boot=n_boot, seed=seed)
    if as_json:
        print_json(ref.model_dump(mode="json"))
        return
    for line in summary_lines(ref):
        console.print(line, highlight=False, markup=False)
