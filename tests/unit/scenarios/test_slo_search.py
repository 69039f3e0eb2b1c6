"""The SLO search's bisection and its attainment intervals (pure functions of point summaries)."""

from __future__ import annotations

import pytest

from infermeter.scenarios.load_profiles import LoadOptions, Profile
from infermeter.scenarios.slo_search import search_profiles, search_state, wilson


def _point(profile: str, rate: float | None, completed: float, good: int, total: int) -> dict:
    g = {"good": good, "total": total, "fraction": good / total, "requests_per_s": completed * good / total}
    return {"profile": profile, "target_rate": rate, "request_rate": completed, "goodput": g}


OPTS = LoadOptions(profile="slo-search", max_requests=10, slo={"ttft": 0.2}, slo_target=0.9, search_points=5)


def test_wilson() -> None:
    lo, hi = wilson(9, 10)
    assert 0.55 < lo < 0.6 and 0.98 < hi <= 1.0
    assert wilson(0, 0) is None
    assert wilson(10, 10)[1] == 1.0


def test_bisection_moves_the_bracket_and_stops_at_the_point_budget() -> None:
    nxt = search_profiles(OPTS)
    assert nxt([]) == Profile("throughput", 64.0)
    pts = [_point("throughput", None, 40.0, 2, 10)]
    assert nxt(pts) == Profile("poisson", 20.0)
    pts.append(_point("poisson:20", 20.0, 19.8, 10, 10))  # meets: lower bound up
    assert search_state(pts, OPTS)["bracket"] == [20.0, 40.0]
    assert nxt(pts) == Profile("poisson", 30.0)
    pts.append(_point("poisson:30", 30.0, 29.0, 5, 10))  # fails: upper bound down
    assert nxt(pts) == Profile("poisson", 25.0)
    pts.append(_point("poisson:25", 25.0, 24.9, 9, 10))
    assert nxt(pts) == Profile("poisson", 27.5)
    pts.append(_point("poisson:27.5", 27.5, 27.0, 8, 10))
    state = search_state(pts, OPTS)
    assert nxt(pts) is None and state["next_rate"] is None  # 5 points: the budget
    assert state["best_rate"] == 25.0 and state["best_point"] == 3 and state["bracket"] == [25.0, 27.5]
    assert state["points"][3]["attainment_ci95"][0] < 0.9 < state["points"][3]["attainment_ci95"][1]


def test_slo_met_at_throughput_and_never_met() -> None:
    state = search_state([_point("throughput", None, 40.0, 10, 10)], OPTS)
    assert state["best_rate"] == 40.0 and state["next_rate"] is None and "not the limit" in state["note"]
    pts = [_point("throughput", None, 40.0, 0, 10)] + [_point(f"poisson:{r}", r, r, 0, 10) for r in (20, 10, 5, 2.5)]
    state = search_state(pts, OPTS)
    assert state["best_rate"] is None and "no rate tried meets" in state["note"]


def test_validation() -> None:
    from infermeter.errors import InfermeterError

    with pytest.raises(InfermeterError, match="needs --slo"):
        LoadOptions(profile="slo-search", max_requests=5).validate()
    with pytest.raises(InfermeterError, match="--client-procs"):
        LoadOptions(max_requests=5, client_procs=0).validate()
    with pytest.raises(InfermeterError, match="--server-metrics"):
        LoadOptions(max_requests=5, server_metrics="nope").validate()
