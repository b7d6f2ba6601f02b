"""Every metric against scipy / sklearn computed independently on the same data."""

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from annotator.evaluation import compute_metrics, metrics, stats


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    gold = np.round(rng.normal(5.5, 1.3, 80) * 3) / 3  # ties, like mean ratings
    pred = np.clip(np.round((gold - 1) / 9 * 100 + rng.normal(0, 18, 80)), 0, 100)  # ties too
    accepted = gold + rng.normal(0, 0.8, 80) > 5.5
    return pred, gold, accepted


def test_correlations_match_scipy(data):
    pred, gold, _ = data
    assert stats.spearman(pred, gold) == pytest.approx(sps.spearmanr(pred, gold).statistic, abs=1e-12)
    assert metrics.kendall(pred, gold) == pytest.approx(sps.kendalltau(pred, gold).statistic, abs=1e-12)
    assert metrics.pearson(pred, gold) == pytest.approx(sps.pearsonr(pred, gold).statistic, abs=1e-12)


def test_spearman_is_undefined_below_three_pairs_or_with_a_constant_side():
    assert stats.spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert stats.spearman([1, 2], [1, 2]) is None  # two points always agree perfectly
    assert stats.spearman([1, 2, 3, 4], [5, 5, 5, 5]) is None
    assert stats.spearman([7, 7, 7], [1, 2, 3]) is None
    assert stats.spearman([], []) is None


def test_kendall_vectorised_and_loop_paths_agree():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, size=(5, 300)).astype(float)  # > 200: scipy loop
    y = x + rng.integers(0, 5, size=(5, 300))
    loop = stats.kendall_rows(x, y)
    small = stats.kendall_rows(x[:, :150], y[:, :150])  # vectorised
    for i in range(5):
        assert loop[i] == pytest.approx(sps.kendalltau(x[i], y[i]).statistic, abs=1e-12)
        assert small[i] == pytest.approx(sps.kendalltau(x[i, :150], y[i, :150]).statistic, abs=1e-12)


def test_fit_errors_match_polyfit(data):
    pred, gold, _ = data
    slope, intercept = np.polyfit(pred, gold, 1)
    resid = gold - (intercept + slope * pred)
    mae, rmse = metrics.fit_errors(pred, gold)
    assert mae == pytest.approx(np.mean(np.abs(resid)))
    assert rmse == pytest.approx(np.sqrt(np.mean(resid**2)))
    assert metrics.linear_fit(pred, gold) == pytest.approx((slope, intercept))


def test_auroc_matches_sklearn(data):
    pred, _, accepted = data
    assert metrics.auroc(pred, accepted) == pytest.approx(roc_auc_score(accepted, pred), abs=1e-12)


@pytest.mark.parametrize("binning", ["quantile", "fixed"])
def test_qwk_matches_sklearn(data, binning):
    pred, gold, _ = data
    a, b = metrics.bin_pair(pred, gold, k=5, binning=binning, gold_scale=(1, 10))
    expected = cohen_kappa_score(a, b, weights="quadratic", labels=list(range(5)))
    assert metrics.qwk(a, b, 5) == pytest.approx(expected, abs=1e-12)
    got = compute_metrics(pred, gold, kinds=["qwk"], binning=binning, gold_scale=(1, 10), n_boot=0)
    assert got["qwk"].value == pytest.approx(expected, abs=1e-12)


def test_bins():
    x = np.array([0, 10, 10, 10, 20, 30, 40, 50, 60, 100.0])
    q = metrics.quantile_bins(x, 5)
    assert q.min() == 0 and q.max() == 4
    assert len(set(q[1:4])) == 1  # ties share a bin
    assert list(metrics.fixed_bins([0, 19.9, 20, 99, 100, 150], 0, 100, 5)) == [0, 0, 1, 4, 4, 4]


def test_compute_metrics_points_and_intervals(data):
    pred, gold, accepted = data
    got = compute_metrics(pred, gold, accepted=accepted, n_boot=500, seed=1)
    assert list(got) == list(metrics.KINDS)
    assert got["spearman"].value == pytest.approx(sps.spearmanr(pred, gold).statistic)
    assert got["auroc"].value == pytest.approx(roc_auc_score(accepted, pred))
    for kind, mv in got.items():
        assert mv.n == 80 and mv.n_boot == 500, kind
        assert mv.ci_low <= mv.value <= mv.ci_high, kind
    again = compute_metrics(pred, gold, accepted=accepted, n_boot=500, seed=1)
    assert again == got  # seeded: reproducible
    other = compute_metrics(pred, gold, accepted=accepted, n_boot=500, seed=2)
    assert other["spearman"].ci_low != got["spearman"].ci_low


