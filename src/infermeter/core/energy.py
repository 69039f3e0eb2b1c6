"""Energy over a measured window, from the hardware's own cumulative counters.

* CUDA: NVML's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, millijoules since the
  driver loaded; Volta and newer), and its power reading for the peak.
* CPU: RAPL package domains under ``/sys/class/powercap`` (microjoules, wrapping at
  ``max_energy_range_uj``), where the files are readable; often they are root-only, and then energy
  is "not available on this machine".

Both counters are the whole device's (or CPU package's) energy: idle power and any other process on
it are included. Reading a counter is a file read or one NVML call, outside the work being timed; a
sampling thread reads power for the peak every ``interval_s``.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from infermeter.core.memory import nvml_handle

POWERCAP = Path("/sys/class/powercap")
NOT_AVAILABLE = "not available on this machine"


class EnergyCounter(Protocol):
    """A cumulative energy counter."""

    source: str

    def joules(self) -> float:
        """Energy since some fixed origin, in joules (monotonic up to wrap-around)."""
        ...

    def watts(self) -> float | None:
        """Instantaneous power, when the device reports it."""
        ...


class NvmlCounter:
    """NVML total energy (mJ) and power (mW) of one GPU."""

    source = "nvml"

    def __init__(self, handle: Any) -> None:
        import pynvml

        self._nvml, self._h = pynvml, handle
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)  # raises where unsupported

    def joules(self) -> float:
        """Millijoules since driver load, in joules."""
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._h) / 1000.0

    def watts(self) -> float | None:
        """Board power now."""
        return self._nvml.nvmlDeviceGetPowerUsage(self._h) / 1000.0


class RaplCounter:
    """Sum of the RAPL package domains (``intel-rapl:N``; AMD exposes the same interface)."""

    source = "rapl"

    def __init__(self, root: Path = POWERCAP) -> None:
        self.domains = sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1)
        if not self.domains:
            raise OSError(f"no RAPL package domain under {root}")
        self._range = [int((d / "max_energy_range_uj").read_text()) for d in self.domains]
        self._last = [self._read(d) for d in self.domains]
        self._total = 0.0

    @staticmethod
    def _read(d: Path) -> int:
        return int((d / "energy_uj").read_text())

    def joules(self) -> float:
        """Accumulated microjoules of every package since construction, wrap-around undone."""
        for k, d in enumerate(self.domains):
            now = self._read(d)
            delta = now - self._last[k]
            if delta < 0:  # the counter wrapped at max_energy_range_uj
                delta += self._range[k]
            self._total += delta / 1e6
            self._last[k] = now
        return self._total

    def watts(self) -> float | None:
        """RAPL has no instantaneous reading: the window's average stands in."""
        return None


def counter_for(device: str) -> tuple[EnergyCounter | None, str | None]:
    """The energy counter of a device, or None and the reason it is unavailable."""
    if device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else 0
        handle = nvml_handle(index)
        if handle is None:
            return None, f"{NOT_AVAILABLE} (NVML not importable or no permission)"
        try:
            return NvmlCounter(handle), None
        except Exception as err:  # pre-Volta GPUs, or a driver without the counter
            return None, f"{NOT_AVAILABLE} (NVML total energy: {err})"
    try:
        return RaplCounter(), None
    except (OSError, ValueError) as err:  # missing, or root-only files (PermissionError)
        return None, f"{NOT_AVAILABLE} (RAPL: {err})"


@dataclass
class EnergyReading:
    """Energy of one window: joules, seconds, average and peak watts."""

    source: str
    joules: float
    seconds: float
    avg_w: float | None
    peak_w: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


class EnergyWindow:
    """Context manager: the counter's difference over the work inside it, and the peak power.

    ``counter`` None (unavailable) makes ``reading`` None and ``reason`` the why. ``clock`` is any
    object with ``now()`` (the one clock in production, a fake one in tests).
    """

    def __init__(
        self,
        counter: EnergyCounter | None,
        clock: Any,
        interval_s: float = 0.05,
        reason: str | None = None,
    ) -> None:
        self.counter, self.clock, self.interval_s = counter, clock, interval_s
        self.reason = reason
        self.reading: EnergyReading | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak: float | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._observe()

    def _observe(self) -> None:
        w = self.counter.watts() if self.counter is not None else None
        if w is not None:
            self._peak = w if self._peak is None else max(self._peak, w)

    def __enter__(self) -> EnergyWindow:
        if self.counter is None:
            return self
        self._j0, self._t0 = self.counter.joules(), self.clock.now()
        self._observe()
        if self.interval_s > 0:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.counter is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._observe()
        joules = self.counter.joules() - self._j0
        seconds = self.clock.now() - self._t0
        avg = joules / seconds if seconds > 0 else None
        peak = self._peak if self._peak is not None else avg
        self.reading = EnergyReading(self.counter.source, joules, seconds, avg, peak)

    def to_dict(self) -> dict[str, Any] | None:
        """The reading, or None."""
        return self.reading.to_dict() if self.reading else None
