"""The unit of analysis: CIs over independent units, percentiles over values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infermeter.stats import ci_mean, cluster_ci, summarize


def test_a_batch_of_eight_siblings_is_one_unit_and_has_no_ci():
    s = summarize([1.37, 1.372, 1.371, 1.369, 1.37, 1.371, 1.372, 1.37], units=[0] * 8)
    assert s.n == 8 and s.units == 1
    assert not s.has_ci
    d = s.to_dict()
    assert d["units"] == 1 and d["ci95_low"] is None and d["ci95_high"] is None
    assert d["p99"] is not None  # percentiles still describe the requests


def test_equal_units_give_the_t_interval_of_unit_means():
    rng = np.random.default_rng(1)
    vals = rng.normal(10, 1, size=(5, 4))  # 5 batches of 4
    units = [b for b in range(5) for _ in range(4)]
    lo, hi, g = cluster_ci(vals.ravel(), units)
    assert g == 5
    assert (lo, hi) == pytest.approx(ci_mean(vals.mean(axis=1)))


def test_without_units_each_value_is_a_unit():
    assert cluster_ci([1.0, 2.0, 3.0])[:2] == pytest.approx(ci_mean([1.0, 2.0, 3.0]))
    assert summarize([1.0, 2.0, 3.0]).units == 3


def test_correlated_values_get_a_wider_interval_than_pooled():
    # two batches whose requests share the batch's value: 2 units, not 16
    vals = [1.0] * 8 + [2.0] * 8
    units = [0] * 8 + [1] * 8
    lo_u, hi_u, g = cluster_ci(vals, units)
    lo_p, hi_p = ci_mean(vals)
    assert g == 2
    assert hi_u - lo_u > 3 * (hi_p - lo_p)


def test_unequal_units_mean_is_over_values():
    s = summarize([1.0, 1.0, 1.0, 4.0], units=["a", "a", "a", "b"])
    assert s.mean == pytest.approx(1.75)
    assert s.units == 2 and s.has_ci
    assert s.ci95_low < 1.75 < s.ci95_high


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        cluster_ci([1.0, 2.0], [0])


def test_rel_ci_halfwidth_is_inf_without_units():
    s = summarize([1.0, 1.1, 0.9], units=[7, 7, 7])
    assert s.rel_ci_halfwidth == math.inf
