"""The ``ray`` executor: each task a Ray task on ``num_gpus`` GPUs, in a fresh worker (``max_calls=1``).

Ray is an optional extra (``pip install 'infermeter[ray]'``). ``address=None`` starts a local Ray
instance for the duration of the command; ``"auto"`` joins the cluster running on this machine's
Ray; ``HOST:PORT`` joins that cluster. Workers write into a scratch folder on their own node and
return the files with the result, so nothing is shared over a network filesystem.

A task whose worker or node is lost (killed, out of memory, node down) is submitted again up to
``retries`` times; after that it is reported as failed with the reason. Ray's own retries are off
so that every attempt is counted in the task's placement.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Generator
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.executors.base import Outcome, Task, relative_devices
from infermeter.executors.work import execute

INSTALL_HINT = "--executor ray needs Ray, which is not installed: pip install 'infermeter[ray]'"


def import_ray() -> Any:
    """``ray``, or one line saying how to get it."""
    try:
        import ray
    except ImportError:
        raise InfermeterError(INSTALL_HINT) from None
    return ray


def infermeter_task(fn: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """The Ray task body (its worker process is named after it): run ``fn`` in scratch mode."""
    import ray

    ids = [str(g) for g in ray.get_gpu_ids()]
    env = execute(fn, payload, scratch=True, gpu_ids=ids)
    env["placement"]["node_id"] = ray.get_runtime_context().get_node_id()
    return env


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast (one line) when ``HOST:PORT`` does not answer, instead of Ray's long wait."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InfermeterError(f"--ray-address {address}: expected HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise InfermeterError(f"--ray-address {address}: no Ray cluster reachable there ({err})") from None


def _python_handlers() -> dict[int, Any]:
    """This process's Python handlers of SIGTERM and SIGINT (main thread only: elsewhere none can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}


def _restore(handlers: dict[int, Any]) -> None:
    """Put the Python handlers back: ``ray.init`` installs a C-level handler that kills the driver on
    SIGTERM with a stack dump, where ours turns it into an interruption that finalizes the report."""
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


class RayExecutor:
    """Ray tasks over a cluster (see the module docstring)."""

    name = "ray"
    scratch = True

    def __init__(self, address: str | None = None, retries: int = 1, init_kwargs: dict[str, Any] | None = None) -> None:
        self.ray = import_ray()
        self.address, self.retries = address, retries
        self.init_kwargs = init_kwargs or {}
        self.cluster: dict[str, Any] = {}
        self.owned = False  # True while connected by this executor: it stays connected for later runs

    def gpu_models(self) -> list[str]:
        """The GPU models of the cluster's nodes, as Ray detected them (``accelerator_type:...``)."""
        self.check([])
        models = []
        for n in self.ray.nodes():
            if n.get("Alive"):
                models += [k.split(":", 1)[1] for k in n["Resources"] if k.startswith("accelerator_type:")]
        return models

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for the report."""
        return {"name": self.name, "address": self.address or "local", "retries": self.retries, **self.cluster}

    def _connect(self) -> bool:
        """Join or start Ray; True when this executor did (and so must disconnect)."""
        ray = self.ray
        if ray.is_initialized():
            return False
        if self.address not in (None, "auto"):
            check_reachable(self.address)
        kwargs = {"log_to_driver": False, **self.init_kwargs}
        if self.address is None:
            kwargs.setdefault("include_dashboard", False)
        keep = _python_handlers()
        try:
            ray.init(address=self.address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as err:
            where = self.address or "a local Ray instance"
            raise InfermeterError(f"--ray-address {where}: cannot join the Ray cluster ({err})") from None
        finally:
            _restore(keep)
        return True

    def _nodes(self) -> list[dict[str, Any]]:
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        self.cluster = {
            "nodes": len(nodes),
            "gpus": sum(int(n["Resources"].get("GPU", 0)) for n in nodes),
            "cpus": sum(int(n["Resources"].get("CPU", 0)) for n in nodes),
        }
        return nodes

    def check(self, needs: list[int | None]) -> list[int]:
        """Join the cluster; resolve each task's GPU need; refuse one that no node can meet (one line)."""
        self.owned = self._connect() or self.owned
        biggest = max((int(n["Resources"].get("GPU", 0)) for n in self._nodes()), default=0)
        resolved = [(1 if self.cluster["gpus"] else 0) if n is None else n for n in needs]
        for n in resolved:
            if n > biggest:
                raise InfermeterError(f"a task needs {n} GPU(s), the largest node of the Ray cluster has {biggest}")
        return resolved

    def run(self, tasks: list[Task]) -> Generator[Outcome, None, None]:
        """Submit every task; yield outcomes as they arrive; lost tasks re-run up to ``retries`` times."""
        ray = self.ray
        try:
            for t, n in zip(tasks, self.check([t.gpus for t in tasks]), strict=True):
                t.gpus = n
            remote = ray.remote(max_calls=1, max_retries=0)(infermeter_task)
            pending: dict[Any, tuple[Task, int, float]] = {}

            def submit(t: Task, attempt: int) -> None:
                ref = remote.options(num_gpus=t.gpus, num_cpus=1).remote(t.fn, relative_devices(t.payload))
                pending[ref] = (t, attempt, time.monotonic())

            for t in tasks:
                submit(t, 1)
            lost: dict[str, list[str]] = {}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                task, attempt, start = pending.pop(ready[0])
                try:
                    env = ray.get(ready[0])
                except ray.exceptions.RayTaskError as err:  # the task body itself raised past execute()
                    yield Outcome(
                        task.key, "failed", error=f"the Ray task failed: {err}", placement=self._where(attempt)
                    )
                    continue
                except ray.exceptions.RayError as err:  # worker or node lost
                    lost.setdefault(task.key, []).append(f"{type(err).__name__}: {str(err).splitlines()[0]}")
                    if attempt <= self.retries:
                        submit(task, attempt + 1)
                        continue
                    reason = f"worker lost {attempt} time(s), last: {lost[task.key][-1]}"
                    yield Outcome(task.key, "lost", error=reason, placement=self._where(attempt, lost[task.key]))
                    continue
                placement = {
                    **env["placement"],
                    **self._where(attempt, lost.get(task.key)),
                    "task_s": time.monotonic() - start,
                }
                yield Outcome(
                    task.key, env["status"], env.get("value"), env.get("error"), env.get("traceback"), placement,
                    env.get("files") or {},
                )  # fmt: skip
        finally:
            for ref in locals().get("pending", {}):  # interrupted: stop what still runs
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Disconnect from Ray if this executor connected (also done when the process exits)."""
        if self.owned:
            self.ray.shutdown()
            self.owned = False

    def _where(self, attempt: int, lost: list[str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"executor": self.name, "attempts": attempt}
        if lost:
            out["lost"] = lost  # why earlier attempts did not return
        return out
