"""The schedule-lag share of a point and the report's warning when a scheduled profile missed its times."""

from __future__ import annotations

from infermeter.core.records import RequestRecord
from infermeter.scenarios.load_timeline import SCHEDULE_BOUND_S, client_lag, schedule_warning


def _recs(lags: list[float], phase: str = "load") -> list[RequestRecord]:
    return [
        RequestRecord(
            request_id=f"load-{k}",
            phase=phase,
            batch_id=k,
            batch_size=1,
            prompt_tokens=4,
            t_send=float(k),
            token_times=[k + 0.1],
            extra={"send_lag_s": lag, "scheduled_s": float(k)},
        )  # fmt: skip
        for k, lag in enumerate(lags)
    ]


def test_late_share_counts_requests_past_the_bound() -> None:
    lags = [0.001] * 18 + [SCHEDULE_BOUND_S + 0.001, 0.2]
    assert client_lag(_recs(lags))["late_share"] == 2 / 20
    assert client_lag(_recs(lags, phase="warmup:load"))["late_share"] is None  # only measured requests count


def test_a_scheduled_profile_with_late_requests_warns() -> None:
    late = client_lag(_recs([0.001] * 18 + [0.05, 0.2]))
    line = schedule_warning("trace:1", late)
    assert line is not None and "10% of requests" in line and "5 ms" in line and "max 200.0 ms" in line
    assert schedule_warning("poisson:5", late) and schedule_warning("ramp:linear:1:5", late)


def test_no_warning_on_time_or_without_a_schedule() -> None:
    on_time = client_lag(_recs([0.001] * 19 + [0.05]))  # 5% late: within the allowance
    assert schedule_warning("trace:1", on_time) is None
    late = client_lag(_recs([0.05] * 20))
    assert schedule_warning("concurrent:8", late) is None  # a freed slot is not a schedule
    assert schedule_warning("throughput", late) is None and schedule_warning("trace", None) is None
