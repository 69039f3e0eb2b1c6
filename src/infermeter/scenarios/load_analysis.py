"""The numbers of a load run: per profile point, recomputed from its records (pure functions)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from infermeter.core import stats
from infermeter.core.records import RequestRecord
from infermeter.metrics.goodput import goodput
from infermeter.metrics.latency import e2e, itl, tpot, ttft, values
from infermeter.metrics.throughput import output_throughput
from infermeter.scenarios.load import LoadOptions, Profile, parse_profile
from infermeter.scenarios.load_guard import is_cancelled


def _s(vals: list[float]) -> dict[str, Any] | None:
    s = stats.summarize(vals)
    return s.to_dict() if s else None


def summarize(profile: Profile, records: list[RequestRecord], slo: dict[str, float]) -> dict[str, Any]:
    """One profile point's numbers, from its records (pure)."""
    measured = [r for r in records if r.phase == "load"]
    ok = [r for r in measured if r.ok]
    sends = sorted(r.t_send for r in measured)
    ends = [r.token_times[-1] if r.token_times else r.t_send for r in measured]
    window = (max(ends) - sends[0]) if measured else None
    achieved = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) >= 2 and sends[-1] > sends[0] else None
    # A Poisson schedule's own rate differs from R by chance (~1/sqrt(n)); the client is judged against it.
    sched = sorted(r.extra.get("scheduled_s", 0.0) for r in measured)
    scheduled = (
        (len(sched) - 1) / (sched[-1] - sched[0]) if profile.rate and len(sched) >= 2 and sched[-1] > sched[0] else None
    )
    errors = Counter(r.error for r in records if r.error is not None and not is_cancelled(r.error))
    return {
        "profile": profile.label,
        "kind": profile.kind,
        "target_rate": profile.rate,
        "concurrency": profile.concurrency,
        "requests": {
            "sent": len(records),
            "measured": len(measured),
            "ok": len(ok),
            "errors": sum(errors.values()),
            "short_outputs": sum(r.short for r in ok),
            "cancelled": sum(is_cancelled(r.error) for r in records),  # cut by --duration, not failures
            "output_tokens": sum(r.output_tokens for r in ok),
        },
        "errors_by_reason": dict(errors.most_common()),
        "window_s": window,
        "achieved_rate": achieved,
        "scheduled_rate": scheduled,
        "request_rate": len(ok) / window if window else None,
        "output_throughput": output_throughput(measured),
        "ttft_s": _s(values(ttft, measured)),
        "tpot_s": _s(values(tpot, measured)),
        "itl_s": _s(itl(ok)),
        "e2e_s": _s(values(e2e, measured)),
        "goodput": goodput(measured, slo, window) if slo else None,
    }


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
        points.append(summarize(profile, by_point[i], opts.slo))
    errors = Counter(r.error for r in records if r.error is not None and not is_cancelled(r.error))
    return {
        "options": opts.to_dict(),
        "points": points,
        "errors_total": sum(errors.values()),
        "errors_by_reason": dict(errors.most_common()),
        "stopped": meta.get("stopped"),
    }
