"""Flags of ``infermeter load`` for server metrics, client processes and the SLO search."""

from __future__ import annotations

import argparse
from typing import Any

from infermeter.cli.options import flag_values
from infermeter.errors import InfermeterError


def _share(text: str) -> float:
    t = text.strip()
    try:
        return float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise InfermeterError(f"--slo-target {text!r}: use a share such as 0.9 or 90%") from None


def add_extra_flags(p: argparse.ArgumentParser) -> None:
    """Register the flags on the ``load`` parser."""
    p.add_argument(
        "--server-metrics",
        default="auto",
        help="scrape the server's Prometheus metrics every second during each point: auto (BASE/metrics), off, "
        "or a URL (default auto; a server without them is noted, not an error)",
    )
    p.add_argument(
        "--client-procs",
        type=int,
        default=1,
        help="client processes sharing the seeded arrival schedule, for rates one process cannot send (default 1)",
    )
    p.add_argument(
        "--slo-target",
        default="0.9",
        help="slo-search: share of requests that must meet --slo at a rate (default 0.9, also 90%%)",
    )
    p.add_argument(
        "--search-points",
        type=int,
        default=8,
        help="slo-search: profile points at most, the throughput point included (default 8)",
    )


def extra_options(args: argparse.Namespace) -> dict[str, Any]:
    """The LoadOptions fields these flags set."""
    fields = flag_values(args, "server_metrics", "client_procs", "search_points")
    return {**fields, "slo_target": _share(args.slo_target)}
