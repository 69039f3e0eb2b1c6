"""Reports rebuilt from records.jsonl alone (random truncations), diff refusals, and the load guards."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from infermeter.backends.base import Generation
from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.results.files import load_reports
from infermeter.results.lifecycle import check_comparable, rebuild
from infermeter.scenarios.load_guard import CANCELLED, Guard, InFlight, is_connect_failure


def _load_records(n: int) -> list[dict]:
    out = []
    for i in range(n):
        err = "HTTP 500: boom" if i % 7 == 3 else None
        toks = [] if err else [i + 0.1, i + 0.2, i + 0.3]
        r = RequestRecord(f"load-{i}", "load", i, 1, 8, float(i), toks, error=err,
                          extra={"profile": "concurrent:2", "point": 0, "scheduled_s": float(i)})  # fmt: skip
        out.append(r.to_dict())
    return out


def _run_records(n: int) -> list[dict]:
    return [RequestRecord(f"d{i}", "dataset", i, 1, 8, float(i), [i + 0.1, i + 0.2]).to_dict() for i in range(n)]


@pytest.mark.parametrize("make", [_load_records, _run_records])
def test_random_truncations_rebuild_a_report_of_the_whole_lines(tmp_path, make):
    lines = [json.dumps(r) + "\n" for r in make(40)]
    text = "".join(lines)
    rng = random.Random(7)
    for trial in range(60):
        cut = rng.randrange(len(lines[0]) + 1, len(text) + 1)
        run_dir = tmp_path / f"t{trial}"
        run_dir.mkdir()
        (run_dir / "records.jsonl").write_text(text[:cut])
        whole = sum(1 for k in range(len(lines)) if len("".join(lines[: k + 1])) <= cut)
        (report,) = load_reports([run_dir])
        assert report["status"] == "interrupted" and "rebuilt" in report["error"]
        if report["kind"] == "load":
            (point,) = report["load_run"]["points"]
            assert point["requests"]["sent"] == whole
        else:
            assert report["metrics"]["requests"]["total"] == whole
        assert (run_dir / "report.json").is_file()


def test_a_folder_without_any_whole_record_is_one_clear_error(tmp_path):
    (tmp_path / "records.jsonl").write_text('{"request_id": "x", "pha')
    with pytest.raises(InfermeterError, match="nothing to show"):
        rebuild(tmp_path)


@pytest.mark.parametrize("status", ["failed", "interrupted", "running", None])
def test_diff_refuses_unfinished_runs(status):
    with pytest.raises(InfermeterError, match="not complete"):
        check_comparable({"run_id": "r1", "status": status})
    check_comparable({"run_id": "r1", "status": "complete"})


def test_guard_backs_off_and_stops_after_connection_failures_in_a_row():
    g = Guard(max_refused=5)
    delays = [g.after("connection refused") for _ in range(4)]
    assert delays == sorted(delays) and delays[0] > 0 and g.dead is None
    assert g.after(None) == 0 and g.streak == 0  # a success resets the streak
    for _ in range(5):
        g.after("connection refused")
    assert "5 connections in a row" in g.dead
    assert g.after("HTTP 500: x") == 0 and not is_connect_failure("HTTP 500: x")


def test_in_flight_requests_are_cancelled_and_kept_at_the_deadline():
    async def main() -> list[Generation]:
        flight = InFlight()
        dog = flight.watchdog(0.05)

        async def endless() -> Generation:
            await asyncio.sleep(3600)
            raise AssertionError("not reached")

        async def quick() -> Generation:
            return Generation(0.0, [0.1], "ok")

        gens = await asyncio.gather(*(flight.call(f, lambda: Generation(0.0, [], "", error=CANCELLED))
                                      for f in (endless, quick, endless)))  # fmt: skip
        assert dog is not None and dog.done()
        return gens

    gens = asyncio.run(main())
    assert [g.error for g in gens] == [CANCELLED, None, CANCELLED]


@pytest.mark.parametrize("text", ["constant:inf", "poisson:nan", "constant:1e9", "concurrent:100000000"])
def test_absurd_profiles_fail_in_one_line(text):
    from infermeter.scenarios.load_profiles import parse_profile

    with pytest.raises(InfermeterError, match="--profile"):
        parse_profile(text, 64)
