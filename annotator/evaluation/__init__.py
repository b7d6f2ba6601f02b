"""Evaluation of the LLM judge against human labels.

Typical use (the CLI's ``annotator eval run`` does this after judging the papers)::

    from annotator.evaluation import load_suite, load_items, evaluate, write_reports

    suite = load_suite("evals/iclr2022.toml")
    items = load_items(suite)                       # the suite's seeded sample
    preds = {it.id: {"ai_score": 62, "novelty": 40} for it in items}
    result = evaluate(items, preds, suite=suite, provenance={"model": "gpt-4o-mini"})
    write_reports(result, "out/")                   # report.md, result.json, junit.xml, PNGs

Modules: ``suite_types`` (the Suite and EvalItem types), ``suites`` (reading suite files),
``items`` (reading, sampling and hashing data rows), ``labels`` (which score meets which
label), ``stats``/``metrics`` (agreement with bootstrap intervals), ``ceiling`` (human
ceiling), ``baselines`` (constant and TF-IDF), ``calibration`` (isotonic map),
``thresholds``, ``results`` (the EvalResult and Provenance models), ``pipeline``
(``evaluate``), ``reports``/``figures`` (writers), ``paired`` (paired comparison of two
runs), ``reference`` (human ceiling and baselines of a suite's data), ``versions`` (two
prompt versions compared over the papers both judged), ``method_table`` (eval results side
by side). Judging a suite's papers through the queue is ``annotator.evalrun``.

This file only re-exports; no module of the package imports it.
"""

from __future__ import annotations

from .baselines import BaselineResult, tfidf_ridge_oof
from .calibration import CalibrationMap, CalibrationReport, apply, calibrate_split, fit_isotonic
from .ceiling import CeilingResult, human_ceiling
from .items import data_hash, load_items, sample_items
from .metrics import Counts, MetricValue, compute_metrics
from .paired import RunComparison, compare, compare_predictions
from .pipeline import evaluate
from .reports import to_json, to_junit_xml, to_markdown, write_reports
from .results import EvalResult, LabelResult, Provenance, ThresholdCheck
from .suite_types import EvalItem, Suite
from .suites import evaldata_dir, load_suite
from .thresholds import apply_thresholds, check_thresholds, parse_fail_under, raise_for_thresholds

__all__ = [
    "BaselineResult",
    "CalibrationMap",
    "CalibrationReport",
    "CeilingResult",
    "Counts",
    "EvalItem",
    "EvalResult",
    "LabelResult",
    "MetricValue",
    "Provenance",
    "RunComparison",
    "Suite",
    "ThresholdCheck",
    "apply",
    "apply_thresholds",
    "calibrate_split",
    "check_thresholds",
    "compare",
    "compare_predictions",
    "compute_metrics",
    "data_hash",
    "evaldata_dir",
    "evaluate",
    "fit_isotonic",
    "human_ceiling",
    "load_items",
    "load_suite",
    "parse_fail_under",
    "raise_for_thresholds",
    "sample_items",
    "tfidf_ridge_oof",
    "to_json",
    "to_junit_xml",
    "to_markdown",
    "write_reports",
]
