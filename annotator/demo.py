"""The demo: bundled sample papers judged offline by the default judge without an endpoint
(``prompts.resolve.default_ref``: SmolLM2-135M embeddings and the shipped head with the
``local`` extra, else the text head), or by any prompt version named (e.g. ``score@1`` for
the chat path on the embedded model)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from annotator.db import open_db
from annotator.db.queries.judgments import judgments_with_titles
from annotator.heads.notice import about, judge_notice
from annotator.ingest import ingest_paths
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.jobs.runner import RunSummary
from annotator.judge.endpoint import Endpoint
from annotator.prompts.resolve import EMBEDDED_REF, choose_prompt
from annotator.redact import redact_url
from annotator.settings import get_settings

SAMPLE = Path(__file__).resolve().parent / "data" / "sample_papers.jsonl"


@dataclass
class DemoJudgment:
    title: str
    ai_score: int
    novelty: int
    rationale: str
    model: str


@dataclass
class DemoResult:
    """What the demo judged, where, with which model, and the run's summary."""

    model: str
    db: str
    judgments: list[DemoJudgment]
    summary: RunSummary
    prompt: str = EMBEDDED_REF
    about: list[str] | None = None  # what the scores are, with held-out figures


def run_demo(
    db: str | None = None, *, concurrency: int = 1, console: Console | None = None, prompt: str | None = None
) -> DemoResult:
    """Ingest the sample, judge it (``prompt`` None: the default judge without an endpoint),
    return the judgments."""
    if db is None:
        db = str(Path(tempfile.mkdtemp(prefix="annotator-demo-")) / "demo.db")
    engine = open_db(db)
    ingest_paths(engine, [str(SAMPLE)])
    settings = get_settings()
    settings.base_url, settings.api_key = None, None  # the demo always runs locally
    chosen = choose_prompt(engine, settings, prompt)

    def notice(ep: Endpoint) -> None:
        if console is not None:
            if chosen.ref != EMBEDDED_REF:  # the figures follow the table
                said = escape(judge_notice(chosen, figures=False))  # it names the extra: [local]
                console.print(f"[yellow]note:[/yellow] {said}", highlight=False)
            console.print(f"database: {redact_url(db)}", highlight=False)

    opts = AnnotateOptions(prompt=chosen.ref, concurrency=concurrency)
    summary = annotate(engine, settings, opts, on_endpoint=notice)
    with engine.connect() as conn:
        rows = judgments_with_titles(conn)
    judgments = [DemoJudgment(*r) for r in rows]
    model = judgments[0].model if judgments else "local model"
    return DemoResult(
        model=model,
        db=db,
        judgments=judgments,
        summary=summary,
        prompt=chosen.ref,
        about=about(chosen) or None,
    )
