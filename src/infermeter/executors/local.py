"""The ``local`` executor: tasks in fresh spawned processes on this host, one by one or over GPUs.

Without devices, tasks run one after the other and the worker writes its run files and results
database rows itself, as a plain ``run`` does. With ``devices=[0, 1, ...]`` up to one task per free
GPU runs at once (a task needing k GPUs waits for k free ones, in submission order); each worker sees
only its GPUs through ``CUDA_VISIBLE_DEVICES`` and writes into a scratch folder that comes back to
the driver. Tasks on CPU (no GPU asked) take one device slot each, so ``devices`` also bounds how
many run at once there.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Generator, Iterator
from multiprocessing.connection import wait
from typing import Any

from infermeter.config import build_config
from infermeter.errors import InfermeterError
from infermeter.executors.base import Outcome, Task, parse_devices, relative_devices, visible_gpus
from infermeter.executors.work import entry


def gpu_count() -> int:
    """CUDA GPUs this process can see (0 without torch's CUDA)."""
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        return 0


def check_devices(ids: list[int], count: int) -> None:
    """Refuse GPU ids this host does not have (one clear line)."""
    bad = [i for i in ids if i >= count]
    if bad and count > 0:
        raise InfermeterError(
            f"--devices: cuda:{bad[0]} does not exist, this host has {count} GPU(s) (cuda:0..cuda:{count - 1})"
        )


def devices_config(cfg: Any, devices: str, device: str | None) -> Any:
    """``run --devices LIST``: the config with its model over those GPUs (checked against this host)."""

    if device not in (None, "auto"):
        raise InfermeterError("give --device or --devices, not both")
    ids = parse_devices(devices)
    check_devices(ids, gpu_count())
    return build_config(cfg.model_dump(), {"model.device": ",".join(f"cuda:{i}" for i in ids)})


class _Running:
    """One started worker: its process, the end of its pipe, its GPUs, when it started."""

    def __init__(self, task: Task, proc: Any, conn: Any, gpus: list[int]) -> None:
        self.task, self.proc, self.conn, self.gpus = task, proc, conn, gpus
        self.start = time.monotonic()  # bookkeeping, not a measurement


class LocalExecutor:
    """Fresh spawned processes on this host (see the module docstring)."""

    name = "local"

    def __init__(self, devices: list[int] | None = None) -> None:
        self.devices = devices
        self.scratch = devices is not None
        if devices is not None:
            if not devices:
                raise InfermeterError("--devices: give at least one GPU id")
            check_devices(devices, gpu_count())

    def gpu_models(self) -> list[str]:
        """The model name of each of ``devices`` (empty without devices or without CUDA)."""
        if not self.devices or not gpu_count():
            return []
        import torch

        return [torch.cuda.get_device_name(i) for i in self.devices]

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the report."""
        mode = "sequential" if self.devices is None else "concurrent"
        return {"name": self.name, "mode": mode, "devices": self.devices}

    def check(self, needs: list[int | None]) -> list[int]:
        """Resolve each task's GPU need (None: device auto) and refuse one this host cannot meet."""
        count = gpu_count()
        resolved = [(1 if count else 0) if n is None else n for n in needs]
        slots = len(self.devices) if self.devices is not None else None
        need = max(resolved, default=0)
        if need and slots is None and count < need:
            raise InfermeterError(f"a task needs {need} GPUs, this host has {count}")
        if need and slots is not None:
            if count == 0:
                raise InfermeterError(f"--devices: a task needs {need} GPU(s), but torch sees no CUDA GPU here")
            if need > slots:
                raise InfermeterError(f"a task needs {need} GPUs, --devices gives {slots}")
        return resolved

    def run(self, tasks: list[Task]) -> Generator[Outcome, None, None]:
        """Run every task; yield outcomes as they arrive."""
        for t, n in zip(tasks, self.check([t.gpus for t in tasks]), strict=True):
            t.gpus = n
        if self.devices is None:
            for t in tasks:
                yield from self._pool([t], slots=[])
            return
        yield from self._pool(tasks, slots=list(self.devices))

    def _take(self, task: Task, free: list[int], n_running: int, n_slots: int) -> list[int] | None:
        """GPU ids for ``task`` if it can start now (None: wait)."""
        if not task.gpus:  # 0 (run() has resolved None, device auto, before any task is taken)
            return [] if n_running < max(n_slots, 1) else None
        if task.pin is not None:
            return list(task.pin) if all(g in free for g in task.pin) else None
        return free[: task.gpus] if len(free) >= task.gpus else None

    def _pool(self, tasks: list[Task], slots: list[int]) -> Iterator[Outcome]:
        ctx = mp.get_context("spawn")
        queue, free = list(tasks), list(slots)
        running: list[_Running] = []
        try:
            while queue or running:
                while queue:
                    gpus = self._take(queue[0], free, len(running), len(slots))
                    if gpus is None:
                        break
                    running.append(self._start(ctx, queue.pop(0), gpus))
                    free = [g for g in free if g not in gpus]
                ready = wait([r.conn for r in running])
                for r in [r for r in running if r.conn in ready]:
                    running.remove(r)
                    free = sorted(free + r.gpus)
                    yield self._finish(r)
        finally:  # interrupted (Ctrl-C, SIGTERM, an error in the driver): stop every worker still running
            for r in running:
                if r.proc.is_alive():
                    r.proc.terminate()
                r.proc.join(10)

    def _start(self, ctx: Any, task: Task, gpus: list[int]) -> _Running:
        parent, child = ctx.Pipe(duplex=False)
        env = {"CUDA_VISIBLE_DEVICES": ",".join(visible_gpus(gpus))} if self.scratch else {}
        payload = relative_devices(task.payload) if self.scratch else task.payload
        args = {"payload": payload, "env": env, "scratch": self.scratch}
        proc = ctx.Process(target=entry, args=(task.fn, args, child), daemon=False)
        proc.start()
        child.close()
        return _Running(task, proc, parent, gpus)

    def _finish(self, r: _Running) -> Outcome:
        try:
            env = r.conn.recv()
        except EOFError:
            env = None
        finally:
            r.conn.close()
        r.proc.join()
        placement: dict[str, Any] = {"executor": self.name, "attempts": 1, "task_s": time.monotonic() - r.start}
        if self.scratch:
            placement["gpu_ids"] = r.gpus
        if env is None:
            reason = (
                f"the worker process died without a result (exit code {r.proc.exitcode}; "
                "out of memory or a crash in native code?)"
            )
            return Outcome(r.task.key, "failed", error=reason, placement=placement)
        placement = {**env["placement"], **placement}
        return Outcome(
            r.task.key,
            env["status"],
            env.get("value"),
            env.get("error"),
            env.get("traceback"),
            placement,
            env.get("files") or {},
        )
