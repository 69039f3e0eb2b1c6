"""Trace replay keeps its schedule: each request's recorded send lag (actual send minus scheduled time)
is within 5 ms for nearly all requests, against the null server on loopback.

The assertion is on the lags the client recorded, not on this test's wall clock: 40 requests at 20
requests/s leave the event loop idle between sends. A machine at load average 8 still delays a few
wake-ups past 5 ms (37 of 40 on time was seen), so the test asks for 90% and a median under 5 ms; the
report's own check (warn above 5% late) is asserted to agree with the records, whichever way it goes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infermeter.scenarios.load_timeline import LATE_SHARE_MAX, SCHEDULE_BOUND_S

from .conftest import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.serial]

N, GAP_MS = 40, 50


def test_trace_requests_leave_within_5ms_of_their_schedule(tmp_path: Path, null_server) -> None:  # noqa: ANN001
    srv = null_server("--tokens", "8", "--pace-ms", "1")
    trace = tmp_path / "trace.jsonl"
    lines = [{"timestamp": GAP_MS * k + (7 if k % 3 else 0), "input_length": 16, "output_length": 8} for k in range(N)]
    trace.write_text("".join(json.dumps(line) + "\n" for line in lines))
    proc = run_cli("load", "--json", "--base-url", srv.url, "--dataset", str(trace), "--output", str(tmp_path / "r"),
                   "--db", "off", "--server-metrics", "off", "--set", "tokenizer=qwen", tmp=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(proc.stdout)
    (point,) = rep["load_run"]["points"]
    recs = [json.loads(x) for x in (Path(rep["run_dir"]) / "records.jsonl").read_text().splitlines()]
    assert point["profile"] == "trace:1" and len(recs) == N and all(r["error"] is None for r in recs)
    by_k = sorted(recs, key=lambda r: r["extra"]["k"])
    lags = [r["extra"]["send_lag_s"] for r in by_k]
    for r, line in zip(by_k, lines, strict=True):
        assert r["extra"]["scheduled_s"] == pytest.approx(line["timestamp"] / 1000)  # the schedule is the trace
    # The lag is measured against the schedule: send time - lag - scheduled offset is one start time.
    starts = [r["t_send"] - r["extra"]["send_lag_s"] - r["extra"]["scheduled_s"] for r in by_k]
    assert max(starts) - min(starts) < 1e-6
    on_time = sum(abs(lag) <= SCHEDULE_BOUND_S for lag in lags)
    assert on_time >= 0.9 * N, f"{N - on_time} of {N} requests off schedule by > 5 ms: {sorted(lags)[-5:]}"
    assert sorted(lags)[N // 2] <= SCHEDULE_BOUND_S
    # The report carries the same share, and warns exactly when more than 5% were late.
    late = point["client"]["late_share"]
    assert late == pytest.approx(sum(lag > SCHEDULE_BOUND_S for lag in lags) / N)
    assert any("after their scheduled time" in w for w in rep["warnings"]) == (late > LATE_SHARE_MAX)
