"""Units of analysis: which records are one independent measurement, and summaries over them.

Requests are not independent when they share work: the requests of one in-process ``generate()``
call share its prefill and decode loop (one unit: the batch); values measured once per process
(load time, first call, peak memory) have the process as their unit; over HTTP every request is
sent on its own and is a unit. The unit is recorded in each record's ``extra["unit"]`` when it is
measured (``process/batch`` or ``process/batch/request``); records written before that fall back
to their batch id.

Every mean's CI in a report comes from :func:`per_request` / :func:`per_gap` here (or from values
that are one per unit already, such as per-batch decode TPS), through
:func:`infermeter.stats.summarize`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from infermeter import stats
from infermeter.core.records import RequestRecord


def unit_of(r: RequestRecord) -> str:
    """The independent unit a record belongs to (its generate() call in-process, itself over HTTP)."""
    u = r.extra.get("unit") if r.extra else None
    return str(u) if u is not None else f"batch{r.batch_id}"


def process_of(r: RequestRecord) -> str:
    """The worker process a record was measured in ("" when not recorded)."""
    return str((r.extra or {}).get("process", ""))


def pass_of(r: RequestRecord) -> int:
    """Which pass over the dataset a record belongs to (``run`` repeats the pass for more units)."""
    return int(r.repeat or 0)


def per_request(fn: Callable[[RequestRecord], float | None], records: Iterable[RequestRecord]) -> dict | None:
    """Summary of a per-request metric: percentiles over requests, the mean's CI over units."""
    vals, units = [], []
    for r in records:
        if r.ok:
            v = fn(r)
            if v is not None:
                vals.append(v)
                units.append(unit_of(r))
    return stats.summary_dict(vals, units)


def per_gap(records: Iterable[RequestRecord]) -> dict | None:
    """Pooled inter-token gaps (vLLM's ITL), each gap carrying its request's unit."""
    vals, units = [], []
    for r in records:
        if not r.ok:
            continue
        t, u = r.token_times, unit_of(r)
        for i in range(len(t) - 1):
            vals.append(t[i + 1] - t[i])
            units.append(u)
    return stats.summary_dict(vals, units)


def unit_means(fn: Callable[[RequestRecord], float | None], records: Iterable[RequestRecord]) -> list[float]:
    """One value per unit: the mean of ``fn`` over the unit's requests (what a test may compare)."""
    sums: dict[str, list[float]] = {}
    for r in records:
        if r.ok and (v := fn(r)) is not None:
            sums.setdefault(unit_of(r), []).append(v)
    return [sum(v) / len(v) for v in sums.values()]


def gap_unit_means(records: Iterable[RequestRecord]) -> list[float]:
    """One mean inter-token gap per unit (pooled over the unit's requests)."""
    acc: dict[str, list[float]] = {}
    for r in records:
        if r.ok and len(r.token_times) >= 2:
            a = acc.setdefault(unit_of(r), [0.0, 0.0])
            a[0] += r.token_times[-1] - r.token_times[0]
            a[1] += len(r.token_times) - 1
    return [s / n for s, n in acc.values() if n > 0]


def by_pass(records: Iterable[RequestRecord]) -> dict[int, list[RequestRecord]]:
    """Records grouped by dataset pass, in pass order."""
    out: dict[int, list[RequestRecord]] = {}
    for r in records:
        out.setdefault(pass_of(r), []).append(r)
    return dict(sorted(out.items()))


def counts(records: Iterable[RequestRecord]) -> dict[str, Any]:
    """How many requests, units and processes stand behind a set of records."""
    rs = list(records)
    return {
        "requests": len(rs),
        "units": len({unit_of(r) for r in rs}),
        "processes": len({process_of(r) for r in rs}),
    }
