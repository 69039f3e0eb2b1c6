"""Hand-built request records for the metric tests.

Every timestamp comes from a :class:`FakeClock` that only moves when a helper says so, so each test
can write its expected values as plain arithmetic. Step sizes are binary fractions (0.5, 0.25,
0.125, ...) so the fake timestamps are exact floats.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import pytest

from infermeter.core.clock import FakeClock
from infermeter.core.records import RequestRecord


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def simulate(clock: FakeClock) -> Callable[..., RequestRecord]:
    """One request on its own: send now, wait ``prefill``, first token, then one token per step.

    A step of 0 delivers the next token at the same time as the previous one (chunked delivery).
    ``prefill=None`` makes a request that received no token at all. Clock ends at the last token.
    """
    ids = itertools.count()

    def make(
        prefill: float | None,
        steps: Sequence[float] = (),
        *,
        phase: str = "dataset",
        batch_id: int | None = None,
        batch_size: int = 1,
        prompt_tokens: int = 16,
        **kw,
    ) -> RequestRecord:
        n = next(ids)
        t_send = clock.now()
        times: list[float] = []
        if prefill is not None:
            clock.advance(prefill)
            times.append(clock.now())
            for s in steps:
                clock.advance(s)
                times.append(clock.now())
        return RequestRecord(
            request_id=f"{phase}-{n}",
            phase=phase,
            batch_id=n if batch_id is None else batch_id,
            batch_size=batch_size,
            prompt_tokens=prompt_tokens,
            t_send=t_send,
            token_times=times,
            **kw,
        )

    return make


@pytest.fixture
def simulate_batch(clock: FakeClock) -> Callable[..., list[RequestRecord]]:
    """One generate() call of ``len(lengths)`` requests decoding in lockstep.

    All requests are sent now; after ``prefill`` every request gets its first token, then every
    ``step`` each request that still wants one gets its next token. ``lengths[i]`` is the number of
    tokens request ``i`` receives (0: none). Clock ends at the batch's last token.
    """

    def make(
        prefill: float,
        step: float,
        lengths: Sequence[int],
        *,
        batch_id: int,
        phase: str = "dataset",
        prompt_tokens: int = 16,
        **kw,
    ) -> list[RequestRecord]:
        t_send = clock.now()
        clock.advance(prefill)
        grid = [clock.now()]
        for _ in range(max(lengths) - 1):
            clock.advance(step)
            grid.append(clock.now())
        return [
            RequestRecord(
                request_id=f"{phase}-b{batch_id}-{i}",
                phase=phase,
                batch_id=batch_id,
                batch_size=len(lengths),
                prompt_tokens=prompt_tokens,
                t_send=t_send,
                token_times=grid[:n],
                **kw,
            )
            for i, n in enumerate(lengths)
        ]

    return make
