"""The Python API: the same functions the command line calls, for notebooks and pipelines.

Every function takes ``db``: a path (SQLite), a SQLAlchemy URL, or an engine
from ``open_db``. The endpoint comes from the environment as on the command
line (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``), unless given here; with
neither, the embedded local model is used.

    import annotator
    db = annotator.open_db("papers.db")
    annotator.ingest_files(db, "feed.jsonl")
    summary = annotator.annotate(db, model="gpt-4o-mini", concurrency=16)
    for paper in annotator.judged_papers(db):
        print(paper["title"], paper["judgments"][0]["ai_score"])
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from annotator.biblio.profile_models import AuthorProfile
from annotator.biblio.profiles import author_profile
from annotator.db import open_db
from annotator.evalrun.run import EvalRunOptions, run_eval
from annotator.evaluation.results import EvalResult
from annotator.export import iter_papers
from annotator.ingest.store import IngestSummary, ingest_paths
from annotator.jobs.annotate import AnnotateOptions
from annotator.jobs.annotate import annotate as run_annotate
from annotator.jobs.runner import RunSummary
from annotator.settings import get_settings

__all__ = ["open_db", "ingest_files", "annotate", "judged_papers", "profile", "evaluate_suite"]

Database = str | Path | Engine


def _engine(db: Database) -> Engine:
    return db if isinstance(db, Engine) else open_db(str(db))


def ingest_files(db: Database, *paths: str | Path, fmt: str | None = None) -> IngestSummary:
    """Read papers from files (feed page, JSONL, CSV, arXiv Atom, OpenAlex); idempotent."""
    return ingest_paths(_engine(db), [str(p) for p in paths], fmt)


def annotate(
    db: Database,
    *,
    prompt: str | None = None,
    model: str | None = None,
    concurrency: int = 8,
    limit: int | None = None,
    samples: int = 1,
    max_cost: float | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
) -> RunSummary:
    """Judge every paper that lacks a judgment for this prompt version and model."""
    settings = get_settings(base_url=base_url, api_key=api_key)
    # prompt None: the default judge of annotator.prompts.resolve, as on the command line
    opts = AnnotateOptions(
        prompt=prompt, model=model, concurrency=concurrency, limit=limit, samples=samples, max_cost=max_cost
    )
    return run_annotate(_engine(db), settings, opts)


def judged_papers(db: Database, *, prompt: str | None = None, model: str | None = None) -> Iterator[dict[str, Any]]:
    """Papers with their judgments, as ``annotator export`` writes them, in id order."""
    return iter_papers(_engine(db), prompt=prompt, model=model)


def profile(db: Database, author: str, *, prompt: str | None = None, model: str | None = None) -> AuthorProfile:
    """An author's profile: h-index, papers, citations, mean AI score and novelty, papers."""
    return author_profile(_engine(db), author, prompt=prompt, model=model)


def evaluate_suite(
    db: Database,
    suite: str | Path,
    *,
    model: str | None = None,
    prompt: str | None = None,
    out_dir: str | Path = "eval-report",
    base_url: str | None = None,
    api_key: str | None = None,
) -> EvalResult:
    """Judge an eval suite's papers and score the judgments against its labels.

    Returns the result (metrics with intervals, thresholds, provenance); the
    reports are written to ``out_dir``.
    """
    opts = EvalRunOptions(prompt=prompt, model=model, out_dir=str(out_dir))
    return run_eval(_engine(db), get_settings(base_url=base_url, api_key=api_key), str(suite), opts).result
