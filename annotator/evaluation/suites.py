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

The suites in ``evals/`` and their data files ship inside the package
(``annotator/data/evals``, a symlink to ``evals/`` in a checkout), so an installed
copy can name them without a path: ``annotator eval run iclr2022``. ``suite_path``
decides: an existing file is read as given; otherwise a bare name (no folder, no
``.toml``) is looked up among the shipped suites, and an unknown one is an error that
lists them. A file in the current folder wins over a shipped suite of the same name
only when it is named as a path (``./iclr2022.toml``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..errors import InputError
from ..packaged import data_path
from .labels import known_thresholds
from .suite_types import Suite


def shipped_suites_dir() -> Path:
    """The folder of the shipped suite files (``evals/`` in a checkout)."""
    return data_path("evals")


def evaldata_dir() -> Path:
    """The labelled data shipped with the suites (``evals/data``)."""
    return shipped_suites_dir() / "data"


def shipped_suite_names() -> list[str]:
    """The names ``annotator eval run NAME`` accepts without a path, sorted."""
    return sorted(p.stem for p in shipped_suites_dir().glob("*.toml"))


def suite_path(suite: Path | str) -> Path:
    """A suite file given as a path, or the shipped suite of that name (``iclr2022``)."""
    path = Path(suite)
    text = str(suite)
    if path.exists() or path.suffix == ".toml" or "/" in text or os.sep in text:
        return path
    shipped = shipped_suites_dir() / f"{text}.toml"
    if shipped.is_file():
        return shipped
    raise InputError(
        f"no suite file and no shipped suite of that name; shipped suites: "
        f"{', '.join(shipped_suite_names())} (or give a path to a .toml file)",
        path=text,
    )


def threshold_problems(suite: Suite) -> list[tuple[str, str]]:
    """(field, message) for each ``[thresholds]`` entry that names no metric or is out of range."""
    known = known_thresholds(suite)
    problems = []
    for key, limit in suite.thresholds.items():
        if key not in known:
            problems.append((f"thresholds.{key}", f"unknown threshold; known: {', '.join(known)}"))
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
    """Read and validate a suite file, given as a path or as a shipped suite's name."""
    path = suite_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read suite file: {exc.strerror or exc}", path=str(path)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", path=str(path)) from None
    return parse_suite(data, path=path)
