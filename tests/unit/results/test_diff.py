"""``diff``: direction, significance on samples and on summaries, regressions, thresholds, the table."""

from __future__ import annotations

import numpy as np
import pytest

from infermeter.errors import InfermeterError
from infermeter.results.diff import (
    IMPROVED,
    MISSING_A,
    MISSING_B,
    REGRESSED,
    SAME,
    UNTESTED,
    diff_runs,
    direction,
    format_table,
    parse_threshold,
    regressions,
)


def _meas(samples: list[float] | np.ndarray, unit: str = "tok/s") -> dict:
    """A measurement as ResultStore.measurements returns it, from raw samples."""
    x = np.asarray(samples, float)
    sd = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    return {"value": float(x.mean()), "unit": unit, "n": len(x), "mean": float(x.mean()), "stdev": sd,
            "samples": [float(v) for v in x]}  # fmt: skip


def _summary_only(m: dict) -> dict:
    return {**m, "samples": []}


def _noisy(rng: np.random.Generator, mean: float, rel_noise: float, n: int = 20) -> np.ndarray:
    return mean * rng.normal(1.0, rel_noise, n)


def test_directions() -> None:
    assert direction("decode_tps") == direction("batch.throughput@4") == direction("accuracy") == "higher"
    assert direction("variant.compiled.decode_tps") == direction("ratio.e2e_s.compiled_vs_eager") == "higher"
    assert direction("ttft_s") == direction("context.ttft_s@512") == direction("memory.peak.rss") == "lower"
    assert direction("soak.none.slope.rss") == direction("variant.a.memory.peak.torch_allocated") == "lower"
    assert direction("memory.weights_bytes") == direction("something_new") == "neutral"


def test_identical_samples_are_no_change() -> None:
    m = _meas([100.0, 101.0, 99.0, 100.5, 99.5])
    (row,) = diff_runs({"decode_tps": m}, {"decode_tps": m})
    assert row.verdict == SAME and row.change == 0 and row.p == pytest.approx(1.0)
    assert regressions([row], 0.0) == []


def test_constant_identical_samples_are_no_change() -> None:
    m = _meas([5.0, 5.0, 5.0])
    (row,) = diff_runs({"tpot_s": m}, {"tpot_s": m})
    assert (row.verdict, row.p) == (SAME, 1.0)


def test_a_clear_20_percent_decode_drop_is_a_regression() -> None:
    rng = np.random.default_rng(7)
    a, b = _meas(_noisy(rng, 100, 0.01)), _meas(_noisy(rng, 80, 0.01))
    rows = diff_runs({"decode_tps": a}, {"decode_tps": b})
    (row,) = rows
    assert row.test == "samples" and row.p < 1e-6
    assert row.change == pytest.approx(-0.2, abs=0.01)
    assert row.verdict == REGRESSED
    assert regressions(rows, 0.05) == rows
    assert regressions(rows, 0.25) == []  # worse, but not by more than 25%
    # the same conclusion from the summaries alone (no samples kept)
    (row2,) = diff_runs({"decode_tps": _summary_only(a)}, {"decode_tps": _summary_only(b)})
    assert row2.test == "summary" and row2.verdict == REGRESSED and row2.p < 1e-6


def test_a_20_percent_decode_rise_is_an_improvement_not_a_regression() -> None:
    rng = np.random.default_rng(8)
    rows = diff_runs({"decode_tps": _meas(_noisy(rng, 100, 0.01))}, {"decode_tps": _meas(_noisy(rng, 120, 0.01))})
    assert rows[0].verdict == IMPROVED
    assert regressions(rows, 0.05) == []


def test_a_2_percent_noisy_change_is_not_significant() -> None:
    rng = np.random.default_rng(11)
    a = _meas(_noisy(rng, 100, 0.10, n=6))
    b = _meas(np.asarray(a["samples"]) * 0.98 + rng.normal(0, 1, 6))
    rows = diff_runs({"decode_tps": a}, {"decode_tps": b})
    assert rows[0].p > 0.05 and rows[0].verdict == SAME
    assert regressions(rows, 0.0) == []


def test_lower_is_better_ttft_up_is_a_regression() -> None:
    rng = np.random.default_rng(3)
    a, b = _meas(_noisy(rng, 0.050, 0.02), "s"), _meas(_noisy(rng, 0.060, 0.02), "s")
    rows = diff_runs({"context.ttft_s@512": a}, {"context.ttft_s@512": b})
    assert rows[0].verdict == REGRESSED and rows[0].worse_by == pytest.approx(0.2, abs=0.03)
    assert regressions(rows, 0.05) == rows
    down = diff_runs({"ttft_s": b}, {"ttft_s": a})
    assert down[0].verdict == IMPROVED and regressions(down, 0.05) == []


def test_single_values_are_untested_unless_asked() -> None:
    rows = diff_runs({"memory.peak.rss": _meas([100.0], "bytes")}, {"memory.peak.rss": _meas([130.0], "bytes")})
    assert rows[0].verdict == UNTESTED and rows[0].p is None
    assert regressions(rows, 0.05) == []
    assert regressions(rows, 0.05, untested=True) == rows
    assert regressions(rows, 0.50, untested=True) == []


def test_metrics_on_one_side_only() -> None:
    m = _meas([1.0, 2.0])
    rows = diff_runs({"a_s": m, "both_s": m}, {"both_s": m, "b_s": m})
    assert [(r.name, r.verdict) for r in rows] == [("both_s", SAME), ("a_s", MISSING_B), ("b_s", MISSING_A)]
    assert regressions(rows, 0.0, untested=True) == []


@pytest.mark.parametrize(("text", "value"), [("5%", 0.05), (" 12.5 % ", 0.125), ("0.05", 0.05), ("0", 0.0), (0.1, 0.1)])
def test_parse_threshold(text: str, value: float) -> None:
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "five", "%", "-5%", "5", "1.5", "nan", "5%%"])
def test_bad_thresholds_are_clear_errors(text: str) -> None:
    with pytest.raises(InfermeterError, match="threshold"):
        parse_threshold(text)


def test_format_table() -> None:
    rng = np.random.default_rng(1)
    rows = diff_runs(
        {"decode_tps": _meas(_noisy(rng, 100, 0.01)), "ttft_s": _meas([0.05, 0.051], "s")},
        {"decode_tps": _meas(_noisy(rng, 80, 0.01)), "ttft_s": _meas([0.05, 0.051], "s")},
    )
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["metric", "A", "B", "change", "p_holm", "verdict"]
    assert "decode_tps" in lines[2] and "regressed" in lines[2] and "%" in lines[2] and "<0.001" in lines[2]
    assert "ms" in lines[3] and "no significant change" in lines[3]
    assert lines[0].index("verdict") == lines[2].index("regressed") == lines[3].index("no significant")  # aligned
