"""Soak planning, per-call analysis, verdicts, live view and rendering, on synthetic per-call rows.

The statistics themselves (false-positive and detection rates) are tested in tests/unit/core/test_trend.py;
here: what the soak makes of them (warm-up excluded, steps below the threshold, stable yes/no, table).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from infermeter.cli import build_parser, main
from infermeter.config import build_config
from infermeter.errors import InfermeterError
from infermeter.render.console_soak import render_soak
from infermeter.scenarios.soak import Follower, SoakOptions, parse_duration, plan
from infermeter.scenarios.soak_analysis import assemble, overall, read_rows, soak_warnings, summarize
from infermeter.scenarios.soak_worker import CALLS_FILE

MiB = 2**20


def _rows(
    n: int = 20,
    *,
    e2e: float = 0.8,
    e2e_drift: float = 0.0,
    rss: float = 1800 * MiB,
    rss_drift: float = 0.0,
    noise: float = 0.01,
    seed: int = 0,
    name: str = "none",
    first_call: float | None = 2.6,
    cuda: bool = False,
) -> list[dict]:
    """Per-call rows as the worker writes them: a level, a drift per call, relative noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        latency = e2e + e2e_drift * k + e2e * noise * rng.standard_normal()
        memory = rss + rss_drift * k
        mem = {"rss": int(memory), "torch_allocated": None, "torch_reserved": None, "nvml_process": None}
        peak = {"rss": int(memory + 50 * MiB), "rss_method": "vmhwm", "torch_allocated": None}
        if cuda:
            mem.update(torch_allocated=int(memory / 2), torch_reserved=int(memory))
            mem["nvml_process"] = int(memory + 500 * MiB)
            peak["torch_allocated"] = int(memory / 2 + 80 * MiB)
        rows.append(
            {
                "config": name,
                "call": k + 1,
                "e2e_s": first_call if k == 0 and first_call else latency,
                "ttft_s": latency / 10,
                "tpot_s": latency / 100,
                "memory": mem,
                "peak": peak,
            }
        )
    return rows


OPTS = SoakOptions(calls=20)


# -- options and planning ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategies": ("none", "bogus")}, "unknown strategy 'bogus'"),
        ({"strategies": ()}, "no cleanup strategy"),
        ({"strategies": ("gc", "gc")}, "listed twice"),
        ({"calls": 2}, "calls must be >= 3"),
        ({"calls": 5, "warmup_calls": 5}, "warmup_calls"),
        ({"warmup_calls": -1}, "warmup_calls must be >= 0"),
        ({"duration_s": 0.0}, "duration must be positive"),
        ({"inputs": "random"}, "unknown inputs"),
        ({"recreate_every": 0}, "recreate_every"),
        ({"batch_sizes": (1, 0)}, "batch sizes"),
        ({"at": (0, 5)}, "--at"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_invalid_options_are_one_line_errors(kwargs, message) -> None:
    with pytest.raises(InfermeterError, match=message):
        SoakOptions(**kwargs).validate()


def test_duration_mode_ignores_calls_and_leak_needs_a_kv_cache() -> None:
    SoakOptions(calls=1, duration_s=30).validate()  # calls is not used with a duration
    with pytest.raises(InfermeterError, match="KV cache"):
        SoakOptions(leak=True).check_config(build_config({"model": {"cache": "off"}}))
    SoakOptions(leak=True).check_config(build_config({}))


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60), ("5m", 300), ("1.5h", 5400), ("90", 90), ("250ms", 0.25), (" 2 min ", 120)]
)
def test_parse_duration(text, seconds) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-5s", "0", "5 days", "1e3s"])
def test_bad_duration(text) -> None:
    with pytest.raises(InfermeterError, match="bad duration"):
        parse_duration(text)


def test_plan_is_every_strategy_at_every_batch_size() -> None:
    base = build_config({"workload": {"kind": "synthetic", "batch_size": 3}})
    one = plan(base, SoakOptions(strategies=("none", "session")))
    assert [(n, s, c.workload.batch_size) for n, s, c in one] == [("none", "none", 3), ("session", "session", 3)]
    chunks = plan(base, SoakOptions(strategies=("gc", "full"), batch_sizes=(1, 4)))
    expected = [("gc b1", 1), ("gc b4", 4), ("full b1", 1), ("full b4", 4)]
    assert [(n, c.workload.batch_size) for n, _, c in chunks] == expected
    assert base.workload.batch_size == 3  # the base config is not changed


