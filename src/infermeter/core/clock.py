"""The only clock infermeter measures with.

Every timestamp in a record comes from a :class:`Clock`. ``PerfClock`` synchronizes the device before
reading ``time.perf_counter`` so that a timestamp means "the work queued so far is done", not "the
work was queued" (asynchronous CUDA launches return immediately). Tests inject :class:`FakeClock`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """A monotonic clock in seconds that can wait for the device first."""

    def now(self) -> float:
        """Seconds, monotonic, without waiting for the device."""
        ...

    def synced_now(self) -> float:
        """Seconds after all queued device work has finished."""
        ...


def _noop() -> None:
    return None


class PerfClock:
    """``perf_counter`` after a device synchronize (a no-op on CPU)."""

    def __init__(self, device: str = "cpu") -> None:
        self._sync: Callable[[], None] = _noop
        if device.startswith("cuda"):
            import torch

            self._sync = torch.cuda.synchronize
        self.now = time.perf_counter

    def synced_now(self) -> float:
        """Wait for the device, then read the clock."""
        self._sync()
        return time.perf_counter()


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
