"""Warm-up strategies: what runs before the first call that counts.

One implementation for the library, ``run`` and ``compare``:

* ``none``: nothing; the first measured call pays for lazy initialization and compilation.
* ``same-input``: run the input that will be measured (caches keyed on the input then hit: the
  measurement flatters the model, which is why ``compare --warmup-compare`` shows it).
* ``different-input``: run other inputs of the same shape (what a deployment can actually do).
* ``shadow-instance``: build a throw-away instance, run it once, drop it (and release its memory),
  before the real instance is built: process-wide one-time costs are paid, the real model starts clean.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.optimize.cleanup import cleanup

STRATEGIES = ("none", "same-input", "different-input", "shadow-instance")


@dataclass
class WarmupResult:
    """What a warm-up did: how many calls, how long, and what each call returned."""

    strategy: str
    calls: int = 0
    seconds: float = 0.0
    outputs: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (outputs left out)."""
        return {"strategy": self.strategy, "calls": self.calls, "seconds": self.seconds}


def warmup(
    model: Callable[[Any], Any] | None,
    strategy: str,
    *,
    same: Any = None,
    different: Callable[[int], Any] | Any = None,
    runs: int = 1,
    build: Callable[[], Callable[[], Any]] | None = None,
    cleanup_level: str = "gc+empty_cache",
) -> WarmupResult:
    """Warm ``model`` (any callable taking one input) up with ``strategy``.

    ``same`` is the input that will be measured; ``different`` another input of the same shape, or a
    function ``k -> input`` giving a new one per run. ``shadow-instance`` needs ``build``: it builds a
    throw-away instance and returns a function that runs it once on a representative input; the
    instance is dropped and memory released (``cleanup_level``) before this returns.
    """
    if strategy not in STRATEGIES:
        raise InfermeterError(f"unknown warm-up strategy {strategy!r} (use {', '.join(STRATEGIES)})")
    result = WarmupResult(strategy)
    t0 = time.perf_counter()
    if strategy == "shadow-instance":
        if build is None:
            raise InfermeterError("warm-up shadow-instance needs build= (a factory of a throw-away instance)")

        once = build()
        result.outputs.append(once())
        result.calls = 1
        del once
        cleanup(cleanup_level)
    elif strategy != "none":
        if model is None:
            raise InfermeterError(f"warm-up {strategy} needs a model to call")
        for k in range(runs):
            if strategy == "same-input":
                x, arg = same, "same"
            else:
                x, arg = (different(k) if callable(different) else different), "different"
            if x is None:
                raise InfermeterError(f"warm-up {strategy} needs {arg}= (the input to warm up on)")
            result.outputs.append(model(x))
            result.calls += 1
    result.seconds = time.perf_counter() - t0
    return result
