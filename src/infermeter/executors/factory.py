"""``make_executor``: an executor by name, with its options checked."""

from __future__ import annotations

from infermeter.errors import InfermeterError
from infermeter.executors.base import EXECUTORS, Executor, parse_devices
from infermeter.executors.local import LocalExecutor
from infermeter.executors.ray_exec import RayExecutor


def make_executor(
    name: str = "local", devices: str | list[int] | None = None, address: str | None = None, retries: int = 1
) -> Executor:
    """The executor called ``name``; one clear line for a bad combination of options."""
    if name not in EXECUTORS:
        raise InfermeterError(f"unknown executor {name!r} (use {' or '.join(EXECUTORS)})")
    ids = parse_devices(devices) if isinstance(devices, str) else devices
    if name == "ray":
        if ids is not None:
            raise InfermeterError("--devices goes with --executor local (Ray schedules over every GPU of the cluster)")

        return RayExecutor(address=address, retries=retries)
    if address is not None:
        raise InfermeterError("--ray-address goes with --executor ray")

    return LocalExecutor(devices=ids)
