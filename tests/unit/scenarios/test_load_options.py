"""vLLM/GuideLLM conventions of `load`: arrivals, ramp-up, percentiles, metadata, window shares of requests sent."""

from __future__ import annotations

import numpy as np
import pytest

from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.scenarios.load_options import (
    check_burstiness,
    gaps_for,
    offsets,
    parse_metadata,
    parse_percentiles,
    percentiles_of,
    ramp_offsets,
    ramp_profile,
    request_rate_profile,
    window_phases,
)
from infermeter.scenarios.load_profiles import LoadOptions, Profile, parse_profile


def test_percentiles_keep_the_defaults_and_reject_out_of_range():
    assert parse_percentiles(None) == (50.0, 90.0, 95.0, 99.0)
    assert parse_percentiles("50,99.9,p75") == (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)
    for bad in ("101", "0", "abc", "-5"):
        with pytest.raises(InfermeterError, match="--percentiles"):
            parse_percentiles(bad)
    assert percentiles_of([1.0, 2.0, 3.0, 4.0], (50.0, 99.9)) == {"p50": 2.5, "p99.9": pytest.approx(3.997)}


def test_metadata_and_request_rate():
    assert parse_metadata(["gpu=H200", "note=a=b"]) == {"gpu": "H200", "note": "a=b"}
    with pytest.raises(InfermeterError, match="KEY=VALUE"):
        parse_metadata(["novalue"])
    assert request_rate_profile("5", None, None) == "poisson:5"
    assert request_rate_profile("inf", 8, 100) == "concurrent:8"
    assert request_rate_profile("inf", None, 100) == "concurrent:100"
    with pytest.raises(InfermeterError, match="--request-rate"):
        request_rate_profile("0", None, None)


def test_burstiness_shapes_the_gaps():
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(InfermeterError, match="--burstiness"):
            check_burstiness(bad)
    poisson = gaps_for("poisson", 10.0, 20000, seed=1)
    bursty = gaps_for("poisson", 10.0, 20000, seed=1, burstiness=0.25)
    even = gaps_for("poisson", 10.0, 20000, seed=1, burstiness=8.0)
    for g in (poisson, bursty, even):  # the mean rate is kept
        assert np.mean(g) == pytest.approx(0.1, rel=0.05)
    assert np.std(bursty) > 1.5 * np.std(poisson) > 2.0 * np.std(even)  # CV 2, 1, 0.35
    assert np.all(gaps_for("constant", 4.0, 3, seed=0) == 0.25)


def test_ramp_up_profiles_and_offsets():
    assert ramp_profile("linear", 1, 10) == "ramp:linear:1:10"
    p = parse_profile("ramp:exponential:2:32", 64)
    assert p == Profile("ramp", 32.0, 2.0, "exponential") and p.label == "ramp:exponential:2:32"
    lin = ramp_offsets("linear", 1.0, 9.0, 5)  # rates 1, 3, 5, 7, 9: gaps 1, 1/3, 1/5, 1/7
    assert lin == pytest.approx([0, 1, 1 + 1 / 3, 1 + 1 / 3 + 1 / 5, 1 + 1 / 3 + 1 / 5 + 1 / 7])
    exp = np.diff(ramp_offsets("exponential", 1.0, 16.0, 5))  # rates 1, 2, 4, 8
    assert exp == pytest.approx([1, 0.5, 0.25, 0.125])
    for bad in (("sideways", 1, 2), ("linear", None, 2), ("linear", 0, 2)):
        with pytest.raises(InfermeterError, match="ramp-up"):
            ramp_profile(*bad)


def test_trace_profile_replays_recorded_times_at_speed():
    from infermeter.backends.base import Prompt

    prompts = [Prompt(ids=[1], extra={"at_s": t}) for t in (5.0, 5.5, 7.0, 9.0)]
    assert parse_profile("trace:2x", 64) == Profile("trace", 2.0) and parse_profile("trace", 64).value == 1.0
    got = offsets(Profile("trace", 2.0), LoadOptions(profile="trace:2"), 0, prompts)
    assert got.tolist() == [0.0, 0.25, 1.0, 2.0]
    got = offsets(Profile("trace", 1.0), LoadOptions(profile="trace", max_requests=2), 0, prompts)
    assert got.tolist() == [0.0, 0.5]
    with pytest.raises(InfermeterError, match="--profile"):
        parse_profile("trace:0", 64)


def _recs(n: int, phase: str = "load") -> list[RequestRecord]:
    return [RequestRecord(f"r{k}", phase, k, 1, 8, float(k), [k + 0.5], extra={"k": k, "point": 0}) for k in range(n)]


def test_window_shares_are_taken_of_the_requests_actually_sent():
    # 1,000 planned, the duration ended after 50: 10% + 10% of the 50 sent, not of the 1,000.
    opts = LoadOptions(max_requests=1000, duration_s=10, warmup="10%", cooldown="10%")
    phases = [r.phase for r in window_phases(_recs(50, "warmup:load"), opts)]
    assert phases.count("warmup:load") == 5 and phases.count("cooldown:load") == 5 and phases.count("load") == 40
    assert phases[:5] == ["warmup:load"] * 5 and phases[-5:] == ["cooldown:load"] * 5
    seconds = LoadOptions(max_requests=10, warmup="1s", cooldown="20%")  # seconds keep the send-time phase
    recs = _recs(10)
    recs[0] = RequestRecord("w", "warmup:load", 0, 1, 8, 0.0, [0.5], extra={"k": 0})
    assert [r.phase for r in window_phases(recs, seconds)] == ["warmup:load"] + ["load"] * 7 + ["cooldown:load"] * 2


def test_max_concurrency_caps_rate_profiles():
    import asyncio

    from infermeter.backends.base import Generation, Prompt
    from infermeter.config import GenerationParams
    from infermeter.scenarios.load import LoadRunner

    live = peak = 0

    async def request(prompt, params, force):  # noqa: ANN001, ANN202
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        await asyncio.sleep(0.05)
        live -= 1
        return Generation(0.0, [0.01], "x")

    class Sink:
        def put(self, r):  # noqa: ANN001, ANN202
            pass

        def point_records(self, point):  # noqa: ANN001, ANN202
            return []

    opts = LoadOptions(profile="constant:1000", max_requests=12, concurrency_cap=3)

    async def main() -> None:
        runner = LoadRunner(request, [Prompt(ids=[1])], GenerationParams(), False, opts, Sink(), lambda: 0.0)
        await runner.run_point(0, Profile("constant", 1000.0))

    asyncio.run(main())
    assert peak == 3  # 12 requests due at once, 3 in flight at most


def test_window_all_relabels_each_point_by_its_own_count():
    from infermeter.scenarios.load_options import window_all

    recs = _recs(20, "warmup:load")
    for r in recs[10:]:
        r.extra["point"], r.extra["k"] = 1, r.extra["k"] - 10
    out = window_all(recs, LoadOptions(max_requests=100, warmup="20%"))
    assert [r.phase for r in out] == (["warmup:load"] * 2 + ["load"] * 8) * 2
