"""Evaluation suites: a TOML file naming a labelled JSONL file and how to read it.

Example (``evals/iclr2022.toml``)::

    name = "iclr2022"
    data = "data/iclr2022_ratings_novelty.jsonl"   # relative to this file's folder
    sample_size = 100          # omit for every paper
    seed = 20240601

    [fields]                   # where each value lives in a JSONL row
    id = "id"
    title = "title"
    abstract = "abstract"
    venue = "venue"
    year = "year"
    decision = "accepted"      # true / false / null; optional

    [ai]                       # gold label for the predicted ai_score (0-100)
    gold = "rating_mean"
    scale = [1, 10]
    reviewers = "rating_list"  # per-reviewer scores, for the human ceiling; optional

    [novelty]                  # optional: gold label for the predicted novelty (0-100)
    gold = "novelty_or_contribution_mean"
    scale = [1, 4]
    reviewers = "novelty_or_contribution_list"

    [citations]                # optional: ai_score against log(1 + citations)
    field = "citations"
    zero_is_missing = true

    [thresholds]               # metric_label = limit; see annotator.evaluation.thresholds
    spearman_ai = 0.1
    max_missing_rate = 0.1

A relative data path is resolved against the folder that holds the suite file, never
the current directory, so ``annotator eval run evals/iclr2022.toml`` reads the same file
from wherever it is started. The labelled data shipped with the repository is in
``evals/data/`` (see its README for source and licence).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..errors import InputError
from .labels import known_thresholds
from .suite_types import Suite


def evaldata_dir() -> Path:
    """The labelled data shipped in the repository (``evals/data``), for scripts and tests."""
    return Path(__file__).resolve().parents[2] / "evals" / "data"


def threshold_problems(suite: Suite) -> list[tuple[str, str]]:
    """(field, message) for each ``[thresholds]`` entry that names no metric or is out of range."""
    known = known_thresholds(suite)
    problems = []
    for key, limit in suite.thresholds.items():
        if key not in known:
            problems.append((f"thresholds.{key}",
                             f"unknown threshold; known: {', '.join(known)}"))
        elif key == "max_missing_rate" and not 0 <= limit <= 1:
            problems.append((f"thresholds.{key}", "must be between 0 and 1"))
    return problems


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _message(err: ErrorDetails) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (not allowed here; check the spelling)"
    if err["type"] == "missing":
        return "required key is missing"
    return err["msg"]


def parse_suite(data: dict, *, path: Path | str | None = None) -> Suite:
    """Validate a suite mapping; errors are InputError naming the file and field."""
    where = str(path) if path is not None else None
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(_message(err), path=where, field=_field_name(err["loc"])) from None
    problems = threshold_problems(suite)
    if problems:
        field, message = problems[0]
        raise InputError(message, path=where, field=field)
    if path is not None:
        suite._path = Path(path)
    return suite


def load_suite(path: Path | str) -> Suite:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read suite file: {exc.strerror or exc}", path=str(path)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", path=str(path)) from None
    return parse_suite(data, path=path)
