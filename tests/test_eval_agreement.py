"""Agreement figures (pairwise accuracy, Krippendorff's alpha, run to run) and their human side."""

from __future__ import annotations

import itertools
import json

import krippendorff
import numpy as np
import pytest

from annotator.evaluation.agreement import (
    alpha_pairs,
    alpha_rows,
    draw_counts,
    pair_matrices,
    pairwise_accuracy,
    pairwise_rows,
    unit_sums,
)
from annotator.evaluation.agreement_figures import judge_agreement
from annotator.evaluation.human_agreement import human_alpha, human_pairwise, human_run_to_run
from annotator.evaluation.stats import bootstrap_indices


def _loop_accuracy(pred, gold, margin):
    good = total = 0.0
    for i, j in itertools.combinations(range(len(pred)), 2):
        if abs(gold[i] - gold[j]) >= margin and gold[i] != gold[j]:
            total += 1
            if pred[i] == pred[j]:
                good += 0.5
            elif (pred[i] > pred[j]) == (gold[i] > gold[j]):
                good += 1
    return good / total


def test_pairwise_accuracy_is_the_share_of_pairs_ordered_as_the_gold():
    rng = np.random.default_rng(3)
    gold = np.round(rng.uniform(1, 10, 40) * 2) / 2
    pred = np.round(gold * 8 + rng.normal(0, 15, 40))  # integer scores: some ties
    for margin in (0.5, 1.0, 3.0):
        assert pairwise_accuracy(pred, gold, margin) == pytest.approx(_loop_accuracy(pred, gold, margin))
    assert pairwise_accuracy(gold, gold, 1.0) == 1.0
    assert pairwise_accuracy(-gold, gold, 1.0) == 0.0
    assert pairwise_accuracy(np.zeros(40), gold, 1.0) == 0.5


def test_bootstrap_replicates_from_draw_counts_match_the_resampled_papers():
    rng = np.random.default_rng(4)
    gold, pred = rng.uniform(1, 10, 30), rng.uniform(0, 100, 30)
    idx = bootstrap_indices(30, 5, 7)
    w, k = pair_matrices(pred, gold, 0.9)
    rows = pairwise_rows(w, k, draw_counts(idx, 30))
    # a resample holds copies of a paper: a copy paired with itself differs by 0 (not counted)
    direct = [_loop_accuracy(pred[i], gold[i], 0.9) for i in idx]
    assert rows == pytest.approx(direct)


def test_alpha_closed_form_equals_the_krippendorff_package():
    rng = np.random.default_rng(5)
    for n in (5, 40, 200):
        a = rng.integers(1, 11, n).astype(float)
        b = np.clip(a + rng.normal(0, 2, n), 1, 10).round(1)
        expected = krippendorff.alpha(reliability_data=np.vstack([a, b]), level_of_measurement="interval")
        assert alpha_pairs(a, b) == pytest.approx(expected)
        idx = bootstrap_indices(n, 3, 1)[0]
        resampled = krippendorff.alpha(reliability_data=np.vstack([a[idx], b[idx]]), level_of_measurement="interval")
        rows = alpha_rows(unit_sums(a, b, np.arange(n), n), draw_counts(idx[None, :], n))
        assert rows[0] == pytest.approx(resampled)


def test_human_figures_of_reviewers_who_agree_and_who_do_not():
    same = [[v, v] for v in np.linspace(1, 10, 20)]
    assert human_pairwise(same, 0.9, n_boot=50)[0].value == 1.0
    assert human_alpha(same, n_boot=50)[0].value == pytest.approx(1.0)
    assert human_run_to_run(same, (1, 10), n_boot=50)[0].value == 0.0
    # two reviewers per paper, 3 points apart on 1-10: |a - b| = 3 -> 33.3 on 0-100
    apart = [[2.0 + i % 5, 5.0 + i % 5] for i in range(20)]
    assert human_run_to_run(apart, (1, 10), n_boot=50)[0].value == pytest.approx(100 / 3)
    # one reviewer's score says nothing about the other's: alpha near or below zero
    rng = np.random.default_rng(0)
    noise = [list(rng.integers(1, 11, 3).astype(float)) for _ in range(300)]
    assert human_alpha(noise, n_boot=0)[0].value < 0.1
    assert 0.4 < human_pairwise(noise, 0.9, n_boot=0)[0].value < 0.6


def test_judge_figures_beside_the_human_ones():
    rng = np.random.default_rng(2)
    quality = rng.normal(size=200)
    reviewers = [list(np.clip(np.round(5.5 + 1.5 * (q + rng.normal(size=3))), 1, 10)) for q in quality]
    gold = np.array([np.mean(r) for r in reviewers])
    good = np.clip(50 + 15 * quality, 0, 100)
    noisy = np.clip(good + rng.normal(0, 30, 200), 0, 100)
    a_good = judge_agreement(good, gold, reviewers, scale=(1, 10), n_boot=100)
    a_noisy = judge_agreement(
        noisy, gold, reviewers, scale=(1, 10), n_boot=100, samples=[[v, v + 10.0, v - 10.0] for v in noisy]
    )
    assert a_good.margin == pytest.approx(0.9)
    assert a_good.pairwise_accuracy.judge.value > a_noisy.pairwise_accuracy.judge.value
    assert a_good.alpha.judge.value > a_noisy.alpha.judge.value
    # the judge without noise knows the quality itself: better than one reviewer
    assert a_good.pairwise_accuracy.judge.value > a_good.pairwise_accuracy.human.value
    f = a_good.pairwise_accuracy.judge
    assert f.ci_low <= f.value <= f.ci_high
    assert a_good.run_to_run is None
    # three samples 10 apart: pairs differ by 10, 10 and 20 -> 13.3
    assert a_noisy.run_to_run.judge.value == pytest.approx(40 / 3)
    assert a_noisy.run_to_run.human.value > 0
    json.loads(a_noisy.model_dump_json())
