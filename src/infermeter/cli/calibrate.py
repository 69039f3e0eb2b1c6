"""``infermeter calibrate``: measure this device's ceilings once (cached) for the roofline."""

from __future__ import annotations

import argparse
import json
from typing import Any

from infermeter.core.calibrate import calibrate
from infermeter.core.device import resolve_device

_EPILOG = """examples:
  infermeter calibrate                      # the default device (CUDA when visible, else CPU)
  infermeter calibrate --device cpu --force # measure again, replacing the cached figures
Reports of `run` read the cached figures to say what share of the memory bandwidth (decode) and
matmul throughput (prefill) a model reached; without them they say "run infermeter calibrate".
"""


def _rate(d: dict[str, Any] | None, scale: float, unit: str) -> list[str]:
    if not d or d.get("mean") is None:
        return ["-", "-", "-"]
    ci = f"[{d['ci95_low'] / scale:,.1f}, {d['ci95_high'] / scale:,.1f}]" if d["n"] > 1 else "-"
    return [f"{d['mean'] / scale:,.1f} {unit}", ci, str(d["n"])]


def render(data: dict[str, Any], cached: bool) -> None:
    """Print the ceilings with their 95% CIs."""
    from rich.console import Console
    from rich.table import Table

    ident = data["identity"]
    where = "cached" if cached else "measured"
    t = Table(title=f"calibration of {ident['name']} ({ident['device']}), {where} {data['time_utc']}")
    for col in ("ceiling", "mean", "95% CI", "n"):
        t.add_column(col)
    t.add_row("memory copy bandwidth (read + write)", *_rate(data["copy_bandwidth"], 1e9, "GB/s"))
    if data.get("h2d_bandwidth"):
        t.add_row("host-to-device bandwidth (pinned)", *_rate(data["h2d_bandwidth"], 1e9, "GB/s"))
    gpu = ident["device"] == "cuda"
    for name, d in data["matmul"].items():
        rate = _rate(d, 1e12, "TFLOP/s") if gpu else _rate(d, 1e9, "GFLOP/s")
        t.add_row(f"matmul {name} ({d.get('side', '?')}x{d.get('side', '?')})", *rate)
    console = Console()
    console.print(t)
    if data.get("path"):
        console.print(f"cached in {data['path']} (--force measures again)")


def _cmd_calibrate(args: argparse.Namespace) -> int:

    device = resolve_device(args.device)
    data, cached = calibrate(device, force=args.force, repeats=args.repeats, quick=args.quick)
    if args.json:
        print(json.dumps(data, indent=1))
    else:
        render(data, cached)
    return 0


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``calibrate``; return its handler."""
    p = sub.add_parser(
        "calibrate",
        help="measure this device's memory bandwidth and matmul throughput (cached) for the roofline",
        description="Measure memory copy bandwidth, matmul throughput per dtype and host-to-device "
        "bandwidth once, with 95%% CIs, and cache them per device (name, driver, clocks; CPU model).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    p.add_argument("--force", action="store_true", help="measure again even when cached figures exist")
    p.add_argument("--repeats", type=int, default=10, help="timed samples per figure (default 10)")
    p.add_argument("--quick", action="store_true", help="CPU only: small buffers (seconds; a rough figure)")
    p.add_argument("--json", action="store_true", help="print the calibration as JSON")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return {"calibrate": _cmd_calibrate}
