"""The GPU's clocks, temperature and other processes, read at the start and the end of a run.

A clock that changed (boost, thermal throttling) or a temperature that rose by more than 10 degrees
between start and end means the run was not measured under one condition; another process on the
GPU at the start shares its compute and memory bandwidth. Both become report warnings. Everything
here is optional: without NVML (or a GPU) :func:`snapshot` is empty and nothing is said.
"""

from __future__ import annotations

import os
from typing import Any

CLOCK_CHANGE = 0.05  # relative change of the SM clock worth a warning
TEMP_RISE_C = 10


def snapshot() -> dict[str, Any]:
    """SM clock (MHz), temperature (C) and other processes' pids on GPU 0; {} when unreadable."""
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        procs = pynvml.nvmlDeviceGetComputeRunningProcesses(h)
        return {
            "sm_clock_mhz": pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
            "temperature_c": pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
            "other_pids": sorted({p.pid for p in procs} - {os.getpid(), os.getppid()}),
        }
    except Exception:  # no NVML, no GPU, or no permission: nothing to say
        return {}


def drift_warnings(start: dict[str, Any] | None, end: dict[str, Any] | None) -> list[str]:
    """Warnings from two snapshots (either may be missing)."""
    start, end = start or {}, end or {}
    out = []
    if start.get("other_pids"):
        out.append(f"other processes on the GPU at start (pids {start['other_pids']}): they share it")
    c0, c1 = start.get("sm_clock_mhz"), end.get("sm_clock_mhz")
    if c0 and c1 and abs(c1 - c0) > CLOCK_CHANGE * c0:
        out.append(f"GPU SM clock changed during the run ({c0} -> {c1} MHz): throttling or boost")
    t0, t1 = start.get("temperature_c"), end.get("temperature_c")
    if t0 is not None and t1 is not None and t1 - t0 > TEMP_RISE_C:
        out.append(f"GPU temperature rose {t0} -> {t1} C during the run")
    return out
