"""Energy arithmetic from injected counters: windows, RAPL wrap-around, joules per token."""

from __future__ import annotations

import pytest

from infermeter.core.clock import FakeClock
from infermeter.core.energy import EnergyWindow, RaplCounter, counter_for
from infermeter.metrics.energy import energy_summary


class FakeCounter:
    """A counter that the test drives: joules and watts move only when told."""

    source = "fake"

    def __init__(self) -> None:
        self.j, self.w = 1000.0, 100.0

    def joules(self) -> float:
        return self.j

    def watts(self) -> float | None:
        return self.w


def test_window_joules_average_and_peak_power():
    counter, clock = FakeCounter(), FakeClock()
    win = EnergyWindow(counter, clock, interval_s=0)
    with win:
        counter.w = 250.0
        win._observe()  # what the sampling thread does every interval
        counter.w = 150.0
        clock.advance(2.0)
        counter.j += 400.0
    r = win.reading
    assert (r.joules, r.seconds, r.avg_w, r.peak_w) == (400.0, 2.0, 200.0, 250.0)
    assert win.to_dict()["source"] == "fake"


def test_unavailable_counter_gives_no_reading():
    win = EnergyWindow(None, FakeClock(), reason="not available on this machine (RAPL: none)")
    with win:
        pass
    assert win.reading is None and win.to_dict() is None


def test_rapl_sums_packages_and_undoes_wrap_around(tmp_path):
    for k, (start, top) in enumerate([(900, 1000), (10, 10**6)]):
        d = tmp_path / f"intel-rapl:{k}"
        d.mkdir()
        (d / "energy_uj").write_text(str(start))
        (d / "max_energy_range_uj").write_text(str(top))
    (tmp_path / "intel-rapl:0:0").mkdir()  # a sub-domain (core): inside the package, not added again
    c = RaplCounter(tmp_path)
    assert len(c.domains) == 2
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("100")  # wrapped: 900 -> 1000 -> 100 = +200
    (tmp_path / "intel-rapl:1" / "energy_uj").write_text("310")  # +300
    assert c.joules() == pytest.approx(500e-6)
    assert c.watts() is None


def test_rapl_missing_is_a_reason_not_an_error(tmp_path):
    with pytest.raises(OSError):
        RaplCounter(tmp_path)
    counter, reason = counter_for("cpu")
    assert counter is not None or "not available on this machine" in reason


def test_joules_per_token_per_window(simulate_batch):
    recs = simulate_batch(prefill=0.5, step=0.25, lengths=[5], batch_id=0, phase="warmup:batch")
    recs += simulate_batch(prefill=0.5, step=0.25, lengths=[5], batch_id=1, phase="batch")
    recs += simulate_batch(prefill=0.5, step=0.25, lengths=[5, 5, 5, 5], batch_id=2, phase="batch")
    recs += simulate_batch(prefill=0.5, step=0.25, lengths=[5, 3], batch_id=3, phase="dataset")
    reading = {"source": "fake", "seconds": 2.0, "avg_w": 50.0, "peak_w": 80.0}
    groups = [
        {"phase": "batch", "shape": {"batch_size": 1}, "energy": {**reading, "joules": 100.0}, "batch_ids": [1, 2]},
        {"phase": "batch", "shape": {"batch_size": 4}, "energy": {**reading, "joules": 120.0}, "batch_ids": [2, 3]},
        {"phase": "dataset", "shape": {"batch_size": 2}, "energy": {**reading, "joules": 40.0}, "batch_ids": [3, 4]},
    ]
    e = energy_summary(groups, recs)
    assert e["available"] and e["source"] == "fake" and e["peak_w"] == 80.0
    assert e["dataset"]["j_per_token"] == 40.0 / 8 and e["dataset"]["j_per_request"] == 20.0
    b1, b4 = e["by_batch_size"]
    assert b1["j_per_token"] == 100.0 / 5  # the warm-up batch (id 0) is outside every window
    assert b4["j_per_token"] == 120.0 / 20 and b4["tokens_per_j"] == 20 / 120.0


def test_no_windows_says_why():
    e = energy_summary([{"phase": "dataset", "energy": None}], [], "not available on this machine (RAPL: x)")
    assert e == {"available": False, "reason": "not available on this machine (RAPL: x)"}
