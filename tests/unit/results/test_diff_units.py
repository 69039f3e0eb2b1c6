"""``diff`` as a CI gate: simulated runs with batch-correlated noise, through the real metric pipeline.

Each simulated run is ``passes`` passes of one batch of 4 requests whose TTFT and decode speed share
the batch's noise (one prefill, one decode loop), as an in-process ``run`` produces them.
"""

from __future__ import annotations

import numpy as np

from infermeter.core.records import RequestRecord
from infermeter.metrics import compute as summary
from infermeter.results.diff import REGRESSED, diff_runs, regressions
from infermeter.results.measurements import measurements_from_report

TOKENS = 4


def _run(rng: np.random.Generator, passes: int, slow: float = 1.0, noise: float = 0.02) -> dict:
    """A run report's metrics + records: TTFT ~0.1 s, 0.01 s per token, ``noise`` per batch;
    ``slow`` stretches every duration (1.1: 10% slower, throughput / 1.1)."""
    recs, t = [], 0.0
    for p in range(passes):
        b = slow * (1.0 + noise * rng.standard_normal())  # the batch's shared slowness
        for i in range(4):
            t_send = t
            first = t_send + 0.1 * b * (1 + 0.002 * rng.standard_normal())
            times = [first + k * 0.01 * b for k in range(TOKENS)]
            unit = f"proc/b{p}"
            recs.append(RequestRecord(f"{p}-{i}", "dataset", p, 4, 16, t_send, times, repeat=p,
                                      extra={"unit": unit}))  # fmt: skip
        t = max(r.token_times[-1] for r in recs) + 1.0
    metrics = summary.compute(recs, [], 0)
    return {"kind": "run", "metrics": metrics, "records": [r.to_dict() for r in recs]}


def _meas(report: dict) -> dict:
    return {m["name"]: m for m in measurements_from_report(report)}


def test_one_batch_runs_are_untestable_not_regressed() -> None:
    rng = np.random.default_rng(0)
    a, b = _meas(_run(rng, 1)), _meas(_run(rng, 1, slow=1.06))
    rows = {r.name: r for r in diff_runs(a, b)}
    assert rows["ttft_s"].p is None and rows["ttft_s"].verdict.startswith("untestable")
    assert regressions(list(rows.values()), 0.05) == []


def test_aa_diffs_flag_under_5_percent() -> None:
    rng = np.random.default_rng(1)
    flagged = 0
    for _ in range(1000):
        rows = diff_runs(_meas(_run(rng, 3)), _meas(_run(rng, 3)))
        flagged += any(r.verdict == REGRESSED for r in rows)
    assert flagged < 50, flagged


def test_a_10_percent_throughput_regression_is_caught() -> None:
    # throughput x 0.9 with 1% noise per pass, 3 passes a side (at 2% noise, 3 units catch it about
    # half the time: docs/benchmarks.md; more --repeats then)
    rng = np.random.default_rng(2)
    caught = 0
    for _ in range(200):
        rows = diff_runs(_meas(_run(rng, 3, noise=0.01)), _meas(_run(rng, 3, slow=1 / 0.9, noise=0.01)))
        caught += any(r.name == "output_throughput" for r in regressions(rows, 0.05))
    assert caught >= 160, caught
