"""Flags of ``infermeter load`` for server metrics, client processes and shards, and the SLO search."""

from __future__ import annotations

import argparse
from typing import Any

from infermeter.cli.options import flag_values
from infermeter.errors import InfermeterError
from infermeter.executors.ray_exec import check_reachable, import_ray


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
    g = p.add_argument_group("client shards (load from several machines)")
    g.add_argument(
        "--executor",
        choices=("local", "ray"),
        default=None,
        help="local: the client runs on this host (default); ray: as --client-shards Ray actors, on different "
        "nodes of the cluster where it has enough (pip install 'infermeter[ray]')",
    )
    g.add_argument(
        "--client-shards",
        type=int,
        metavar="N",
        help="with --executor ray: Ray actors sharing the seeded arrival schedule (default 1); each measures its "
        "requests with its own host's clock, the report gives each host's clock offset",
    )
    g.add_argument("--ray-address", metavar="ADDR", help="auto | HOST:PORT (none: start a local Ray for the command)")
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
    fields = flag_values(args, "server_metrics", "client_procs", "ray_address", "client_shards", "search_points")
    executor = args.executor or ("ray" if args.ray_address else "local")
    return {**fields, "executor": executor, "slo_target": _share(args.slo_target)}


def ray_ready(opts: Any) -> None:
    """With ``--executor ray``: Ray is installed and ``--ray-address`` answers (one line otherwise),
    checked before a run folder is made."""
    opts.validate()
    if opts.executor != "ray":
        return
    import_ray()
    if opts.ray_address not in (None, "auto"):
        check_reachable(opts.ray_address)
