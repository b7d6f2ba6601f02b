"""Isotonic calibration: the JSON map reproduces sklearn, and helps a miscalibrated judge."""

import json

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from annotator.evaluation import CalibrationMap, apply, calibrate_split, fit_isotonic


@pytest.fixture
def skewed():
    rng = np.random.default_rng(0)
    gold = rng.uniform(1, 10, 300)
    raw = 100 * ((gold - 1) / 9) ** 3 + rng.normal(0, 3, 300)  # monotone but far from linear
    return np.clip(raw, 0, 100), gold


def test_apply_matches_sklearn_predict(skewed):
    raw, gold = skewed
    cmap = fit_isotonic(raw, gold, label="ai", scale=(1, 10))
    iso = IsotonicRegression(out_of_bounds="clip", y_min=1, y_max=10).fit(raw, gold)
    probe = np.array([-5.0, 0.0, 3.3, 17.0, 50.0, 99.0, 100.0, 120.0])
    assert np.allclose(apply(cmap, probe), iso.predict(probe))
    assert isinstance(apply(cmap, 42.0), float)
    assert all(1 <= v <= 10 for v in cmap.y) and cmap.x == sorted(cmap.x)


def test_map_is_plain_json(skewed, tmp_path):
    cmap = fit_isotonic(*skewed, scale=(1, 10))
    data = json.loads(cmap.to_json())
    assert set(data) >= {"x", "y"} and len(data["x"]) == len(data["y"])
    assert apply(data, 60.0) == apply(cmap, 60.0)  # a plain dict works too
    cmap.save(tmp_path / "map.json")
    assert CalibrationMap.load(tmp_path / "map.json") == cmap


def test_split_reports_before_and_after(skewed):
    raw, gold = skewed
    rep = calibrate_split(raw, gold, scale=(1, 10), seed=1)
    assert rep.n_train == rep.n_test == 150
    assert rep.after["mae"] < rep.linear["mae"] < rep.before["mae"]
    assert rep.after["rmse"] < rep.before["rmse"]
    assert calibrate_split(raw, gold, scale=(1, 10), seed=1) == rep
    assert calibrate_split(raw[:9], gold[:9]) is None