# -- analysis ---------------------------------------------------------------------------------------
def test_a_leak_is_flagged_with_its_rate_and_the_slow_first_call_is_shown_not_trended() -> None:
    s = summarize("none", "none", 1, _rows(rss_drift=3.1 * MiB), OPTS)
    rss = s["series"]["rss"]
    assert rss["verdict"] == "increasing" and rss["decay"] and not s["stable"]
    assert rss["trend"]["slope"] == pytest.approx(3.1 * MiB, rel=1e-6)
    assert rss["line"].startswith("RSS +3.1 MiB/call")
    # Call 1 took 2.6 s against 0.8 s after it (first call); it is in the table, not the trend.
    assert s["at"] == {"1": 2.6, "5": pytest.approx(0.8, rel=0.05), "10": pytest.approx(0.8, rel=0.05)}
    assert s["series"]["e2e_s"]["verdict"] == "stable" and s["series"]["e2e_s"]["trend"]["n"] == 18
    assert s["trend_calls"] == 18 and s["calls"] == 20 and s["last"]["call"] == 20


def test_seed_002_latency_creep_is_increasing() -> None:
    # 780 ms -> 2.7 s over 10 calls: about +210 ms per call.
    s = summarize("none", "none", 1, _rows(n=10, e2e=0.78, e2e_drift=0.21, first_call=None), SoakOptions(calls=10))
    e2e = s["series"]["e2e_s"]
    assert e2e["verdict"] == "increasing" and not s["stable"]
    assert e2e["trend"]["slope"] == pytest.approx(0.21, rel=0.1)
    assert "ms/call" in e2e["line"] and "p " in e2e["line"]


def test_flat_series_are_stable() -> None:
    s = summarize("gc", "gc", 1, _rows(), OPTS)
    assert s["stable"] and all(v["verdict"] == "stable" and not v["decay"] for v in s["series"].values())
    assert set(s["series"]) == {"e2e_s", "ttft_s", "tpot_s", "rss"}  # CUDA views absent on CPU
    assert s["peak"] == {
        "view": "rss",
        "bytes": 1850 * MiB,
        "torch_allocated": None,
        "torch_reserved": None,
        "nvml_process": None,
        "rss": 1850 * MiB,
    }


def _with_step(rows: list[dict], at_call: int, size: int) -> list[dict]:
    for r in rows:
        if r["call"] > at_call:
            r["memory"]["rss"] += size
    return rows


def test_a_small_allocator_step_is_reported_but_stable() -> None:
    # Memory flat to the byte, then one 4.5 MiB heap growth: a real step, but bounded, not a leak.
    rows = _with_step(_rows(n=14, rss=626 * MiB), at_call=8, size=int(4.5 * MiB))
    s = summarize("none", "none", 1, rows, SoakOptions(calls=14))
    rss = s["series"]["rss"]
    assert rss["trend"]["verdict"] == "step" and rss["verdict"] == "stable" and not rss["decay"]
    assert "one step of +4.5 MiB after call 8" in rss["line"] and "below the 5% threshold" in rss["line"]
    assert s["stable"]


def test_a_large_upward_step_makes_the_configuration_unstable() -> None:
    rows = _with_step(_rows(n=20, rss=1000 * MiB), at_call=10, size=300 * MiB)
    s = summarize("none", "none", 1, rows, OPTS)
    rss = s["series"]["rss"]
    assert rss["verdict"] == "step" and rss["decay"] and not s["stable"]
    assert "step +300.0 MiB" in rss["line"] and "after call 10" in rss["line"]
    # The same step downwards (memory released) is reported but is not decay.
    down = summarize("none", "none", 1, _with_step(_rows(n=20, rss=1000 * MiB), 10, -300 * MiB), OPTS)
    assert down["series"]["rss"]["verdict"] == "step" and down["stable"]


def test_cuda_views_are_analysed_and_the_peak_is_torch_allocated() -> None:
    s = summarize("full", "full", 2, _rows(cuda=True, rss_drift=2 * MiB), OPTS)
    assert set(s["series"]) == {"e2e_s", "ttft_s", "tpot_s", "rss", "torch_allocated", "torch_reserved", "nvml_process"}
    assert s["series"]["torch_allocated"]["verdict"] == "increasing"
    assert s["peak"]["view"] == "torch_allocated" and s["peak"]["bytes"] == s["peak"]["torch_allocated"]
    assert s["steady_e2e_per_item_s"] == pytest.approx(s["steady_e2e_s"] / 2)


def test_few_calls_are_too_few_to_tell_and_say_so() -> None:
    opts = SoakOptions(calls=6)
    s = summarize("none", "none", 1, _rows(n=6, rss_drift=50 * MiB), opts)
    assert s["stable"] is None and s["series"]["rss"]["line"] == "RSS: too few calls (n=4) to tell"
    assert s["at"]["10"] is None
    warnings = soak_warnings(build_config({}), opts, [s])
    assert any("too few to tell" in w for w in warnings)
    v = overall([s])
    assert v["too_few_calls"] == ["none"] and v["stable"] == [] and v["fastest_stable"] is None
    console = Console(record=True, width=100)
    render_soak(
        {
            "config": build_config({}).model_dump(),
            "run_dir": ".",
            "soak": {"options": asdict(opts), "configurations": [s], "verdict": v},
        },
        console,
    )
    out = console.export_text()
    assert "│ ?" in out and "verdict: too few calls to tell: none" in out


