"""How far another host's wall clock is from ours, and how sure we are (NTP's estimate, one exchange).

A round trip reads our clock (``t0``), asks the remote host for its clock (``r``), reads ours again
(``t1``). The remote read happened somewhere between ``t0`` and ``t1``, so ``offset = r - (t0 + t1) / 2``
is off by at most ``(t1 - t0) / 2``. Of several round trips the one with the smallest round-trip time
gives the tightest bound; the others are slowed by scheduling or the network, not more informative.

Durations never need this: each host measures its own intervals with its own monotonic clock. The
offset only places hosts' events on one timeline and converts a common start time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Skew:
    """A remote clock's offset from ours (remote - local), its bound and the exchange that gave it."""

    offset_s: float
    uncertainty_s: float  # |true offset - offset_s| <= this (half the round trip)
    rtt_s: float
    rounds: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def best_exchange(samples: list[tuple[float, float, float]]) -> Skew:
    """The estimate from ``(t0, remote, t1)`` exchanges: the one with the smallest round trip."""
    if not samples:
        raise ValueError("no clock exchange to estimate from")
    t0, r, t1 = min(samples, key=lambda s: s[2] - s[0])
    rtt = t1 - t0
    return Skew(offset_s=r - (t0 + t1) / 2, uncertainty_s=rtt / 2, rtt_s=rtt, rounds=len(samples))


def measure_skew(remote: Callable[[], float], local: Callable[[], float], rounds: int = 8) -> Skew:
    """Exchange ``rounds`` times with ``remote`` (a blocking call returning its clock) and estimate."""
    samples = []
    for _ in range(rounds):
        t0 = local()
        r = remote()
        samples.append((t0, r, local()))
    return best_exchange(samples)
