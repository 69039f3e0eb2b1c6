"""Statistics across worker processes: the process as the unit of analysis (``run --processes N``).

Inside one process a mean's CI is over that process's independent units (generate() calls, passes),
and it says how well that process was measured. A fresh process can land elsewhere: allocator
state, kernel and algorithm choices, clocks and memory placement are fixed for a process's life, so
two processes of the same configuration can differ by more than either one's CI. With N processes
each contributes one value per metric (its mean) and the between-process CI is a Student-t interval
over those N values (n = N; none with one process). Values measured once per process (model load,
first call, peak memory) get a CI only this way.

Pure functions of the processes' run reports (plain dicts); nothing here measures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infermeter import stats
from infermeter.metrics import registry


def _peak(view: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: (((r.get("metrics") or {}).get("memory") or {}).get("peak") or {}).get(view)


#: Metrics with one value per process: key (registered in metrics/catalog.py) -> where a run report has it.
ONCE_PER_PROCESS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "load_s": lambda r: (r.get("load") or {}).get("load_s"),
    "first_call_s": lambda r: (r.get("first_call") or {}).get("first_call_s"),
    "steady_call_s": lambda r: (r.get("first_call") or {}).get("steady_call_s"),
    "first_call_overhead_s": lambda r: (r.get("first_call") or {}).get("overhead_s"),
    **{view: _peak(view) for view in ("rss", "torch_allocated", "torch_reserved", "nvml_process")},
}


def within_keys() -> list[str]:
    """Metrics with a within-process summary (and CI): those computed from records, and output throughput."""
    return [m.key for m in registry.computed()] + ["output_throughput"]


def _within(report: dict[str, Any], key: str) -> dict[str, Any] | None:
    m = report.get("metrics") or {}
    return m.get("output_throughput_passes") if key == "output_throughput" else m.get(key)


def _halfwidth(d: dict[str, Any] | None) -> float | None:
    if not d or d.get("ci95_low") is None or d.get("ci95_high") is None:
        return None
    return (d["ci95_high"] - d["ci95_low"]) / 2.0


def coverage(means: list[float | None], cis: list[tuple[float, float] | None]) -> tuple[int, int]:
    """``(covered, checked)``: of every (process i with a CI, other process j) pair, how often j's mean
    lies inside i's within-process CI. A well-calibrated CI that holds across processes covers most."""
    covered = checked = 0
    for i, ci in enumerate(cis):
        if ci is None:
            continue
        for j, m in enumerate(means):
            if j != i and m is not None:
                checked += 1
                covered += ci[0] <= m <= ci[1]
    return covered, checked


def across(values: list[float | None], within: list[dict[str, Any] | None] | None = None) -> dict[str, Any] | None:
    """One metric over processes: ``values[i]`` is process i's value (its mean; None: not measured).

    ``between``: the summary of the process values, its CI over processes (unit = process).
    ``within``: the processes' own summaries, when the metric has one; then ``within_halfwidth`` is
    the mean of their CI half-widths, ``spread_ratio`` = stdev of the process means / that half-width
    (above 1: processes differ by more than one process's CI admits), and ``covered``/``checked``
    count how often a process's CI holds another process's mean.
    """
    got = [float(v) for v in values if v is not None]
    s = stats.summarize(got)
    if s is None:
        return None
    between = s.to_dict()
    out: dict[str, Any] = {
        "per_process": values,
        "between": between,
        "between_halfwidth": _halfwidth(between),
        "within_halfwidth": None,
        "spread_ratio": None,
    }
    if within is None:
        return out
    halves = [h for d in within if (h := _halfwidth(d)) is not None]
    cis = [(d["ci95_low"], d["ci95_high"]) if _halfwidth(d) is not None else None for d in within]  # type: ignore[index]
    wh = sum(halves) / len(halves) if halves else None
    covered, checked = coverage(values, cis)
    out.update(
        within_halfwidths=[_halfwidth(d) for d in within],
        within_halfwidth=wh,
        spread_ratio=between["stdev"] / wh if wh and len(got) >= 2 else None,
        covered=covered,
        checked=checked,
    )
    return out


def across_processes(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``processes`` section of a run measured in ``len(reports)`` fresh processes (their run reports)."""
    metrics: dict[str, Any] = {}
    for key in within_keys():
        within = [_within(r, key) for r in reports]
        d = across([w.get("mean") if w else None for w in within], within)
        if d is not None:
            metrics[key] = d
    for key, get in ONCE_PER_PROCESS.items():
        d = across([get(r) for r in reports])
        if d is not None:
            metrics[key] = d
    return {
        "n": len(reports),
        "unit": registry.PROCESS,
        "runs": [r.get("run_dir") for r in reports],
        "metrics": metrics,
    }
