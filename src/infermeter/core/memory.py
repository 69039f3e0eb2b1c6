"""Peak memory over a measured window.

Three views, each named in reports because they answer different questions:

* ``torch_allocated`` / ``torch_reserved``: ``torch.cuda.max_memory_allocated/reserved`` since the
  window started (peak stats are reset at the start): tensors vs. what the caching allocator holds.
* ``nvml_process``: what the driver says this process uses on the GPU (includes the CUDA context);
  sampled, so a short spike between samples can be missed.
* ``rss``: the process's peak resident set. On Linux the kernel keeps the exact high-water mark
  (``VmHWM``) and lets us reset it (``/proc/self/clear_refs`` = 5), so no sampling is needed there;
  elsewhere it is sampled.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import asdict, dataclass
from typing import Any

import psutil

_HWM = re.compile(r"VmHWM:\s+(\d+) kB")


def _read_hwm() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            m = _HWM.search(f.read())
    except OSError:
        return None
    return int(m.group(1)) * 1024 if m else None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return _read_hwm() is not None


_TRACKED: list[int] = []  # GPU indices of a model spread over several GPUs (this worker process only)


def track_devices(devices: list[str]) -> None:
    """Report peak memory per GPU for these devices (``cuda:N``) in every later window of this process."""
    _TRACKED[:] = [int(d.split(":")[1]) for d in devices if d.startswith("cuda:")]


@dataclass
class MemoryPeak:
    """Peak bytes over one window; ``None`` where a view is not available on this device."""

    rss: int
    rss_method: str  # "vmhwm" (exact kernel high-water mark) or "sampled"
    torch_allocated: int | None = None
    torch_reserved: int | None = None
    nvml_process: int | None = None
    # A model over several GPUs: torch's peak allocated bytes per GPU (torch_allocated is then their sum)
    per_device: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``per_device`` only for a model over several GPUs)."""
        out = asdict(self)
        if out["per_device"] is None:
            del out["per_device"]
        return out


def nvml_handle(device_index: int) -> Any:
    """An NVML handle for a GPU, or None when NVML is unavailable."""
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml.nvmlDeviceGetHandleByIndex(device_index)
    except Exception:  # NVML missing or no permission: the view is simply absent
        return None


def nvml_process_bytes(handle: Any) -> int | None:
    """GPU memory NVML attributes to this process, or None."""
    import pynvml

    pid = os.getpid()
    try:
        procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
    except Exception:
        return None
    used = [p.usedGpuMemory for p in procs if p.pid == pid and p.usedGpuMemory is not None]
    return max(used) if used else None


class MemoryWindow:
    """Context manager measuring peak memory of the work inside it.

    The sampling thread (NVML on CUDA, RSS where VmHWM is unavailable) wakes every ``interval_s``;
    it holds the GIL only for a few microseconds per sample.
    """

    def __init__(self, device: str = "cpu", interval_s: float = 0.05) -> None:
        self.device = device
        self.interval_s = interval_s
        self.cuda = device.startswith("cuda")
        self.peak: MemoryPeak | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml = None
        self._nvml_peak: int | None = None
        self._rss_peak = 0

    def result(self) -> MemoryPeak:
        """The window's peaks, once it has closed."""
        if self.peak is None:
            raise RuntimeError("MemoryWindow.result() before the window closed")
        return self.peak

    def _sample(self) -> None:
        proc = psutil.Process()
        while True:
            if not self._exact_rss:
                self._rss_peak = max(self._rss_peak, proc.memory_info().rss)
            if self._nvml is not None:
                b = nvml_process_bytes(self._nvml)
                if b is not None:
                    self._nvml_peak = max(self._nvml_peak or 0, b)
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> MemoryWindow:
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            for i in _TRACKED:
                torch.cuda.synchronize(i)
                torch.cuda.reset_peak_memory_stats(i)
            index = torch.device(self.device).index or 0
            self._nvml = nvml_handle(index)
        self._exact_rss = _reset_hwm()
        if self._nvml is not None or not self._exact_rss:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        alloc = reserved = None
        per: dict[str, int] | None = None
        if self.cuda:
            import torch

            torch.cuda.synchronize()
            alloc = torch.cuda.max_memory_allocated()
            reserved = torch.cuda.max_memory_reserved()
            if len(_TRACKED) > 1:
                per = {}
                for i in _TRACKED:
                    torch.cuda.synchronize(i)
                    per[f"cuda:{i}"] = torch.cuda.max_memory_allocated(i)
                alloc = sum(per.values())
                reserved = sum(torch.cuda.max_memory_reserved(i) for i in _TRACKED)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._nvml is not None:
            b = nvml_process_bytes(self._nvml)
            if b is not None:
                self._nvml_peak = max(self._nvml_peak or 0, b)
        if self._exact_rss:
            rss, method = _read_hwm() or 0, "vmhwm"
        else:
            rss, method = max(self._rss_peak, psutil.Process().memory_info().rss), "sampled"
        self.peak = MemoryPeak(rss, method, alloc, reserved, self._nvml_peak, per)


def merge_peaks(peaks: list[MemoryPeak]) -> MemoryPeak | None:
    """The largest value of each view over several windows."""
    if not peaks:
        return None

    def top(name: str) -> int | None:
        vals = [getattr(p, name) for p in peaks if getattr(p, name) is not None]
        return max(vals) if vals else None

    methods = {p.rss_method for p in peaks}
    return MemoryPeak(
        rss=top("rss") or 0,
        rss_method=methods.pop() if len(methods) == 1 else "mixed",
        torch_allocated=top("torch_allocated"),
        torch_reserved=top("torch_reserved"),
        nvml_process=top("nvml_process"),
        per_device=_top_per_device(peaks),
    )


def _top_per_device(peaks: list[MemoryPeak]) -> dict[str, int] | None:
    """The largest per-GPU peak over several windows (None when no window had one)."""
    out: dict[str, int] = {}
    for p in peaks:
        for dev, b in (p.per_device or {}).items():
            out[dev] = max(out.get(dev, 0), b)
    return out or None
