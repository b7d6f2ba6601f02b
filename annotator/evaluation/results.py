"""The result of one evaluation run: what every writer and comparison reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from annotator.errors import InputError
from annotator.provenance import code_version

from .agreement import Agreement
from .baselines import BaselineResult
from .calibration import CalibrationReport
from .ceiling import CeilingResult
from .metrics import Counts, MetricValue

SCHEMA_VERSION = 1
Status = Literal["scored", "partial", "invalid", "missing"]


class Provenance(BaseModel):
    """Where a result came from: model, prompt, data, code version and date. All optional."""

    model_config = ConfigDict(protected_namespaces=())

    model: str | None = None
    model_params: dict[str, Any] = {}
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None
    suite: str | None = None
    data_path: str | None = None
    data_hash: str | None = None  # sha256 of the data file
    sample_size: int | None = None
    sample_seed: int | None = None
    sample_hash: str | None = None  # sha256 of the sorted ids evaluated
    code_commit: str | None = None
    code_dirty: bool | None = None
    date: str | None = None  # ISO 8601, UTC
    n_boot: int | None = None
    seed: int | None = None
    extra: dict[str, Any] = {}


def complete(prov: Provenance | dict | None, **defaults: Any) -> Provenance:
    """Fill the fields left empty: ``defaults`` first, then date and code version."""
    prov = Provenance.model_validate(prov or {})
    updates = {k: v for k, v in defaults.items() if v is not None and getattr(prov, k, None) in (None, {}, "")}
    if prov.date is None:
        updates["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    if prov.code_commit is None and prov.code_dirty is None:
        cv = code_version()
        updates["code_commit"], updates["code_dirty"] = cv.commit, cv.dirty
    return prov.model_copy(update=updates)


class LabelResult(BaseModel):
    """One gold label (``ai``, ``novelty``, ``citations``) and the prediction checked against it."""

    label: str
    pred_key: str  # the prediction field: "ai_score" or "novelty"
    gold_field: str
    scale: tuple[float, float] | None = None
    counts: Counts
    metrics: dict[str, MetricValue]
    ceiling: CeilingResult | None = None
    baselines: dict[str, BaselineResult] = {}
    calibration: CalibrationReport | None = None
    # pairwise accuracy, Krippendorff's alpha and run-to-run spread, each beside one
    # reviewer's figure against the others (annotator.evaluation.agreement)
    agreement: Agreement | None = None


class GroupResult(BaseModel):
    """Breakdown row: the papers of one venue and year."""

    venue: str | None
    year: int | None
    n: int
    counts: dict[str, Counts]
    metrics: dict[str, dict[str, MetricValue]]  # label -> kind -> value

    @property
    def name(self) -> str:
        return " ".join(str(p) for p in (self.venue, self.year) if p is not None) or "(unknown)"


class ThresholdCheck(BaseModel):
    name: str  # e.g. "spearman_ai" or "max_missing_rate"
    limit: float
    direction: Literal["min", "max"]  # value must be >= (min) or <= (max) the limit
    value: float | None
    passed: bool
    source: Literal["suite", "override"]
    message: str


class PaperResult(BaseModel):
    id: str
    venue: str | None = None
    year: int | None = None
    accepted: bool | None = None
    status: Status
    reason: str | None = None
    pred: dict[str, float | None]  # ai_score, novelty (0-100)
    gold: dict[str, float | None]  # label -> gold value on its own scale
    baseline: dict[str, float | None] = {}  # label -> TF-IDF out-of-fold prediction


class EvalResult(BaseModel):
    schema_version: int = SCHEMA_VERSION
    suite: str | None = None
    provenance: Provenance
    counts: Counts  # papers whose prediction is missing or invalid for any required output
    n_unknown_predictions: int = 0  # predictions for ids not in the evaluated items
    labels: dict[str, LabelResult]
    breakdown: list[GroupResult] = []
    thresholds: list[ThresholdCheck] = []
    papers: list[PaperResult] = []
    settings: dict[str, Any] = {}
    notes: list[str] = []
    fitted_head: dict[str, Any] = {}  # the head's figures, held out (annotator.heads.evaluate)
    # pairwise only: the anchor papers (suite, k, seed, ids) and how many of the suite's
    # papers were left out because they are anchors; an anchor is never scored
    anchors: dict[str, Any] = {}

    def metric(self, name: str) -> MetricValue | None:
        """Look up ``<kind>_<label>``, e.g. ``spearman_ai``; None if there is no such metric."""
        kind, _, label = name.partition("_")
        res = self.labels.get(label)
        return res.metrics.get(kind) if res else None

    def metric_names(self) -> list[str]:
        return [f"{kind}_{label}" for label, res in self.labels.items() for kind in res.metrics]

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.thresholds)

    @property
    def failures(self) -> list[ThresholdCheck]:
        return [t for t in self.thresholds if not t.passed]


def load_result(path: str) -> EvalResult:
    """An eval result read back from its ``result.json``."""
    try:
        return EvalResult.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise InputError(f"not an eval result JSON: {exc}", path=path) from None
