"""The only clock infermeter measures with.

Every timestamp in a record comes from a :class:`Clock`. Two ways to read it:

* ``synced_now()``: wait for the device, then read ``time.perf_counter``. Used at request
  boundaries (send time), where waiting costs nothing.
* ``mark()`` now and ``resolve(marks)`` later: for per-token timestamps inside a generation loop.
  On CPU a mark is simply ``perf_counter()`` (CPU work is synchronous). On CUDA a mark is a CUDA
  event: it records when the GPU finished everything queued before it, without making the host
  wait, so timing does not perturb the CPU/GPU overlap of the loop being timed; ``resolve`` waits
  once and converts events to the ``perf_counter`` time base, anchored at the last
  ``synced_now()``.

Tests inject :class:`FakeClock`.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from infermeter.core.device import resolve_device


class Clock(Protocol):
    """A monotonic clock in seconds that can wait for the device first."""

    def now(self) -> float:
        """Seconds, monotonic, without waiting for the device."""
        ...

    def synced_now(self) -> float:
        """Seconds after all queued device work has finished (also the anchor for marks)."""
        ...

    def mark(self) -> Any:
        """A cheap handle for "now, in device order"; turned into seconds by :meth:`resolve`."""
        ...

    def resolve(self, marks: list[Any]) -> list[float]:
        """Seconds (same base as :meth:`synced_now`) for marks taken since the last anchor."""
        ...


class PerfClock:
    """``perf_counter``; on CPU nothing is asynchronous, so a mark is the time itself."""

    def __init__(self) -> None:
        self.now = time.perf_counter
        self.mark = time.perf_counter

    def synced_now(self) -> float:
        """Read the clock (no device to wait for)."""
        return time.perf_counter()

    def resolve(self, marks: list[Any]) -> list[float]:
        """Marks already are seconds."""
        return list(marks)


class CudaClock:
    """``perf_counter`` after ``cuda.synchronize``, and CUDA events for marks."""

    def __init__(self) -> None:
        import torch

        self._torch = torch
        self.now = time.perf_counter
        self._anchor_t = 0.0
        self._anchor_ev: Any = None

    def synced_now(self) -> float:
        """Wait for the GPU, read the clock, and anchor subsequent marks here."""
        torch = self._torch
        torch.cuda.synchronize()
        t = time.perf_counter()
        # The GPU is idle after the synchronize, so this event completes within microseconds of t.
        self._anchor_ev = torch.cuda.Event(enable_timing=True)
        self._anchor_ev.record()
        self._anchor_t = t
        return t

    def mark(self) -> Any:
        """Record an event on the current stream; the host does not wait."""
        ev = self._torch.cuda.Event(enable_timing=True)
        ev.record()
        return ev

    def resolve(self, marks: list[Any]) -> list[float]:
        """Wait once, then convert each event to seconds after the anchor."""
        if not marks:
            return []
        self._torch.cuda.synchronize()
        return [self._anchor_t + self._anchor_ev.elapsed_time(ev) / 1000.0 for ev in marks]


def wall_now() -> float:
    """Wall-clock seconds (Unix time): only to place hosts on one timeline, never for a duration."""
    return time.time()


def wall_minus_mono() -> float:
    """This host's wall clock minus its monotonic ``perf_counter``: turns one into the other."""
    return time.time() - time.perf_counter()


def clock_for(device: str) -> PerfClock | CudaClock:
    """The clock for a device string (``auto``, ``cpu``, ``cuda``, ``cuda:N``)."""

    return CudaClock() if resolve_device(device).startswith("cuda") else PerfClock()


class FakeClock:
    """A deterministic clock for tests: it moves only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.t += seconds

    def now(self) -> float:
        """The current fake time."""
        return self.t

    synced_now = now
    mark = now

    def resolve(self, marks: list[Any]) -> list[float]:
        """Marks are fake times already."""
        return list(marks)
