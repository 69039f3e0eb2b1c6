"""Device ceilings, measured once and cached: what the roofline compares a run against.

* ``copy_bandwidth``: ``dst.copy_(src)`` of a large buffer; bytes read plus bytes written per second
  (the memory traffic a decode step's weight read competes with).
* ``matmul``: square matmuls per dtype (bfloat16, float16, float32; on CUDA also TF32), 2 n^3 FLOPs.
* ``h2d_bandwidth`` (CUDA): pinned host memory to the device.

Each figure is ``repeats`` timed samples (after warm-up) summarized with a 95% CI. Results are cached
per device identity (GPU name, driver, max clocks; or the CPU model and thread count) under the
project's cache folder, ``calibration/<key>.json``; ``force`` re-measures.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infermeter import stats
from infermeter.core.cache_dir import cache_root
from infermeter.core.clock import clock_for
from infermeter.core.environment import _cpu_model

VERSION = 1


def identity(device: str) -> dict[str, Any]:
    """What makes two calibrations comparable: the device's model, driver and clocks."""
    import torch

    if device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else 0
        ident: dict[str, Any] = {"device": "cuda", "name": torch.cuda.get_device_name(index)}
        try:
            import pynvml

            pynvml.nvmlInit()
            h = pynvml.nvmlDeviceGetHandleByIndex(index)
            ident["driver"] = pynvml.nvmlSystemGetDriverVersion()
            ident["sm_clock_max_mhz"] = pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_SM)
            ident["mem_clock_max_mhz"] = pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_MEM)
        except Exception:  # NVML missing: name alone identifies the device
            pass
        return ident
    return {"device": "cpu", "name": _cpu_model(), "threads": torch.get_num_threads()}


def key_of(ident: dict[str, Any]) -> str:
    """A file-name-safe key: a readable slug of the name plus a hash of the whole identity."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(ident.get("name", "device"))).strip("-")[:40]
    digest = hashlib.blake2b(json.dumps(ident, sort_keys=True).encode(), digest_size=4).hexdigest()
    return f"{ident['device']}-{slug}-{digest}"


def path_for(ident: dict[str, Any]) -> Path:
    """Where the calibration of this device is cached."""
    return cache_root() / "calibration" / f"{key_of(ident)}.json"


def load(ident: dict[str, Any]) -> dict[str, Any] | None:
    """The cached calibration of this device, or None."""
    p = path_for(ident)
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("version") == VERSION else None


def lookup_for_environment(env: dict[str, Any] | None, device: str) -> dict[str, Any] | None:
    """The cached calibration matching a report's environment and device (no torch call needed)."""
    root = cache_root() / "calibration"
    if not env or not root.is_dir():
        return None
    cuda = env.get("cuda") or {}
    want = "cuda" if device.startswith("cuda") else "cpu"
    name = (cuda.get("devices") or [None])[0] if want == "cuda" else env.get("cpu")
    for p in sorted(root.glob(f"{want}-*.json")):
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        ident = data.get("identity") or {}
        if data.get("version") != VERSION or ident.get("name") != name:
            continue
        if want == "cuda" and ident.get("driver") and cuda.get("driver") and ident["driver"] != cuda["driver"]:
            continue
        return data
    return None


def _timed(fn: Callable[[], Any], sync: Callable[[], float], repeats: int, warmup: int = 2) -> list[float]:
    """Seconds per call of ``fn``, one sample per call, the device drained around each."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = sync()
        fn()
        out.append(sync() - t0)
    return out


def _summary(rates: list[float]) -> dict[str, Any]:
    s = stats.summarize(rates)
    return s.to_dict() if s else {}


def sizes_for(device: str, quick: bool = False) -> dict[str, int]:
    """Buffer bytes and matrix sides: large enough to leave caches and launch overhead behind."""
    if device.startswith("cuda"):
        return {"copy_bytes": 2**30, "h2d_bytes": 2**28, "matmul_n": 8192, "matmul_n_fp32": 4096}
    # CPUs without bf16 matrix units run bfloat16 matmuls ~10x slower than float32: a smaller side
    # keeps calibration within seconds there, and still far above launch overhead.
    if quick:
        return {"copy_bytes": 2**25, "h2d_bytes": 0, "matmul_n": 128, "matmul_n_fp32": 256}
    return {"copy_bytes": 2**28, "h2d_bytes": 0, "matmul_n": 512, "matmul_n_fp32": 1024}


def measure(device: str, repeats: int = 10, quick: bool = False) -> dict[str, Any]:
    """Measure this device's ceilings now (seconds to a minute); returns the calibration dict."""
    import torch

    clock = clock_for(device)
    sync = clock.synced_now
    size = sizes_for(device, quick)
    copy_s = _copy_seconds(device, size["copy_bytes"], sync, repeats)  # buffers freed on return
    out: dict[str, Any] = {
        "copy_bandwidth": {**_summary([2 * size["copy_bytes"] / t for t in copy_s]), "unit": "bytes/s"},
        "matmul": {},
        "sizes": size,
    }
    # float16 on a CPU is an emulated path nobody serves with: measured on CUDA only, like TF32.
    dtypes = ["bfloat16", "float32"] + (["float16", "tf32"] if device.startswith("cuda") else [])
    for name in dtypes:
        out["matmul"][name] = _matmul(device, name, size, sync, repeats)
    if device.startswith("cuda") and size["h2d_bytes"]:
        host = torch.empty(size["h2d_bytes"], dtype=torch.uint8).pin_memory()
        gpu = torch.empty(size["h2d_bytes"], dtype=torch.uint8, device=device)
        h2d_s = _timed(lambda: gpu.copy_(host, non_blocking=True), sync, repeats)
        out["h2d_bandwidth"] = {**_summary([size["h2d_bytes"] / t for t in h2d_s]), "unit": "bytes/s"}
    return out


def _copy_seconds(device: str, nbytes: int, sync: Callable[[], float], repeats: int) -> list[float]:
    import torch

    src = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    return _timed(lambda: dst.copy_(src), sync, repeats)


def _matmul(device: str, name: str, size: dict[str, int], sync: Callable[[], float], repeats: int) -> dict:
    import torch

    dtype = torch.float32 if name in ("float32", "tf32") else getattr(torch, name)
    n = size["matmul_n_fp32"] if name == "float32" else size["matmul_n"]
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    c = torch.empty(n, n, device=device, dtype=dtype)
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = name == "tf32"  # plain float32 means IEEE fp32 here
    try:
        secs = _timed(lambda: torch.matmul(a, b, out=c), sync, repeats)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    return {**_summary([2 * n**3 / t for t in secs]), "unit": "FLOP/s", "side": n}


def calibrate(device: str, *, force: bool = False, repeats: int = 10, quick: bool = False) -> tuple[dict, bool]:
    """The device's calibration and whether it came from the cache; measured and cached when needed."""
    ident = identity(device)
    if not force:
        cached = load(ident)
        if cached is not None:
            return cached, True
    data = {
        "version": VERSION,
        "identity": ident,
        "time_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "repeats": repeats,
        **measure(device, repeats, quick),
    }
    p = path_for(ident)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=1))
    data["path"] = str(p)
    return data, False


NOT_CALIBRATED = "no calibration for this device: run `infermeter calibrate` to see the share of its limits"
