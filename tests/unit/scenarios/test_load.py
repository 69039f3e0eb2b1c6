"""Load profiles: parsing, seeded arrival schedules, windows, and per-point numbers."""

from __future__ import annotations

import numpy as np
import pytest

from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.scenarios.load import LoadRunner
from infermeter.scenarios.load_analysis import summarize
from infermeter.scenarios.load_profiles import LoadOptions, Profile, parse_profile, schedule


def test_parse_profiles():
    assert parse_profile("synchronous", 64) == Profile("synchronous")
    assert parse_profile("concurrent:8", 64).concurrency == 8
    assert parse_profile("throughput", 32) == Profile("throughput", 32.0)
    assert parse_profile("poisson:2.5", 64).rate == 2.5
    assert parse_profile("sweep", 64) is None
    for bad in ("poisson", "poisson:0", "concurrent:1.5", "burst:3", "constant:x"):
        with pytest.raises(InfermeterError, match="--profile"):
            parse_profile(bad, 64)


def test_poisson_schedule_is_seeded_and_has_the_rate():
    a, b = schedule(Profile("poisson", 50.0), 4000, seed=3), schedule(Profile("poisson", 50.0), 4000, seed=3)
    assert np.array_equal(a, b) and a[0] == 0.0
    assert not np.array_equal(a, schedule(Profile("poisson", 50.0), 4000, seed=4))
    assert (len(a) - 1) / a[-1] == pytest.approx(50.0, rel=0.05)
    gaps = np.diff(a)
    assert np.std(gaps) / np.mean(gaps) == pytest.approx(1.0, abs=0.08)  # exponential: CV 1
    assert np.allclose(np.diff(schedule(Profile("constant", 4.0), 5, 0)), 0.25)


def test_options_are_validated():
    with pytest.raises(InfermeterError, match="limit"):
        LoadOptions().validate()
    with pytest.raises(InfermeterError, match="nothing to measure"):
        LoadOptions(max_requests=10, warmup="60%", cooldown="40%").validate()
    with pytest.raises(InfermeterError, match="needs --duration"):
        LoadOptions(max_requests=10, cooldown="5s").validate()


def test_warmup_and_cooldown_phases():
    runner = LoadRunner(None, [], None, False, LoadOptions(max_requests=10, warmup="20%", cooldown="10%"), None, None)
    assert [runner._phase(k, 0.0) for k in range(10)] == ["warmup:load"] * 2 + ["load"] * 7 + ["cooldown:load"]
    runner.opts = LoadOptions(duration_s=10, warmup="2s", cooldown="10%")
    assert [runner._phase(0, t) for t in (1.9, 2.0, 8.9, 9.0)] == ["warmup:load", "load", "load", "cooldown:load"]


def test_summarize_counts_window_rates_and_errors():
    recs = [
        RequestRecord(f"r{i}", "load", i, 1, 8, float(i), [i + 0.5, i + 1.0], extra={"scheduled_s": float(i)})
        for i in range(4)
    ]
    recs.append(RequestRecord("w", "warmup:load", 9, 1, 8, -1.0, [-0.5]))
    recs.append(RequestRecord("e", "load", 10, 1, 8, 4.0, [], error="HTTP 429: slow down", extra={"scheduled_s": 4.0}))
    s = summarize(Profile("constant", 1.0), recs, {"ttft": 0.6})
    expected = {"sent": 6, "measured": 5, "ok": 4, "errors": 1, "short_outputs": 0, "output_tokens": 8}
    assert s["requests"] == {**expected, "input_tokens": 32, "cancelled": 0}
    assert s["window_s"] == 4.0  # first measured send (0) to last measured end (3 + 1.0; the failure at 4.0)
    assert s["achieved_rate"] == 1.0 and s["scheduled_rate"] == 1.0
    assert s["request_rate"] == 1.0 and s["output_throughput"] == 2.0  # 8 tokens / (4.0 - 0.0)
    assert s["errors_by_reason"] == {"HTTP 429: slow down": 1}
    assert s["ttft_s"]["mean"] == 0.5 and s["goodput"]["good"] == 4


class _SyntheticOnly:
    """Metric-arithmetic fake: a backend that only makes seeded synthetic prompts (no model, no server)."""

    def synthetic_prompt(self, n: int, rng: np.random.Generator):
        from infermeter.backends.base import Prompt

        return Prompt(ids=[int(x) for x in rng.integers(0, 50_000, n)])


def test_load_sends_distinct_synthetic_prompts_unless_repeats_are_asked_for():
    from infermeter.backends.base import fingerprint
    from infermeter.config import build_config
    from infermeter.scenarios.load import prompts_for
    from infermeter.scenarios.load_profiles import planned_requests

    cfg = build_config({"workload": {"kind": "synthetic", "prompt_len": 8}})  # limit 8 by default
    opts = LoadOptions(profile="sweep", max_requests=40, sweep_points=3)
    assert planned_requests(opts) == 120
    prompts, forced = prompts_for(_SyntheticOnly(), cfg, planned_requests(opts))
    assert forced and len({fingerprint(p) for p in prompts}) == 120  # no request repeats another
    cfg = build_config({"workload": {"kind": "synthetic", "prompt_len": 8, "repeat_ratio": 0.25}})
    prompts, _ = prompts_for(_SyntheticOnly(), cfg, 400)
    assert len(prompts) == 400 and len({fingerprint(p) for p in prompts}) == pytest.approx(300, abs=8)
