"""Compare rounds and soak strategies as executor tasks.

compare: within one round the variants run at the same time on different GPUs only when every GPU
the executor uses is the same model (checked: a faster GPU would otherwise favour the variant it
happens to get); variant ``i`` runs round ``r`` on GPU ``(i + r) mod n`` of the local executor's
devices, so over ``n`` rounds every variant visits every GPU once. Rounds stay in order (the round is
the unit of the comparison's statistics). soak: every strategy is one task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from infermeter.core.isolation import run_isolated
from infermeter.errors import InfermeterError
from infermeter.executors.base import Executor, Task, gpus_for
from infermeter.executors.deliver import deliver

BALANCE_NOTE = (
    "rounds ran variants at the same time on GPUs of one model ({model}); variant i ran round r on GPU "
    "(i + r) mod {n}, so every variant visited every GPU"
)


def gpu_models(executor: Executor) -> list[str]:
    """The GPU models the executor would use (empty when unknown or none)."""
    models = getattr(executor, "gpu_models", None)
    return models() if models else []


def check_same_model(executor: Executor) -> dict[str, Any]:
    """Refuse GPUs of different models for a comparison (one line); the note for the report."""
    models = sorted(set(gpu_models(executor)))
    if len(models) > 1:
        raise InfermeterError(
            f"compare needs GPUs of one model to run rounds side by side, these differ: {', '.join(models)} "
            "(choose --devices of one model, or leave the executor out)"
        )
    devices = getattr(executor, "devices", None) or []
    note = None
    if devices and models:
        note = BALANCE_NOTE.format(model=models[0], n=len(devices))
    elif devices:
        note = "variants of a round ran at the same time in CPU task slots (no GPU on this host)"
    return {**executor.describe(), "gpu_models": models, "note": note}


def visiting_gpu(variant: int, round_index: int, devices: list[int]) -> int:
    """The GPU variant ``variant`` uses in round ``round_index``: every GPU once per ``len(devices)`` rounds."""
    return devices[(variant + round_index) % len(devices)]


def run_round(
    executor: Executor | None,
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    jobs: list[tuple[int, str, dict[str, Any]]],
    round_index: int,
    run_dir: Path,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(variant index, name, payload) jobs of one round -> (name, result) in the jobs' order.

    ``executor`` None: one after the other in fresh processes, as a comparison always ran.
    """
    if executor is None:
        for _, name, payload in jobs:
            yield name, run_isolated(fn, payload, "process")
        return
    devices = getattr(executor, "devices", None)
    tasks = []
    for i, name, payload in jobs:
        pin = [visiting_gpu(i, round_index, devices)] if devices else None
        need = gpus_for(payload["config"])
        tasks.append(Task(name, fn, payload, need, pin if need in (None, 1) else None))
    got: dict[str, dict[str, Any]] = {}
    with closing(executor.run(tasks)) as outcomes:
        for out in outcomes:
            deliver(out, run_dir)
            got[out.key] = {**out.unwrap(), "placement": out.placement}
    for _, name, _ in jobs:
        yield name, got[name]


def run_all(
    executor: Executor,
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    jobs: list[tuple[str, dict[str, Any]]],
    run_dir: Path,
) -> dict[str, dict[str, Any]]:
    """(name, payload) jobs at once (soak strategies) -> name -> result with its placement."""
    tasks = [Task(name, fn, payload, gpus_for(payload["config"])) for name, payload in jobs]
    got: dict[str, dict[str, Any]] = {}
    with closing(executor.run(tasks)) as outcomes:
        for out in outcomes:
            deliver(out, run_dir)
            got[out.key] = {**out.unwrap(), "placement": out.placement}
    return got
