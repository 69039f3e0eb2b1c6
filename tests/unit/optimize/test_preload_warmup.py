"""Preloader (overlap measured on a real tiny model) and the shared warm-up strategies."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from infermeter.errors import InfermeterError
from infermeter.optimize import STRATEGIES, Preloader, warmup

TINY = {
    "model": {"name": "tiny-qwen3", "device": "cpu"},
    "measure": {"probe_prompt_len": 16, "probe_output_len": 4},
}


def _startup(seconds: float) -> None:
    """An application's own start-up: waiting on I/O (connections, files) and some hashing."""
    deadline = time.perf_counter() + seconds
    blob = b"x" * 2**20
    while time.perf_counter() < deadline:
        hashlib.sha256(blob).digest()  # releases the GIL, like most I/O and native work


def test_preloading_really_overlaps_with_the_callers_startup():
    # Events, not wall-clock ratios (those fail on a busy machine): the caller keeps doing its own
    # start-up work in small steps while the model loads and warms in the background, and the load
    # completes while the caller is still working; get() then hands over the ready model.
    pre = Preloader.for_config(TINY).start()
    steps = 0
    while not pre.ready and steps < 100_000:  # ~1000 s at most on the slowest machine
        _startup(0.0)
        pre._done.wait(0.01)  # the caller's own I/O wait; it ends early on the event of the model being ready
        steps += 1
    assert pre.ready and steps > 0  # the model became ready while the caller was busy: it never blocked
    backend = pre.get()
    assert backend.model is not None
    t = pre.timings()
    assert t["ready"] and t["load_s"] > 0 and t["warm_s"] > 0
    assert len(t["waits_s"]) == 1  # one get(), after the model was ready


def test_callers_wait_only_when_early_and_errors_reach_them():
    # Events and an injected clock, no timers: the load finishes only after the caller is inside get()
    # (it read the clock there), and loading "takes" 1.5 clock seconds.
    now, gate, caller_in_get = [0.0], threading.Event(), threading.Event()

    def clock() -> float:
        if threading.current_thread().name == "caller":
            caller_in_get.set()
        return now[0]

    def load() -> str:
        assert gate.wait(60)
        now[0] += 1.5
        return "model"

    pre = Preloader(load, lambda m: None, clock=clock).start()
    assert not pre.ready
    got: list[str] = []
    caller = threading.Thread(target=lambda: got.append(pre.get()), name="caller")
    caller.start()
    assert caller_in_get.wait(60)
    gate.set()
    caller.join(60)
    assert got == ["model"]
    assert pre.timings()["waits_s"] == [1.5]  # arrived early: waited for the rest of the load
    assert pre.get() == "model"
    assert pre.timings()["waits_s"] == [1.5, 0.0]  # arrived late: no waiting at all

    def boom():
        raise FileNotFoundError("weights.safetensors")

    bad = Preloader(boom).start()
    for _ in range(2):  # every caller sees the loader's exception
        with pytest.raises(FileNotFoundError, match="weights"):
            bad.get()
    assert "FileNotFoundError" in bad.timings()["error"]
    never = threading.Event()
    slow = Preloader(lambda: never.wait(60)).start()
    with pytest.raises(TimeoutError):
        slow.get(timeout=0.05)  # the load cannot finish first: it waits for `never`
    never.set()


def test_warmup_strategies():
    assert STRATEGIES == ("none", "same-input", "different-input", "shadow-instance")
    seen = []
    model = lambda x: seen.append(x) or len(seen)  # noqa: E731
    assert warmup(model, "none").calls == 0 and not seen
    r = warmup(model, "same-input", same="q", runs=2)
    assert seen == ["q", "q"] and r.outputs == [1, 2] and r.seconds >= 0
    seen.clear()
    warmup(model, "different-input", same="q", different=lambda k: f"other{k}", runs=2)
    assert seen == ["other0", "other1"]
    built = []

    def build():
        built.append("instance")
        return lambda: "ran once"

    r = warmup(None, "shadow-instance", build=build, cleanup_level="gc")
    assert built == ["instance"] and r.outputs == ["ran once"] and r.calls == 1
    with pytest.raises(InfermeterError, match="unknown warm-up"):
        warmup(model, "twice")
    with pytest.raises(InfermeterError, match="different="):
        warmup(model, "different-input")
