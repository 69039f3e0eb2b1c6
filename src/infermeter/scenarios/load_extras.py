"""Options of ``infermeter load`` beyond a single profile: server metrics, client processes, SLO search.

Kept apart from :mod:`infermeter.scenarios.load` so that module stays about driving one client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from infermeter.scenarios.load_profiles import parse_profile, sweep_profiles
from infermeter.scenarios.load_shards_report import shard_warnings, shards_section
from infermeter.scenarios.load_timeline import client_lag, lag_warning, point_spans, schedule_warning, timeline
from infermeter.scenarios.server_metrics import section
from infermeter.scenarios.slo_search import search_profiles, search_state


def profiles_for(opts: Any) -> Callable[[list[dict[str, Any]]], Any]:
    """The point sequence of a run: an SLO search, a sweep or a single profile."""

    return search_profiles(opts) if opts.profile == "slo-search" else sweep_profiles(opts)


def pool_size(opts: Any) -> int:
    """Keep-alive connections to open before the first point: what the run will hold in flight at most."""

    p = parse_profile(opts.profile, opts.max_concurrency)
    n = p.concurrency if p is not None and p.concurrency else opts.max_concurrency
    return max(1, -(-n // max(opts.client_procs, getattr(opts, "client_shards", None) or 1)))  # per client


async def warm_pool(client: Any, n: int) -> int:
    """Open ``n`` keep-alive connections (concurrent ``GET /v1/models``) before anything is measured.

    A measured request that first has to connect pays the TCP handshake in its TTFT; real traffic
    to a busy server arrives on open connections. Returns how many answered.
    """
    results = await asyncio.gather(*(client.models() for _ in range(n)), return_exceptions=True)
    return sum(not isinstance(r, BaseException) for r in results)


def enrich(run: dict[str, Any], by_point: dict[int, list[Any]], opts: Any, meta: dict[str, Any]) -> None:
    """Add to a load run's report section what its records and the scraped metrics say beyond the
    per-point numbers: the client's own lag per point, the server's metrics, a timeline, the SLO search."""

    for p, (_, recs) in zip(run["points"], sorted(by_point.items()), strict=True):
        p["client"] = client_lag(recs)
    t0 = min((r.t_send for rs in by_point.values() for r in rs), default=None)
    spans = point_spans(by_point)
    url = meta.get("server_metrics_url", None if opts.server_metrics == "off" else opts.server_metrics)
    run["server_metrics"] = section(url, meta.get("scraper"), spans, t0)
    run["timeline"] = timeline(by_point, t0) if t0 is not None else None
    run["connections_warmed"] = meta.get("connections_warmed")
    if meta.get("client_shards"):  # --client-shards: each shard's node, clock offset and request counts
        run["client_shards"] = shards_section(meta["client_shards"], by_point, opts)
    if opts.profile == "slo-search":
        state = search_state(run["points"], opts)
        state.pop("next_rate")
        run["slo_search"] = state


def extra_warnings(run: dict[str, Any]) -> list[str]:
    """Lines about the client's own lag and the server's missing metrics."""

    out = []
    for p in run.get("points") or []:
        line = lag_warning(p["profile"], (p.get("client") or {}).get("send_lag_s"), p.get("ttft_s"))
        if line:
            out.append(line)
        line = schedule_warning(p["profile"], p.get("client"))
        if line:
            out.append(line)
    out += shard_warnings(run.get("client_shards"))
    sm = run.get("server_metrics") or {}
    if sm.get("url") and not sm.get("available"):
        out.append(f"server metrics: {sm.get('note')}")
    return out


def save_samples(run_dir: Any, scraper: Any) -> None:
    """The scraped server metrics beside the records: ``server_metrics.jsonl``, one sample a line."""
    import json

    if scraper is None or not scraper.raw:
        return
    with open(run_dir / "server_metrics.jsonl", "w", encoding="utf-8") as f:
        for s in scraper.samples():
            f.write(json.dumps(s) + "\n")
