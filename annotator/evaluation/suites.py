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

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

try:
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from ..errors import InputError
from .items import EvalItem, data_hash, load_items, sample_items  # noqa: F401 - re-exported


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldNames(_Strict):
    id: str = "id"
    title: str = "title"
    abstract: str = "abstract"
    venue: str | None = "venue"
    year: str | None = "year"
    decision: str | None = None


class LabelFields(_Strict):
    gold: str
    scale: tuple[float, float]
    reviewers: str | None = None

    @field_validator("scale")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError("scale must be [low, high] with low < high")
        return v


class CitationFields(_Strict):
    field: str = "citations"
    zero_is_missing: bool = True  # a count of 0 is mostly a failed lookup


class Suite(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    data: str = Field(min_length=1)
    sample_size: int | None = Field(default=100, ge=1)
    seed: int = 0
    fields: FieldNames = FieldNames()
    ai: LabelFields
    novelty: LabelFields | None = None
    citations: CitationFields | None = None
    thresholds: dict[str, float] = {}
    _path: Path | None = PrivateAttr(default=None)  # the TOML file, set by load_suite

    @property
    def path(self) -> Path | None:
        return self._path

    def known_thresholds(self) -> list[str]:
        from .labels import label_specs_for_suite

        names = [f"{kind}_{spec.name}" for spec in label_specs_for_suite(self)
                 for kind in spec.kinds]
        return names + ["max_missing_rate"]

    def threshold_problems(self) -> list[tuple[str, str]]:
        known = self.known_thresholds()
        problems = []
        for key, limit in self.thresholds.items():
            if key not in known:
                problems.append((f"thresholds.{key}",
                                 f"unknown threshold; known: {', '.join(known)}"))
            elif key == "max_missing_rate" and not 0 <= limit <= 1:
                problems.append((f"thresholds.{key}", "must be between 0 and 1"))
        return problems

    @property
    def base_dir(self) -> Path:
        """The folder relative data paths start from: the suite file's, else the CWD."""
        return self.path.resolve().parent if self.path else Path.cwd()

    @property
    def data_path(self) -> Path:
        return resolve_data_path(self.data, self.base_dir)


def evaldata_dir() -> Path:
    """The labelled data shipped in the repository (``evals/data``), for scripts and tests."""
    return Path(__file__).resolve().parents[2] / "evals" / "data"


def resolve_data_path(data: str, base_dir: Path) -> Path:
    p = Path(data).expanduser()
    return p if p.is_absolute() else (base_dir / p).resolve()


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _message(err: dict) -> str:
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
    problems = suite.threshold_problems()
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