def test_overall_verdict_names_decays_and_the_fastest_stable_configuration() -> None:
    summaries = [
        summarize("none", "none", 1, _rows(rss_drift=3 * MiB), OPTS),
        summarize("gc", "gc", 1, _rows(e2e=0.9), OPTS),
        summarize("session b4", "session", 4, _rows(e2e=2.4), OPTS),
        summarize("full", "full", 1, [], OPTS),  # a worker that never got to call
    ]
    v = overall(summaries)
    assert v["unstable"] == ["none"] and v["stable"] == ["gc", "session b4"]
    assert v["fastest_stable"] == "session b4"  # 2.4 s for 4 items beats 0.9 s for one
    assert v["line"].startswith("decays: none (RSS); stable: gc, session b4; fastest stable: session b4")


# -- files, live view, report -------------------------------------------------------------------
def test_follower_reads_complete_rows_of_its_configuration_only(tmp_path: Path) -> None:
    path = tmp_path / CALLS_FILE
    path.write_text(json.dumps({"config": "old", "call": 1}) + "\n")  # an earlier worker's row
    seen: list[int] = []
    follower = Follower(path, "gc", lambda row: seen.append(row["call"]))
    with path.open("a") as f:
        f.write(json.dumps({"config": "gc", "call": 1}) + "\n" + json.dumps({"config": "none", "call": 1}) + "\n")
        f.write('{"config": "gc", "ca')  # being written
    follower.poll()
    assert seen == [1]
    with path.open("a") as f:
        f.write('ll": 2}\n{not json\n')
    follower.poll()
    assert seen == [1, 2] and follower.last_call == 2
    assert [r["call"] for r in read_rows(path)] == [1, 1, 1, 2]  # the torn line is skipped


def _report(tmp_path: Path) -> dict:
    base = build_config({"model": {"name": "tiny-qwen3"}, "workload": {"batch_size": 1}})
    opts = SoakOptions(calls=20, strategies=("none", "gc", "full"))
    configs = plan(base, opts)
    rows = _rows(rss_drift=3.1 * MiB, name="none") + _rows(name="gc", seed=1) + _rows(name="full", n=7, seed=2)[:7]
    (tmp_path / CALLS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    metas = {"none": {"device": "cpu"}, "gc": {"device": "cpu"}}  # "full" crashed after 7 calls
    soak = assemble(tmp_path, configs, opts, metas)
    return {"config": base.model_dump(), "run_dir": str(tmp_path), "soak": soak, "warnings": ["w1"]}


def test_assemble_rebuilds_every_configuration_from_the_rows_file(tmp_path: Path) -> None:
    soak = _report(tmp_path)["soak"]
    status = {c["name"]: (c["status"], c["calls"]) for c in soak["configurations"]}
    assert status == {"none": ("complete", 20), "gc": ("complete", 20), "full": ("partial", 7)}
    assert soak["verdict"]["unstable"] == ["none"]
    assert soak["verdict"]["fastest_stable"] == "gc"  # full is faster, but its worker died
    json.dumps(soak)  # JSON-safe


def test_render_prints_seed_002s_table_and_the_verdicts(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    render_soak(_report(tmp_path), console)
    out = console.export_text()
    assert "soak: tiny-qwen3 on cpu, 20 calls per configuration, varied inputs" in out
    for header in ("call 1", "call 5", "call 10", "last", "steady", "peak RSS", "stable"):
        assert header in out
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ")}
    assert "2600" in rows["none"] and "(#20)" in rows["none"] and "NO" in rows["none"]
    assert "(#7)" in rows["full"] and "partial" in rows["full"] and "yes" in rows["gc"]
    assert "none: E2E stable over 18 calls; RSS +3.1 MiB/call" in out
    assert "verdict: decays: none (RSS)" in out and "warning: w1" in out


def test_cli_bad_input_is_one_line(capsys) -> None:
    for argv, message in (
        (["soak", "--calls", "2"], "calls must be >= 3"),
        (["soak", "--strategies", "none,sometimes"], "unknown strategy 'sometimes'"),
        (["soak", "--calls", "5", "--duration", "5s"], "not both"),
        (["soak", "--duration", "soon"], "bad duration"),
        (["soak", "--inputs", "random"], "unknown inputs"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    args = build_parser()[0].parse_args(["soak", "--batch-sizes", "1,2,4,8", "--at", "1,5,10"])
    assert args.chunk_sizes == [1, 2, 4, 8] and args.at == [1, 5, 10] and args.batch_size is None
