"""The process as the unit of analysis: hand-made run reports of one, two and three processes."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from infermeter.metrics.checks import process_warnings
from infermeter.metrics.compute import compute
from infermeter.metrics.processes import across, across_processes, coverage


def _summary(mean: float, half: float | None) -> dict:
    lo, hi = (None, None) if half is None else (mean - half, mean + half)
    return {"n": 8, "units": 4, "mean": mean, "stdev": 1.0, "ci95_low": lo, "ci95_high": hi}


def _report(decode: float, half: float | None, load_s: float, rss: int) -> dict:
    return {
        "run_dir": f"/tmp/p{decode}",
        "load": {"load_s": load_s},
        "first_call": {"first_call_s": 2 * load_s, "steady_call_s": 0.1, "overhead_s": 2 * load_s - 0.1},
        "metrics": {"decode_tps": _summary(decode, half), "memory": {"peak": {"rss": rss, "torch_allocated": None}}},
    }


def test_one_process_has_a_value_but_no_ci() -> None:
    sec = across_processes([_report(100.0, 1.0, 3.0, 10)])
    d = sec["metrics"]["decode_tps"]
    assert sec["n"] == 1 and sec["unit"] == "process"
    assert d["between"]["n"] == 1 and d["between"]["mean"] == 100.0
    assert d["between"]["ci95_low"] is None and d["between_halfwidth"] is None
    assert d["spread_ratio"] is None  # no spread from one process
    assert sec["metrics"]["load_s"]["between"]["ci95_low"] is None


def test_three_processes_give_a_t_interval_over_the_process_means() -> None:
    reports = [_report(100.0, 1.0, 3.0, 10), _report(104.0, 1.0, 3.3, 12), _report(110.0, 1.0, 2.7, 11)]
    sec = across_processes(reports)
    d = sec["metrics"]["decode_tps"]
    means = [100.0, 104.0, 110.0]
    sd = float(sps.tstd(means))
    half = sps.t.ppf(0.975, 2) * sd / math.sqrt(3)
    assert d["per_process"] == means
    assert d["between"]["n"] == 3
    assert d["between"]["ci95_low"] == pytest.approx(sum(means) / 3 - half)
    assert d["between_halfwidth"] == pytest.approx(half)
    assert d["within_halfwidth"] == pytest.approx(1.0)
    assert d["spread_ratio"] == pytest.approx(sd / 1.0)
    assert (d["covered"], d["checked"]) == (0, 6)  # no process's +-1 CI holds another's mean
    # once-per-process values get a CI only this way
    load = sec["metrics"]["load_s"]
    assert load["between"]["n"] == 3 and load["between"]["ci95_low"] is not None
    assert sec["metrics"]["first_call_s"]["per_process"] == [6.0, 6.6, 5.4]
    assert sec["metrics"]["rss"]["per_process"] == [10, 12, 11]
    assert "torch_allocated" not in sec["metrics"]  # not measured on CPU: no row


def test_the_warning_gives_the_ratio_when_processes_differ_by_more_than_their_cis() -> None:
    sec = across_processes([_report(100.0, 1.0, 3.0, 10), _report(104.0, 1.0, 3.0, 10), _report(110.0, 1.0, 3.0, 10)])
    lines = process_warnings(sec)
    assert len(lines) == 1
    assert "decode speed (5.0x)" in lines[0] and "between-process spread" in lines[0]


def test_no_warning_when_the_within_process_cis_cover_the_spread() -> None:
    sec = across_processes([_report(100.0, 5.0, 3.0, 10), _report(101.0, 5.0, 3.0, 10), _report(102.0, 5.0, 3.0, 10)])
    assert process_warnings(sec) == []
    assert (sec["metrics"]["decode_tps"]["covered"], sec["metrics"]["decode_tps"]["checked"]) == (6, 6)


def test_two_processes_are_flagged_as_too_few() -> None:
    sec = across_processes([_report(100.0, 5.0, 3.0, 10), _report(101.0, 5.0, 3.0, 10)])
    assert any("2 processes" in w for w in process_warnings(sec))


def test_a_process_without_a_value_keeps_its_place() -> None:
    d = across([1.0, None, 3.0], [_summary(1.0, 0.5), None, _summary(3.0, None)])
    assert d is not None
    assert d["per_process"] == [1.0, None, 3.0] and d["between"]["n"] == 2
    assert d["within_halfwidths"] == [0.5, None, None]
    assert coverage([1.0, None, 3.0], [(0.5, 1.5), None, None]) == (0, 1)
    assert across([None, None]) is None


def test_from_records_each_process_is_one_unit_of_the_between_process_ci(simulate) -> None:  # noqa: ANN001
    reports = []
    for k, step in enumerate((0.25, 0.125, 0.0625)):  # three processes, each at its own decode speed
        recs = [simulate(0.5, [step] * 4, extra={"process": f"p{k}", "unit": f"p{k}/b{b}"}) for b in range(3)]
        reports.append({"metrics": compute(recs, [], 0)})
    sec = across_processes(reports)
    d = sec["metrics"]["decode_tps"]
    assert d["per_process"] == [4.0, 8.0, 16.0]  # 4 tokens after the first / 4 steps
    assert d["within_halfwidths"] == [0.0, 0.0, 0.0]  # each process: identical batches
    assert d["between"]["n"] == 3
    half = sps.t.ppf(0.975, 2) * float(sps.tstd([4.0, 8.0, 16.0])) / math.sqrt(3)
    assert d["between_halfwidth"] == pytest.approx(half)
    assert (d["covered"], d["checked"]) == (0, 6)
    one = across_processes(reports[:1])["metrics"]["decode_tps"]
    assert one["between"]["n"] == 1 and one["between"]["ci95_low"] is None  # one process: no CI
