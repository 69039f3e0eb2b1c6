"""Per-request latency metrics: TTFT, TPOT, ITL, E2E (fixtures in conftest.py)."""

from __future__ import annotations

import pytest

from infermeter.core.clock import FakeClock
from infermeter.metrics.latency import e2e, itl, tpot, ttft, values


def test_ttft_tpot_e2e_of_one_request(clock, simulate):
    clock.advance(10.0)  # not starting at 0 catches "t_1" used where "t_1 - t_send" was meant
    r = simulate(prefill=0.5, steps=[0.25, 0.25, 0.5])
    # t_send = 10.0; tokens at 10.5, 10.75, 11.0, 11.5
    assert r.t_send == 10.0
    assert r.token_times == [10.5, 10.75, 11.0, 11.5]
    assert ttft(r) == pytest.approx(0.5)  # 10.5 - 10.0
    assert tpot(r) == pytest.approx(1.0 / 3)  # (11.5 - 10.5) / (4 - 1)
    assert e2e(r) == pytest.approx(1.5)  # 11.5 - 10.0


def test_tpot_needs_two_tokens(simulate):
    one = simulate(prefill=0.25)  # n = 1: no gap to average
    assert tpot(one) is None
    assert ttft(one) == pytest.approx(0.25)
    assert e2e(one) == pytest.approx(0.25)  # first token is also the last
    two = simulate(prefill=0.25, steps=[0.125])
    assert tpot(two) == pytest.approx(0.125)  # (0.375 - 0.25) / (2 - 1), relative to its own send


def test_no_tokens_gives_none_everywhere(simulate):
    r = simulate(prefill=None, error="CUDA out of memory")
    assert (ttft(r), tpot(r), e2e(r)) == (None, None, None)
    assert itl([r]) == []


def test_itl_pools_gaps_over_requests_and_keeps_chunk_zeros(simulate):
    a = simulate(prefill=0.5, steps=[0.25, 0.25, 0.5])  # gaps 0.25, 0.25, 0.5
    # Chunked delivery: token 1 alone, tokens 2-4 in one chunk, tokens 5-6 in another.
    b = simulate(prefill=0.5, steps=[0.125, 0, 0, 0.5, 0], tokens_per_chunk=[1, 3, 2])
    assert b.token_times[1] == b.token_times[2] == b.token_times[3]
    single = simulate(prefill=0.5)  # no gap at all
    gaps = itl([a, single, b])
    # a's 3 gaps, then b's 5 gaps (the zeros inside chunks are what the caller saw)
    assert gaps == pytest.approx([0.25, 0.25, 0.5, 0.125, 0.0, 0.0, 0.5, 0.0])
    # TPOT of the chunked request spreads its decode time over all tokens: (1.125 - 0.5) / 5
    assert tpot(b) == pytest.approx(0.625 / 5)


def test_itl_accepts_a_generator(simulate):
    recs = [simulate(prefill=0.5, steps=[0.25]), simulate(prefill=0.5, steps=[0.125])]
    assert itl(r for r in recs) == pytest.approx([0.25, 0.125])


def test_values_skips_failed_requests_and_undefined_values(simulate):
    good = simulate(prefill=0.5, steps=[0.25, 0.25])  # TTFT 0.5, TPOT 0.25, E2E 1.0
    single = simulate(prefill=0.25)  # TTFT 0.25, TPOT undefined
    # An error after some tokens arrived: the request is not ok, nothing of it counts.
    errored = simulate(prefill=0.125, steps=[0.125], error="stream reset")
    empty = simulate(prefill=None)  # no error string, but no token either: not ok
    recs = [good, single, errored, empty]
    assert [r.ok for r in recs] == [True, True, False, False]
    assert values(ttft, recs) == pytest.approx([0.5, 0.25])
    assert values(tpot, recs) == pytest.approx([0.25])
    assert values(e2e, recs) == pytest.approx([1.0, 0.25])
    assert values(ttft, []) == []


def test_fake_clock_fixture_is_fresh(clock):
    assert isinstance(clock, FakeClock)
    assert clock.now() == 0.0
