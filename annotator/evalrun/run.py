"""``annotator eval run``: judge a suite's papers through the queue, then score them.

The suite's papers are stored as eval papers (``is_eval``, ``eval_suite``), so
profiles, leaderboards and exports keep them apart from the user's corpus.
They are judged by the same queue and client as any paper, which means a
re-run with an unchanged prompt is answered from stored calls (``--replay``
makes that strict: no HTTP at all).

A pairwise prompt's anchors are taken out of the suite's papers before the sample
is drawn (``methods.anchors``): an anchor is never among the papers a report
scores, and the report names the anchors (``anchors`` in the JSON, a section in the
Markdown).

Calibrations (``save_calibrations``) replace the suite's maps in one transaction:
killed halfway, the previous maps stay; two runs finishing at once leave one map per
label (the last), never two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from annotator.db.engine import writer
from annotator.db.queries import derived, judgments
from annotator.errors import InputError
from annotator.evalrun.repeats import attach_repeats
from annotator.evaluation.items import data_hash, load_items, read_items, sample_items
from annotator.evaluation.pipeline import evaluate
from annotator.evaluation.reports import ReportFiles, write_reports
from annotator.evaluation.results import EvalResult
from annotator.evaluation.run_samples import attach_samples
from annotator.evaluation.suite_types import EvalItem, Suite
from annotator.evaluation.suites import load_suite
from annotator.evaluation.thresholds import parse_fail_under
from annotator.heads.evaluate import held_out
from annotator.ingest import ingest_records
from annotator.ingest.records import PaperRecord
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.jobs.runner import Reporter, RunSummary
from annotator.jobspec import JobSpec
from annotator.judge.endpoint import Endpoint
from annotator.methods.anchors import load_anchors, without_anchors
from annotator.prompts.files import Prompt
from annotator.prompts.registry import lock_version_id
from annotator.prompts.resolve import choose_prompt
from annotator.settings import Settings, current


@dataclass
class EvalRunOptions(JobSpec):
    """The job (prompt, model, concurrency) and the run's own options."""

    fail_under: tuple[str, ...] = ()
    out_dir: str = "eval-report"
    use_cache: bool = True
    replay: bool = False
    n_boot: int = 1000
    sample_size: int | None = None
    plots: bool = True
    repeats: int = 1  # above 1: judge every paper this many times as independent runs


def _records(items: list[EvalItem], suite_name: str) -> list[PaperRecord]:
    out = []
    for it in items:
        try:
            out.append(
                PaperRecord(
                    title=it.title,
                    abstract=it.abstract,
                    external_id=it.id,
                    venue=it.venue,
                    source_ref=f"{suite_name}:{it.id}",
                )
            )
        except ValueError as exc:
            raise InputError(f"eval item cannot be stored: {exc}", path=suite_name, field=it.id) from None
    return out


def predictions(engine: Engine, suite_name: str, prompt_name: str, prompt_version: str, model: str) -> dict[str, dict]:
    """Stored judgments (or the reason there is none) for the suite's papers."""
    with engine.connect() as conn:
        rows = judgments.suite_judgment_states(conn, suite_name, prompt_name, prompt_version, model)
    preds: dict[str, dict] = {}
    for ext_id, ai, nov, state, error in rows:
        if ai is not None:
            preds[ext_id] = {"ai_score": ai, "novelty": nov}
        elif state == "failed":
            preds[ext_id] = {"error": error or "failed"}
    return preds


def _papers(suite: Suite, prompt: Prompt) -> tuple[list[EvalItem], dict[str, Any]]:
    """The suite's papers to score: its seeded sample, drawn after the prompt's pairwise
    anchors (if any) are taken out, and what the report says about those anchors."""
    if prompt.meta.anchors is None:
        return load_items(suite), {}
    spec = prompt.meta.anchors
    anchor_set = load_anchors(spec)
    every = read_items(suite)
    pool = without_anchors(every, anchor_set)
    about = {
        "suite": anchor_set.suite,
        "k": spec.k,
        "seed": spec.seed,
        "ids": [a.id for a in anchor_set.anchors],
        "left_out": len(every) - len(pool),
    }
    return sample_items(pool, suite.sample_size, suite.seed), about


