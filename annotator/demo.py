"""The demo: bundled sample papers judged by the embedded local model."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import text

from annotator.ingest import ingest_paths
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.settings import get_settings
from db import open_db

SAMPLE = Path(__file__).resolve().parent / "data" / "sample_papers.jsonl"


def run_demo(db: str | None = None, *, concurrency: int = 1, console=None) -> dict:
    """Ingest the sample, judge it on the embedded model, return the judgments."""
    if db is None:
        db = str(Path(tempfile.mkdtemp(prefix="annotator-demo-")) / "demo.db")
    engine = open_db(db)
    ingest_paths(engine, [str(SAMPLE)])
    settings = get_settings(db=db)
    settings.base_url, settings.api_key = None, None  # the demo always runs locally

    def notice(ep):
        if console is not None:
            from annotator.judge.local_model import DEMO_NOTICE

            console.print(f"[yellow]note:[/yellow] {DEMO_NOTICE}", highlight=False)
            console.print(f"database: {db}", highlight=False)

    summary = annotate(engine, settings, AnnotateOptions(concurrency=concurrency), on_endpoint=notice)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.title, j.ai_score, j.novelty, j.rationale, j.model FROM judgments j "
            "JOIN papers p ON p.id = j.paper_id ORDER BY p.id")).mappings().all()
    model = rows[0]["model"] if rows else "local model"
    return {"rows": [dict(r) for r in rows], "summary": summary, "model": model, "db": db}
