"""The clock-offset estimate against a fake remote clock: the shortest round trip wins, and the
true offset always lies within the stated uncertainty."""

from __future__ import annotations

import pytest

from infermeter.core.clock import FakeClock
from infermeter.core.skew import best_exchange, measure_skew


class FakeRemote:
    """A host whose clock runs ``offset`` ahead of ``local``; each exchange takes the given legs."""

    def __init__(self, local: FakeClock, offset: float, legs: list[tuple[float, float]]) -> None:
        self.local, self.offset, self.legs = local, offset, iter(legs)

    def __call__(self) -> float:
        out, back = next(self.legs)
        self.local.advance(out)  # the request travels
        reading = self.local.now() + self.offset
        self.local.advance(back)  # the answer travels (asymmetric legs: the error the bound covers)
        return reading


def test_the_exchange_with_the_smallest_round_trip_gives_the_estimate() -> None:
    local = FakeClock(1000.0)
    legs = [(0.004, 0.001), (0.0002, 0.0003), (0.010, 0.010), (0.001, 0.002)]
    skew = measure_skew(FakeRemote(local, 2.5, legs), local.now, rounds=4)
    assert skew.rounds == 4
    assert skew.rtt_s == pytest.approx(0.0005)
    assert skew.uncertainty_s == pytest.approx(0.00025)
    assert skew.offset_s == pytest.approx(2.5 - 0.00005)  # (out - back) / 2 of the chosen exchange
    assert abs(skew.offset_s - 2.5) <= skew.uncertainty_s


@pytest.mark.parametrize("offset", [-3600.0, -0.02, 0.0, 0.7, 86400.0])
def test_the_true_offset_is_within_the_uncertainty_however_asymmetric_the_legs(offset: float) -> None:
    local = FakeClock(50.0)
    legs = [(0.003, 0.0), (0.0, 0.002), (0.0015, 0.0025), (0.0001, 0.004)]
    skew = measure_skew(FakeRemote(local, offset, legs), local.now, rounds=4)
    assert abs(skew.offset_s - offset) <= skew.uncertainty_s + 1e-9
    assert skew.rtt_s == pytest.approx(0.002)  # the (0, 0.002) exchange


def test_no_exchange_is_an_error() -> None:
    with pytest.raises(ValueError):
        best_exchange([])
