"""The environment a measurement ran in, captured into every report so two reports can be diffed."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

_PACKAGES = ("torch", "transformers", "accelerate", "tokenizers", "gguf", "vllm", "numpy")


def _version(pkg: str) -> str | None:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_sha() -> str | None:
    """The infermeter checkout's commit (with ``-dirty``), when it runs from a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("-dirty" if dirty else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cuda_info() -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        return {"available": False}
    info: dict[str, Any] = {
        "available": True,
        "runtime": torch.version.cuda,
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "memory_total": torch.cuda.get_device_properties(0).total_memory,
    }
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        info["driver"] = pynvml.nvmlSystemGetDriverVersion()
        info["sm_clock_mhz"] = pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM)
        info["sm_clock_max_mhz"] = pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_SM)
        info["mem_clock_mhz"] = pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM)
        info["power_limit_w"] = pynvml.nvmlDeviceGetPowerManagementLimit(h) / 1000
        info["temperature_c"] = pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)
    except Exception:  # NVML is optional; the report simply lacks these keys
        pass
    return info


def capture(client_only: bool = False) -> dict[str, Any]:
    """Versions, hardware, git sha and time of this process's environment.

    ``client_only`` (a load test's client, where the server is measured): torch is not imported
    for this (seconds); its threads and CUDA facts are left out unless torch is already loaded.
    """
    __version__ = _version("infermeter")

    if client_only and "torch" not in sys.modules:
        return {**_basics(__version__), "torch_threads": None, "cuda": {"available": None, "note": "client only"}}
    import torch

    return {**_basics(__version__), "torch_threads": torch.get_num_threads(), "cuda": _cuda_info()}


def _basics(version: str | None) -> dict[str, Any]:
    return {
        "infermeter": version,
        "git_sha": git_sha(),
        "time_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hostname": platform.node(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "packages": {p: v for p in _PACKAGES if (v := _version(p))},
    }
