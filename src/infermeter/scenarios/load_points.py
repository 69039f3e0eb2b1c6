"""One load profile point's numbers, from its records (pure; used live by the sweep profile too)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from infermeter import stats
from infermeter.core.records import RequestRecord
from infermeter.metrics.goodput import goodput
from infermeter.metrics.latency import e2e, itl, tpot, ttft, values
from infermeter.metrics.throughput import output_throughput
from infermeter.scenarios.load_guard import is_cancelled
from infermeter.scenarios.load_options import DEFAULT_PERCENTILES, percentiles_of, window_phases
from infermeter.scenarios.load_turns import by_turn, total_token_throughput

if TYPE_CHECKING:
    from infermeter.scenarios.load_profiles import LoadOptions, Profile


def _s(vals: list[float], pcts: tuple[float, ...] = DEFAULT_PERCENTILES) -> dict[str, Any] | None:
    """The summary of ``vals`` with the load test's chosen percentiles beside it (``--percentiles``)."""
    s = stats.summary_dict(vals)
    return {**s, **percentiles_of(vals, pcts)} if s else None


def summarize(
    profile: Profile, records: list[RequestRecord], slo: dict[str, float], opts: LoadOptions | None = None
) -> dict[str, Any]:
    """One profile point's numbers, from its records (pure)."""
    pcts = opts.percentiles if opts else DEFAULT_PERCENTILES
    records = window_phases(records, opts) if opts else records
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
            "input_tokens": sum(r.prompt_tokens for r in ok),
        },
        "errors_by_reason": dict(errors.most_common()),
        "window_s": window,
        "achieved_rate": achieved,
        "scheduled_rate": scheduled,
        "request_rate": len(ok) / window if window else None,
        "output_throughput": output_throughput(measured),
        "total_token_throughput": total_token_throughput(ok, window),
        "ttft_s": _s(values(ttft, measured), pcts),
        "tpot_s": _s(values(tpot, measured), pcts),
        "itl_s": _s(itl(ok), pcts),
        "e2e_s": _s(values(e2e, measured), pcts),
        "turns": by_turn(measured, pcts),
        "goodput": goodput(measured, slo, window) if slo else None,
    }
