"""Guards of a load run: a hard stop at ``--duration``, back-off from a dead server, an error budget.

Without them a server that streams forever keeps a ``--duration 5s`` point running for ever, and a
server that died is flooded with thousands of connection attempts per second, each one a failure
record. Here:

* ``--duration`` ends the point: requests still in flight are cancelled and recorded with the reason
  ``cancelled: duration`` (phase ``cancelled:load``: outside the measured window, not a failure).
* After a connection-level failure (refused, reset before an answer, connect timeout) the next
  request of that worker waits, doubling from 50 ms up to 1 s; ``max_refused`` such failures in a row
  stop the run with one line. Any success resets the streak.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

CANCELLED = "cancelled: duration"
CANCELLED_PHASE = "cancelled:load"
MAX_REFUSED = 20  # connection failures in a row that stop the run
_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 0.05, 1.0

_CONNECT_REASONS = ("connection refused", "cannot connect", "connect timeout", "server closed the connection")


def is_connect_failure(error: str | None) -> bool:
    """A failure before the server answered anything (it is down or refusing connections)."""
    return error is not None and error.startswith(_CONNECT_REASONS)


def is_cancelled(error: str | None) -> bool:
    """A request cut by the end of its profile point (not a server failure)."""
    return error == CANCELLED


class Guard:
    """Counts connection failures in a row, says how long to back off and when to give up."""

    def __init__(self, max_refused: int = MAX_REFUSED) -> None:
        self.max_refused = max_refused
        self.streak = 0
        self.last: str | None = None

    def after(self, error: str | None) -> float:
        """Seconds to wait before the next request, given the outcome of the last one."""
        if not is_connect_failure(error):
            self.streak = 0
            return 0.0
        self.streak += 1
        self.last = error
        return min(_BACKOFF_MAX_S, _BACKOFF_FIRST_S * 2 ** (self.streak - 1))

    @property
    def dead(self) -> str | None:
        """The stop line once the server looks down, else None."""
        if self.streak < self.max_refused:
            return None
        return f"stopped: the server failed {self.streak} connections in a row ({self.last}); is it running?"


class InFlight:
    """The requests of one profile point still waiting for their answer; cancelled together at the deadline."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Future[Any]] = set()
        self.expired = False

    async def call(self, make: Callable[[], Awaitable[Any]], cancelled: Callable[[], Any]) -> Any:
        """``await make()``, or ``cancelled()`` when the point's deadline cut it."""
        task = asyncio.ensure_future(make())
        self.tasks.add(task)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if self.expired and task.cancelled():
                return cancelled()
            task.cancel()
            raise
        finally:
            self.tasks.discard(task)

    async def _expire_at(self, delay_s: float) -> None:
        await asyncio.sleep(max(0.0, delay_s))
        self.expired = True
        for t in list(self.tasks):
            t.cancel()

    def watchdog(self, delay_s: float | None) -> asyncio.Future[Any] | None:
        """A task that cancels every request in flight after ``delay_s``; None: no time limit."""
        return None if delay_s is None else asyncio.ensure_future(self._expire_at(delay_s))
