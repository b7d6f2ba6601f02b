"""Evaluation of the LLM judge against human labels.

Typical use (the CLI's ``annotator eval run`` does this after judging the papers)::

    from annotator.evaluation import load_suite, load_items, evaluate, write_reports

    suite = load_suite("evals/iclr2022.toml")
    items = load_items(suite)                       # the suite's seeded sample
    preds = {it.id: {"ai_score": 62, "novelty": 40} for it in items}
    result = evaluate(items, preds, suite=suite, provenance={"model": "gpt-4o-mini"})
    write_reports(result, "out/")                   # report.md, result.json, junit.xml, PNGs

Modules: ``suites`` (suite files), ``items`` (data rows), ``labels`` (which score meets
which label), ``stats``/``metrics`` (agreement with bootstrap intervals), ``ceiling``
(human ceiling), ``baselines`` (constant and TF-IDF), ``calibration`` (isotonic map),
``thresholds``, ``results`` (the EvalResult model), ``reports``/``plots`` (writers),
``compare`` (paired comparison of two runs), ``provenance``.
"""

from __future__ import annotations

from .baselines import BaselineResult, tfidf_ridge_oof
from .calibration import CalibrationMap, CalibrationReport, apply, calibrate_split, fit_isotonic
from .ceiling import CeilingResult, human_ceiling
from .items import EvalItem, data_hash, load_items, sample_items
from .metrics import Counts, MetricValue, compute_metrics
from .paired import Comparison, compare, compare_predictions
from .pipeline import evaluate
from .provenance import Provenance, code_version
from .reports import to_json, to_junit_xml, to_markdown, write_reports
from .results import EvalResult, LabelResult, ThresholdCheck
from .suites import Suite, evaldata_dir, load_suite
from .thresholds import apply_thresholds, check_thresholds, parse_fail_under, raise_for_thresholds

__all__ = [
    "BaselineResult", "CalibrationMap", "CalibrationReport", "CeilingResult", "Comparison",
    "Counts", "EvalItem", "EvalResult", "LabelResult", "MetricValue", "Provenance", "Suite",
    "ThresholdCheck", "apply", "apply_thresholds", "calibrate_split", "check_thresholds",
    "code_version", "compare", "compare_predictions", "compute_metrics", "data_hash",
    "evaldata_dir", "evaluate", "fit_isotonic", "human_ceiling", "load_items", "load_suite",
    "parse_fail_under", "raise_for_thresholds", "sample_items", "tfidf_ridge_oof",
    "to_json", "to_junit_xml", "to_markdown", "write_reports",
]
