"""Goodput arithmetic on hand-built records."""

from __future__ import annotations

import pytest

from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.metrics.goodput import goodput, meets, parse_slo


def _r(ttft: float, tpot: float, n: int = 5, error: str | None = None) -> RequestRecord:
    times = [ttft + i * tpot for i in range(n)] if error is None else []
    return RequestRecord("x", "load", 0, 1, 10, 0.0, times, error=error)


def test_parse_slo_units():
    assert parse_slo("ttft=200ms,tpot=50ms") == {"ttft": 0.2, "tpot": 0.05}
    assert parse_slo("e2e=2s, ttft=500us") == {"e2e": 2.0, "ttft": 0.0005}
    assert parse_slo("ttft=250") == {"ttft": 0.25}  # bare numbers are milliseconds, as vLLM's --goodput
    assert parse_slo("ttft:200,tpot:50") == {"ttft": 0.2, "tpot": 0.05}
    assert parse_slo("e2el:1000 ttft=0.2s") == {"e2e": 1.0, "ttft": 0.2}
    for bad in ("ttft", "latency=1s", "ttft=fast", "ttft=1h"):
        with pytest.raises(InfermeterError, match="--slo"):
            parse_slo(bad)


def test_goodput_counts_only_successful_requests_meeting_every_slo():
    slo = {"ttft": 0.2, "tpot": 0.05}
    recs = [
        _r(0.1, 0.04),  # good
        _r(0.2, 0.05),  # on the limits: good
        _r(0.3, 0.01),  # TTFT too slow
        _r(0.1, 0.06),  # TPOT too slow
        _r(0.1, 0.5, n=1),  # one token: no TPOT, TTFT fine: good
        _r(0, 0, error="HTTP 500"),  # failed: never good
    ]
    assert [meets(r, slo) for r in recs] == [True, True, False, False, True, False]
    g = goodput(recs, slo, window_s=2.0)
    assert g["good"] == 3 and g["total"] == 6 and g["fraction"] == 0.5
    assert g["requests_per_s"] == 1.5
    assert g["output_tokens_per_s"] == (5 + 5 + 1) / 2.0
