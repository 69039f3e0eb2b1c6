"""RequestRecord, the clocks, and peak-memory windows."""

from __future__ import annotations

import json
import mmap
import sys

import psutil
import pytest

from infermeter.core.clock import FakeClock, PerfClock
from infermeter.core.memory import MemoryPeak, MemoryWindow, merge_peaks
from infermeter.core.records import RequestRecord

MB = 2**20


def _record(**kw) -> RequestRecord:
    base = dict(request_id="r0", phase="dataset", batch_id=3, batch_size=2, prompt_tokens=12, t_send=1.0)
    return RequestRecord(**{**base, **kw})


# -- RequestRecord -----------------------------------------------------------------------------


def test_record_round_trip_through_json():
    r = _record(
        token_times=[1.5, 1.75, 1.75, 2.0],
        target_output_tokens=4,
        repeat=2,
        tokens_per_chunk=[1, 2, 1],
        text="#### 18",
        reference=["18", "18.0"],
        score=1.0,
        extra={"finish_reason": "length"},
    )
    d = r.to_dict()
    assert d["output_tokens"] == 4  # derived count included for readers of the raw data
    back = RequestRecord.from_dict(json.loads(json.dumps(d)))  # derived key ignored
    assert back == r


def test_record_defaults_round_trip():
    r = _record()
    assert RequestRecord.from_dict(r.to_dict()) == r
    assert r.to_dict()["token_times"] == [] and r.to_dict()["output_tokens"] == 0


def test_from_dict_ignores_unknown_keys():
    d = _record(token_times=[2.0]).to_dict() | {"added_in_a_later_version": 1}
    assert RequestRecord.from_dict(d).token_times == [2.0]


def test_to_dict_is_a_copy():
    r = _record(token_times=[1.5])
    r.to_dict()["token_times"].append(9.0)
    assert r.token_times == [1.5]


@pytest.mark.parametrize(
    ("kw", "ok", "short", "n"),
    [
        ({"token_times": [1.5, 2.0]}, True, False, 2),
        ({}, False, False, 0),  # no token, no error: still not ok
        ({"token_times": [1.5], "error": "boom"}, False, False, 1),
        ({"token_times": [1.5, 2.0], "target_output_tokens": 2}, True, False, 2),
        ({"token_times": [1.5, 2.0], "target_output_tokens": 3}, True, True, 2),  # ok but short
        ({"token_times": [1.5, 2.0, 2.5], "target_output_tokens": 2}, True, False, 3),  # longer: fine
        ({"target_output_tokens": 2, "error": "OOM"}, False, True, 0),
    ],
)
def test_ok_and_short(kw, ok, short, n):
    r = _record(**kw)
    assert (r.ok, r.short, r.output_tokens) == (ok, short, n)


# -- clocks ------------------------------------------------------------------------------------


def test_fake_clock():
    c = FakeClock()
    assert c.now() == c.synced_now() == 0.0
    c.advance(0.5)
    c.advance(0.25)
    assert c.now() == 0.75
    assert c.synced_now() == 0.75
    assert FakeClock(start=100.0).now() == 100.0


def test_perf_clock_cpu_is_monotonic():
    c = PerfClock()
    readings = []
    for i in range(200):
        readings.append(c.synced_now() if i % 2 else c.now())
    assert all(b >= a for a, b in zip(readings, readings[1:], strict=False))
    assert readings[-1] > readings[0]


# -- memory ------------------------------------------------------------------------------------


def _fresh_pages(size: int) -> mmap.mmap:
    """``size`` bytes of pages new to this process, every one touched. (A ``bytearray`` may be served from
    heap memory an earlier test freed but the process still holds: then its RSS does not grow at all.)"""
    buf = mmap.mmap(-1, size)
    for offset in range(0, size, mmap.PAGESIZE):
        buf[offset] = 1
    return buf


def _allocate_and_measure(window: MemoryWindow) -> tuple[MemoryPeak, int]:
    with window as w:
        before = psutil.Process().memory_info().rss
        _fresh_pages(50 * MB).close()
    return w.peak, before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux-only")
def test_memory_window_sees_a_50mb_allocation_vmhwm():
    peak, before = _allocate_and_measure(MemoryWindow("cpu"))
    assert peak.rss_method == "vmhwm"
    assert peak.rss >= 50 * MB
    # freed before the window closed, but the kernel's high-water mark still has it
    assert peak.rss - before >= 48 * MB
    assert (peak.torch_allocated, peak.torch_reserved, peak.nvml_process) == (None, None, None)


def test_memory_window_sampled_fallback(monkeypatch):
    import infermeter.core.memory as memory

    monkeypatch.setattr(memory, "_reset_hwm", lambda: False)  # as on a system without VmHWM
    with MemoryWindow("cpu", interval_s=0.001) as w:
        before = psutil.Process().memory_info().rss
        buf = _fresh_pages(50 * MB)
        # still alive when the window closes: the final reading includes it
    assert w.peak.rss_method == "sampled"
    assert w.peak.rss - before >= 48 * MB
    buf.close()


def test_merge_peaks():
    a = MemoryPeak(rss=100, rss_method="vmhwm", torch_allocated=50, torch_reserved=None, nvml_process=70)
    b = MemoryPeak(rss=120, rss_method="vmhwm", torch_allocated=40, torch_reserved=None, nvml_process=None)
    m = merge_peaks([a, b])
    assert m == MemoryPeak(rss=120, rss_method="vmhwm", torch_allocated=50, torch_reserved=None, nvml_process=70)
    c = MemoryPeak(rss=90, rss_method="sampled")
    assert merge_peaks([a, c]).rss_method == "mixed"
    assert merge_peaks([c]) == c
    assert merge_peaks([]) is None
    assert m.to_dict() == {
        "rss": 120,
        "rss_method": "vmhwm",
        "torch_allocated": 50,
        "torch_reserved": None,
        "nvml_process": 70,
    }


def test_clock_for_cpu_marks_are_seconds() -> None:
    from infermeter.core.clock import clock_for

    c = clock_for("cpu")
    t0 = c.synced_now()
    marks = [c.mark(), c.mark()]
    assert isinstance(c, PerfClock)
    assert c.resolve(marks) == marks and t0 <= marks[0] <= marks[1]
