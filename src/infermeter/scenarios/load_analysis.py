"""The numbers of a load run: per profile point, recomputed from its records (pure functions)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from infermeter.core.records import RequestRecord
from infermeter.scenarios.load_extras import enrich
from infermeter.scenarios.load_guard import is_cancelled
from infermeter.scenarios.load_points import summarize
from infermeter.scenarios.load_profiles import LoadOptions, Profile, parse_profile


def load_warnings(points: list[dict[str, Any]], stopped: str | None) -> list[str]:
    """Lines saying where a number should not be trusted."""
    out = [stopped] if stopped else []
    for p in points:
        req, target, got = p["requests"], p.get("scheduled_rate") or p["target_rate"], p["achieved_rate"]
        if req["errors"]:
            out.append(f"{p['profile']}: {req['errors']} of {req['sent']} requests failed")
        if target and got and got < 0.9 * target:
            out.append(
                f"{p['profile']}: sent {got:.2f} req/s, below the schedule's {target:.2f} (the client fell behind)"
            )
        if req["short_outputs"]:
            out.append(f"{p['profile']}: {req['short_outputs']} forced-length outputs came back shorter than asked")
        if req["measured"] < 2:
            out.append(f"{p['profile']}: {req['measured']} request(s) in the measured window: numbers are not stable")
    return out


def assemble(records: list[RequestRecord], opts: LoadOptions, meta: dict[str, Any]) -> dict[str, Any]:
    """The report's ``load_run`` section, recomputed from the records (so partial runs report too)."""
    by_point: dict[int, list[RequestRecord]] = {}
    for r in records:
        by_point.setdefault(int(r.extra.get("point", 0)), []).append(r)
    points = []
    for i in sorted(by_point):
        label = by_point[i][0].extra.get("profile", opts.profile)
        profile = parse_profile(label, opts.max_concurrency) or Profile("synchronous")
        points.append(summarize(profile, by_point[i], opts.slo, opts))
    errors = Counter(r.error for r in records if r.error is not None and not is_cancelled(r.error))
    run = {
        "options": opts.to_dict(),
        "points": points,
        "errors_total": sum(errors.values()),
        "errors_by_reason": dict(errors.most_common()),
        "stopped": meta.get("stopped"),
    }

    enrich(run, by_point, opts, meta)
    return run
