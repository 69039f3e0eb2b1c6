"""pyperf-like checks on summaries, and GPU drift warnings."""

from __future__ import annotations

from infermeter.core.gpu_state import drift_warnings
from infermeter.metrics.checks import issues
from infermeter.stats import summarize


def _d(values, units=None):
    return summarize(values, units).to_dict()


def test_one_unit_fires_units_only_for_a_steady_batch():
    d = _d([1.0, 1.01, 0.99, 1.0], units=[0, 0, 0, 0])
    assert issues(d, seconds=False) == ["units"]


def test_extremes_and_spread():
    d = _d([1.0, 1.0, 1.0, 1.0, 3.0])
    assert {"spread", "extremes"} <= set(issues(d, seconds=False))


def test_sub_millisecond_values_from_a_coarse_clock():
    d = _d([0.0004, 0.0005, 0.0004])
    assert "coarse-clock" in issues(d, seconds=True, resolution=1e-5)
    assert "coarse-clock" not in issues(d, seconds=True, resolution=1e-9)


def test_p99_of_few_latencies():
    assert "p99" in issues(_d([0.1] * 8), seconds=True)
    assert "p99" not in issues(_d([0.1] * 100), seconds=True)


def test_gpu_drift():
    start = {"sm_clock_mhz": 1980, "temperature_c": 40, "other_pids": [123]}
    end = {"sm_clock_mhz": 1500, "temperature_c": 55, "other_pids": []}
    w = drift_warnings(start, end)
    assert len(w) == 3 and "pids [123]" in w[0] and "1980 -> 1500" in w[1] and "40 -> 55" in w[2]
    assert drift_warnings({}, None) == []
    assert (
        drift_warnings({"sm_clock_mhz": 1980, "temperature_c": 40}, {"sm_clock_mhz": 1990, "temperature_c": 45}) == []
    )
