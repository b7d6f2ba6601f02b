"""evaluate() end to end on the synthetic suite, thresholds, and the report writers."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats as sps

from annotator.errors import ConfigError, InputError, ThresholdBreached
from annotator.evaluation import (
    EvalResult,
    apply_thresholds,
    check_thresholds,
    evaluate,
    load_items,
    load_suite,
    parse_fail_under,
    raise_for_thresholds,
    to_json,
    to_junit_xml,
    to_markdown,
    write_reports,
)

REPO = Path(__file__).resolve().parents[1]
PROV = {
    "model": "test-model",
    "model_params": {"temperature": 0},
    "prompt_name": "score",
    "prompt_version": "3",
    "prompt_hash": "f00dfeed" * 8,
    "code_commit": "a" * 40,
    "code_dirty": True,
    "date": "2024-06-01T12:00:00+00:00",
}


def make_predictions(items, seed=0, noise=15.0):
    rng = np.random.default_rng(seed)
    preds = {}
    for it in items:
        ai = (it.gold_ai - 1) / 9 * 100 + rng.normal(0, noise)
        novelty = (it.gold_novelty - 1) / 3 * 100 + rng.normal(0, noise)
        preds[it.id] = {"ai_score": float(np.clip(ai, 0, 100)), "novelty": float(np.clip(novelty, 0, 100))}
    return preds


@pytest.fixture(scope="module")
def suite():
    return load_suite(REPO / "tests" / "fixtures" / "eval" / "synthetic.toml")


@pytest.fixture(scope="module")
def items(suite):
    return load_items(suite)


@pytest.fixture(scope="module")
def preds(items):
    preds = make_predictions(items)
    preds[items[0].id] = None  # no prediction at all
    del preds[items[1].id]  # not even a key
    preds[items[2].id] = {"ai_score": "high", "novelty": 30, "reason": "unparseable reply"}
    preds[items[3].id] = {"ai_score": 140.0, "novelty": 20.0}
    preds["not-in-suite"] = {"ai_score": 1, "novelty": 1}
    return preds


@pytest.fixture(scope="module")
def result(suite, items, preds):
    return evaluate(items, preds, suite=suite, provenance=PROV, n_boot=200, seed=0)


def test_missing_predictions_are_counted_not_dropped(result, items):
    assert (result.counts.n_total, result.counts.n_missing) == (30, 4)
    assert result.counts.missing_rate == pytest.approx(4 / 30)
    assert result.labels["ai"].counts.n_scored == 26
    assert result.labels["novelty"].counts.n_scored == 28  # two papers had a valid novelty
    status = {p.id: (p.status, p.reason) for p in result.papers}
    assert status[items[0].id] == ("missing", "no prediction")
    assert status[items[2].id][0] == "partial" and "unparseable reply" in status[items[2].id][1]
    assert "outside 0-100" in status[items[3].id][1]
    assert result.n_unknown_predictions == 1 and len(result.papers) == 30


def test_metrics_are_on_the_scored_papers(result, items, preds):
    scored = [it for it in items if result.papers[items.index(it)].status == "scored"]
    rho = sps.spearmanr([preds[it.id]["ai_score"] for it in scored], [it.gold_ai for it in scored])
    ai = result.labels["ai"]
    assert ai.metrics["spearman"].value == pytest.approx(rho.statistic)
    assert ai.metrics["spearman"].n == 26
    assert ai.baselines["tfidf_ridge"].metrics["spearman"].n == 26  # same papers
    assert ai.baselines["constant_mean"].metrics["spearman"].value is None
    assert ai.ceiling.n_papers == 26 and ai.ceiling.spearman.value is not None
    assert result.settings["tfidf_pool_size"] == 40  # trained over the whole data file
    assert ai.calibration.n_train + ai.calibration.n_test == 26


def test_citations_label_treats_zero_as_missing(result, items):
    cites = [it.citations for it in items]
    assert result.labels["citations"].counts.n_total == sum(1 for c in cites if c)
    assert set(result.labels["citations"].metrics) == {"spearman", "kendall", "pearson"}


def test_breakdown_by_venue_and_year(result):
    groups = {(g.venue, g.year): g for g in result.breakdown}
    assert set(groups) == {("SYNTH", 2021), ("SYNTH", 2022)}
    assert sum(g.n for g in groups.values()) == 30
    assert "spearman" in groups[("SYNTH", 2021)].metrics["ai"]


def test_provenance_filled(result, suite):
    p = result.provenance
    assert p.model == "test-model" and p.code_commit == "a" * 40 and p.code_dirty is True
    assert p.data_hash and len(p.data_hash) == 64 and p.sample_hash
    assert (p.suite, p.sample_size, p.sample_seed, p.n_boot) == ("synthetic", 30, 1, 200)


def test_suite_thresholds_checked(result):
    checks = {t.name: t for t in result.thresholds}
    assert set(checks) == {"spearman_ai", "mae_ai", "max_missing_rate"}
    assert checks["spearman_ai"].passed and checks["mae_ai"].direction == "max"
    assert result.passed


def test_overrides_and_missing_rate_failure(result):
    overrides = parse_fail_under(["spearman_ai=0.99", "max_missing_rate=0.05"])
    checks = check_thresholds(result, overrides)
    by = {t.name: t for t in checks}
    assert not by["spearman_ai"].passed and by["spearman_ai"].source == "override"
    assert not by["max_missing_rate"].passed and "4 of 30" in by["max_missing_rate"].message
    assert by["mae_ai"].passed and by["mae_ai"].source == "suite"
    failed = apply_thresholds(result, {"spearman_ai": 0.99})
    with pytest.raises(ThresholdBreached, match="spearman_ai"):
        raise_for_thresholds(failed)
    raise_for_thresholds(result)  # all passed: no error
    with pytest.raises(ConfigError, match="unknown threshold"):
        check_thresholds(result, {"spearman_foo": 0.1})


def test_undefined_metric_fails_its_threshold(suite, items):
    flat = {it.id: {"ai_score": 50, "novelty": 50} for it in items}
    res = evaluate(items, flat, suite=suite, provenance=PROV, n_boot=20, baselines=False)
    check = next(t for t in res.thresholds if t.name == "spearman_ai")
    assert not check.passed and "constant predictions" in check.message


def test_parse_fail_under():
    assert parse_fail_under("spearman_ai=0.3") == {"spearman_ai": 0.3}
    assert parse_fail_under(["a_ai=1, b_ai=-0.5", "c=2"]) == {"a_ai": 1.0, "b_ai": -0.5, "c": 2.0}
    assert parse_fail_under(None) == {}
    for bad in ("spearman_ai", "spearman_ai=x", "=3", "x=nan"):
        with pytest.raises(InputError) as err:
            parse_fail_under(bad)
        assert err.value.field == "--fail-under"


def test_markdown_has_provenance_and_tables(result):
    md = to_markdown(apply_thresholds(result, {"spearman_ai": 0.99}))
    for text in (
        "`test-model` (temperature=0)",
        "`score` v3",
        "f00dfeedf00dfeed",
        "aaaaaaaaaaaa",
        "(dirty)",
        "2024-06-01",
        result.provenance.data_hash[:16],
        "200 resamples",
        "| metric | ours [95% CI] | human ceiling | TF-IDF baseline | constant | threshold | status |",
        "| spearman_ai |",
        "❌ fail",
        "### By venue and year",
        "SYNTH 2021",
        "| missing_rate | 13.3% (4 of 30) |",
    ):
        assert text in md, text
    assert "✅ all 3 thresholds passed" in to_markdown(result)


def test_junit_xml_parses_and_has_failure(result):
    failed = apply_thresholds(result, {"spearman_ai": 0.99})
    root = ET.fromstring(to_junit_xml(failed))
    assert root.tag == "testsuites" and root.get("failures") == "1"
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3 == int(suite.get("tests"))
    bad = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in bad] == ["spearman_ai >= 0.99"]
    assert "spearman_ai" in bad[0].find("failure").get("message")
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["model"] == "test-model"
    ok = ET.fromstring(to_junit_xml(result))
    assert ok.get("failures") == "0"
    assert all(c.find("failure") is None for c in ok.iter("testcase"))


def test_json_round_trip(result):
    data = json.loads(to_json(result))
    assert data["provenance"]["model"] == "test-model" and len(data["papers"]) == 30
    assert EvalResult.model_validate_json(to_json(result)) == result


def test_write_reports(result, tmp_path):
    files = write_reports(result, tmp_path / "out")
    for path in (files.markdown, files.json, files.junit):
        assert path.is_file() and path.parent == tmp_path / "out", path
    for key in ("ai_scatter", "ai_calibration", "ai_hist", "novelty_scatter", "citations_hist"):
        assert files.plots[key].is_file(), key
    assert files.plots["ai_scatter"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predictions_as_objects_and_no_suite(items):
    preds = {
        it.id: SimpleNamespace(ai_score=v["ai_score"], novelty=v["novelty"])
        for it, v in zip(items, make_predictions(items).values())
    }
    res = evaluate(items, preds, n_boot=20, seed=0)
    assert res.counts.n_missing == 0 and res.suite is None
    assert set(res.labels) == {"ai", "novelty", "citations"}
    assert res.settings["tfidf_pool_size"] == 30  # no suite: the items themselves


def test_empty_and_duplicate_items_rejected(items):
    with pytest.raises(InputError):
        evaluate([], {})
    with pytest.raises(InputError, match="duplicate"):
        evaluate([items[0], items[0]], {})


@pytest.mark.parametrize("binning", ["quantile", "fixed"])
def test_constant_gold_labels_give_an_undefined_qwk_not_a_crash(binning, tmp_path):
    from annotator.evaluation import EvalItem

    # every paper has the same mean rating; no suite, so the label scale comes from the data
    items = [
        EvalItem(
            id=f"c{i}",
            title=f"Paper {i}",
            abstract=f"Abstract number {i} about topic {i % 4}.",
            gold_ai=6.0,
            gold_novelty=float(1 + i % 4),
            accepted=i % 2 == 0,
            ai_reviewers=(6, 6),
            novelty_reviewers=(1 + i % 4, 2),
        )
        for i in range(24)
    ]
    preds = {it.id: {"ai_score": float(4 * i), "novelty": float(100 - 4 * i)} for i, it in enumerate(items)}
    res = evaluate(items, preds, provenance=PROV, n_boot=50, seed=0, binning=binning)
    qwk = res.labels["ai"].metrics["qwk"]
    assert qwk.value is None and qwk.note == "undefined: constant gold labels"
    assert res.labels["ai"].metrics["spearman"].value is None
    assert res.labels["novelty"].metrics["qwk"].value is not None  # the other label is unaffected
    assert res.labels["ai"].baselines["constant_mean"].metrics["qwk"].value is None
    write_reports(res, tmp_path, plots=False)
    assert "| qwk_ai | undefined |" in (tmp_path / "report.md").read_text()
    assert json.loads((tmp_path / "result.json").read_text())["labels"]["ai"]["metrics"]["qwk"]["value"] is None