def test_bootstrap_rows_match_scipy_per_replicate(data):
    pred, gold, accepted = data
    idx = stats.bootstrap_indices(len(pred), 20, 0)
    rows = stats.spearman_rows(pred[idx], gold[idx])
    aucs = stats.auroc_rows(pred[idx], accepted[idx])
    for i in range(20):
        assert rows[i] == pytest.approx(sps.spearmanr(pred[idx[i]], gold[idx[i]]).statistic)
        assert aucs[i] == pytest.approx(roc_auc_score(accepted[idx[i]], pred[idx[i]]))


def test_percentile_ci_matches_numpy():
    vals = np.random.default_rng(0).normal(size=1000)
    lo, hi, n = stats.percentile_ci(vals)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(vals, [2.5, 97.5])))
    assert n == 1000


def test_undefined_metrics_are_reported_not_zero():
    gold = np.array([1.0, 2, 3, 4, 5])
    got = compute_metrics(np.full(5, 50.0), gold, accepted=[True] * 5, n_boot=50)
    for kind in ("spearman", "kendall", "pearson"):
        assert got[kind].value is None and "constant predictions" in got[kind].note
    assert got["mae"].value == pytest.approx(np.mean(np.abs(gold - gold.mean())))
    assert got["auroc"].value is None and "both accepted and rejected" in got["auroc"].note
    few = compute_metrics([1.0, 2.0], [1.0, 2.0], n_boot=10)
    assert few["spearman"].value is None and "too few" in few["spearman"].note
    no_decisions = compute_metrics(np.arange(5.0), gold, accepted=[None] * 5, n_boot=10)
    assert no_decisions["auroc"].value is None


def test_nan_input_is_rejected():
    with pytest.raises(ValueError, match="NaN"):
        compute_metrics([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])


def test_counts():
    c = metrics.Counts.of(100, 93)
    assert (c.n_total, c.n_scored, c.n_missing, c.missing_rate) == (100, 93, 7, 0.07)
    assert metrics.Counts.of(0, 0).missing_rate is None


@pytest.mark.parametrize("binning", ["quantile", "fixed"])
def test_qwk_is_undefined_for_constant_gold_labels(binning):
    pred = np.linspace(0.0, 100.0, 12)
    gold = np.full(12, 6.0)
    # no scale given: "fixed" takes it from the labels, an empty range (this divided by zero)
    got = compute_metrics(pred, gold, binning=binning, n_boot=50)
    assert got["qwk"].value is None and got["qwk"].note == "undefined: constant gold labels"
    assert got["spearman"].value is None and "constant gold labels" in got["spearman"].note
    scaled = compute_metrics(pred, gold, binning=binning, gold_scale=(1, 10), n_boot=50)
    assert scaled["qwk"].value is None and "constant gold labels" in scaled["qwk"].note


def test_qwk_undefined_when_the_gold_labels_share_one_bin():
    # two distinct labels, but 9 of 10 tie at the lowest value: every quantile edge sits on it
    gold = np.array([5.0] * 9 + [6.0])
    got = compute_metrics(np.arange(10.0) * 10, gold, n_boot=50)
    assert got["qwk"].value is None and "single bin" in got["qwk"].note
    assert got["spearman"].value is not None


def test_qwk_bootstrap_skips_replicates_with_constant_gold():
    pred = np.array([10.0, 90.0, 20.0, 80.0])
    gold = np.array([1.0, 9.0, 2.0, 8.0])
    idx = np.array([[0, 0, 0, 0], [0, 1, 2, 3]])  # the first replicate draws one paper 4 times
    point, boot = metrics.metric_rows("qwk", pred, gold, idx, bins=2)
    assert np.isfinite(point) and np.isnan(boot[0]) and np.isfinite(boot[1])


def test_fixed_bins_on_an_empty_range_is_one_bin():
    assert list(metrics.fixed_bins([3.0, 3.0, 3.0], 3.0, 3.0, 5)) == [0, 0, 0]


def test_constant_predictions_still_score_chance_qwk():
    got = compute_metrics(np.full(8, 50.0), np.arange(8.0), n_boot=20)
    assert got["qwk"].value == 0.0
