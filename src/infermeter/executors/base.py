"""Tasks, outcomes and the choice of executor (see the package docstring)."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from infermeter.errors import InfermeterError, WorkerError

EXECUTORS = ("local", "ray")


@dataclass
class Task:
    """One measured unit: ``fn(payload) -> dict`` in a fresh worker, on ``gpus`` GPUs.

    ``pin``: the GPU ids this task must use (local executor only: compare's balanced visiting).
    """

    key: str
    fn: Callable[[dict[str, Any]], dict[str, Any]]
    payload: dict[str, Any]
    gpus: int | None = 0  # None: one GPU when the executor has any, else none (device "auto")
    pin: list[int] | None = None


@dataclass
class Outcome:
    """What came back for one task: its value, or why there is none, and where it ran."""

    key: str
    # "complete" | "user_error" (bad input) | "failed" (the task raised or its worker died) |
    # "lost" (worker or node lost, retries spent: the task itself may be fine, --resume measures it)
    status: str
    value: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None
    placement: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def unwrap(self) -> dict[str, Any]:
        """The value, or the error raised as the sequential path raises it."""
        if self.status == "complete" and self.value is not None:
            return self.value
        if self.status == "user_error":
            raise InfermeterError(self.error or "the task failed")
        raise WorkerError(f"the worker failed: {self.error}", self.traceback or "")


class Executor(Protocol):
    """Runs tasks and yields their outcomes in the driver's thread, in completion order."""

    name: str
    scratch: bool  # True: workers write to a scratch folder and the driver writes the files

    def check(self, needs: list[int | None]) -> list[int]:
        """Resolve GPU needs (None: device auto); one clear line for a need no node or host can meet."""
        ...

    def run(self, tasks: list[Task]) -> Generator[Outcome, None, None]:
        """Run every task; yield each outcome as it arrives (never drops one)."""
        ...

    def describe(self) -> dict[str, Any]:
        """JSON-ready: the executor, its devices or cluster, for the report."""
        ...


def parse_devices(text: str) -> list[int]:
    """``0,1`` or ``cuda:0,cuda:1`` -> ``[0, 1]``; one clear line for anything else."""
    ids: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        bare = part.removeprefix("cuda:")
        if not bare.isdigit():
            raise InfermeterError(f"--devices {text}: {part!r} is not a GPU id (use 0,1 or cuda:0,cuda:1)")
        if int(bare) in ids:
            raise InfermeterError(f"--devices {text}: GPU {bare} is listed twice")
        ids.append(int(bare))
    return ids


def gpus_for(config: dict[str, Any]) -> int | None:
    """GPUs one run of this config occupies: its device list, or vLLM's tensor x pipeline parallel size.

    None for device ``auto``: one GPU where the executor has GPUs, none elsewhere.
    """
    model = config.get("model") or {}
    device = str(model.get("device", "auto"))
    if config.get("backend") == "openai":
        return 0  # the server does the work; the client needs no GPU
    engine = config.get("engine") or {}
    parallel = int(engine.get("tensor_parallel_size") or 1) * int(engine.get("pipeline_parallel_size") or 1)
    if device == "cpu":
        return 0
    if device == "auto" and parallel == 1:
        return None
    return max(len(device.split(",")), parallel)


def relative_devices(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with its config's GPUs renumbered from 0: under an executor a worker sees only the
    GPUs it was given (``CUDA_VISIBLE_DEVICES``), so ``cuda:3`` means "one GPU" and ``cuda:2,cuda:3`` "two"."""
    config = payload.get("config")
    if not isinstance(config, dict):
        return payload
    device = str((config.get("model") or {}).get("device", ""))
    if not device.startswith("cuda:"):
        return payload
    parts = device.split(",")
    renumbered = ",".join(f"cuda:{i}" for i in range(len(parts)))
    return {**payload, "config": {**config, "model": {**config["model"], "device": renumbered}}}


def visible_gpus(ids: list[int]) -> list[str]:
    """The ``CUDA_VISIBLE_DEVICES`` entries for GPU ids counted within this process's own visible set."""
    parent = os.environ.get("CUDA_VISIBLE_DEVICES")
    if parent:
        mine = [p.strip() for p in parent.split(",") if p.strip()]
        return [mine[i] for i in ids]
    return [str(i) for i in ids]