@dataclass(frozen=True)
class EvalRun:
    """What ``annotator eval run`` did: the scored result, the report files, the judging run."""

    result: EvalResult
    files: ReportFiles
    summary: RunSummary


def run_eval(
    engine: Engine,
    settings: Settings,
    suite_path: str,
    opts: EvalRunOptions,
    reporter: Reporter | None = None,
    on_endpoint: Callable[[Endpoint], None] | None = None,
) -> EvalRun:
    suite = load_suite(suite_path)
    if opts.sample_size is not None:
        suite = suite.model_copy(update={"sample_size": opts.sample_size})
    prompt = choose_prompt(engine, settings, opts.prompt)
    items, anchors = _papers(suite, prompt)
    ingest_records(engine, _records(items, suite.name), fmt=f"eval:{suite.name}", is_eval=True, eval_suite=suite.name)
    endpoint_seen: dict[str, str] = {}

    def remember(ep: Endpoint) -> None:
        endpoint_seen["model"] = ep.model
        if on_endpoint:
            on_endpoint(ep)

    annotate_opts = AnnotateOptions(
        prompt=prompt.ref,
        model=opts.model,
        concurrency=opts.concurrency,
        use_cache=opts.use_cache,
        replay=opts.replay,
        eval_suite=suite.name,
    )
    summary = annotate(engine, settings, annotate_opts, reporter, on_endpoint=remember)
    model = endpoint_seen["model"]
    preds = predictions(engine, suite.name, prompt.name, str(prompt.version), model)
    attach_samples(engine, suite.name, prompt.name, str(prompt.version), model, preds)
    attach_repeats(engine, settings, prompt, model, suite.name, opts.repeats, annotate_opts, preds)
    provenance = {
        "model": model,
        "model_params": prompt.meta.params.model_dump(),
        "prompt_name": prompt.name,
        "prompt_version": str(prompt.version),
        "prompt_hash": prompt.content_hash,
        "suite": suite.name,
        "data_path": suite.data,
        "data_hash": data_hash(suite.data_path),
    }
    fitted = held_out(engine, prompt, model, items, preds, n_boot=opts.n_boot)
    result = evaluate(
        items,
        fitted.predictions,
        suite=suite,
        provenance=provenance,
        n_boot=opts.n_boot,
        thresholds=parse_fail_under(list(opts.fail_under)),
    )
    result.notes[:0] = fitted.notes
    result.fitted_head = fitted.section
    result.anchors = anchors
    save_calibrations(engine, result, suite.name, prompt.name, str(prompt.version), model)
    files = write_reports(result, opts.out_dir, plots=opts.plots)
    summary_file = current().github_step_summary
    if summary_file:  # GitHub Actions shows this file as the job summary
        with open(summary_file, "a", encoding="utf-8") as fh:
            fh.write(files.markdown.read_text(encoding="utf-8"))
    return EvalRun(result=result, files=files, summary=summary)


def save_calibrations(
    engine: Engine, result: EvalResult, suite_name: str, prompt_name: str, prompt_version: str, model: str
) -> int:
    """Store each label's isotonic map with the prompt version and model (replacing older
    maps from the same suite), so profiles can show calibrated scores."""
    rows = [
        (label, res.pred_key, res.scale, res.calibration)
        for label, res in result.labels.items()
        if res.calibration is not None and res.pred_key in ("ai_score", "novelty") and res.scale
    ]
    # one transaction: killed halfway, the old maps stay. Two runs at once: SQLite's writer
    # lock serialises them; on PostgreSQL the prompt version's row is locked first, so the
    # second run's DELETE sees the first one's rows (else both insert: two maps a label)
    with writer(engine).begin() as conn:
        pv = lock_version_id(conn, prompt_name, prompt_version)
        for label, pred_key, scale, calibration in rows:
            derived.replace_calibration(
                conn,
                prompt_version_id=pv,
                model=model,
                suite=suite_name,
                label=label,
                pred_key=pred_key,
                scale_low=scale[0],
                scale_high=scale[1],
                map_json=calibration.map.to_json(),
                n_train=calibration.n_train,
            )
    return len(rows)
