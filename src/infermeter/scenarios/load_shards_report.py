"""The report's view of ``--client-shards``: where each shard ran, its clock, and its request counts.

Pure functions of what the driver learned at start (:meth:`ClientShards.describe`) and of the records
(each carries ``extra.shard``), so the section is recomputed like the rest of a load report.
"""

from __future__ import annotations

from typing import Any

from infermeter.scenarios.load_profiles import concurrency_part, parse_profile


def planned_share(max_requests: int | None, shard: int, n: int, slots: int | None = None) -> int | None:
    """Requests shard ``shard`` of ``n`` sends in a point of ``max_requests`` (None: limited by time);
    ``slots``: a concurrency point's concurrency (fewer slots than shards: only the first ones send)."""
    sending = n if slots is None else concurrency_part(slots, shard, n)[0]
    if max_requests is None:
        return None
    return len(range(shard, max_requests, sending)) if shard < sending else 0


def _slots(recs: list[Any], opts: Any) -> int | None:
    """The concurrency a point's shards shared (None for a rate profile)."""
    label = recs[0].extra.get("profile", opts.profile) if recs else opts.profile
    profile = parse_profile(label, opts.max_concurrency)
    c = profile.concurrency if profile is not None else None
    return None if c is None else min(c, opts.concurrency_cap or c)


def shards_section(
    described: dict[str, Any] | None, by_point: dict[int, list[Any]], opts: Any
) -> dict[str, Any] | None:
    """The report's ``client_shards``: each shard's node, clock offset and its request counts per point."""
    if not described:
        return None
    out = {k: v for k, v in described.items() if k != "shards"}
    out["shards"] = []
    n = len(described["shards"])
    for s in described["shards"]:
        got = [sum(r.extra.get("shard") == s["shard"] for r in recs) for _, recs in sorted(by_point.items())]
        planned = [
            planned_share(opts.max_requests, s["shard"], n, _slots(recs, opts)) for _, recs in sorted(by_point.items())
        ]
        out["shards"].append({**s, "requests": got, "requests_planned": planned})
    return out


def shard_warnings(section: dict[str, Any] | None) -> list[str]:
    """A line for every group of shards that share a node (the cluster has fewer nodes than shards)."""
    if not section:
        return []
    out, seen = [], set()
    for s in section["shards"]:
        if s["shares_node_with"] and s["shard"] not in seen:
            group = sorted([s["shard"], *s["shares_node_with"]])
            seen.update(group)
            out.append(f"client shards {', '.join(map(str, group))} share one node ({s['host']}, node "
                       f"{str(s['node_id'])[:12]}): they compete for its CPU and network")  # fmt: skip
    return out
