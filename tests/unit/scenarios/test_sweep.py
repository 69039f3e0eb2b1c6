"""Sweep planning and analysis: grid expansion, key validation, knob effects and Pareto fronts by hand."""

from __future__ import annotations

import pytest

from infermeter.config import build_config
from infermeter.errors import InfermeterError
from infermeter.render.export import rows, tables, to_markdown
from infermeter.render.export_sweep import points_csv
from infermeter.results.measurements import measurements_from_report
from infermeter.scenarios.sweep import Knob, assignments, attach, label, parse_sets, plan, split_values
from infermeter.scenarios.sweep_analysis import analyze, knob_effects, pareto_front, point_metrics, relative


# -- parsing ---------------------------------------------------------------------------------------
def test_split_values_keeps_brackets_and_quotes_whole() -> None:
    assert split_values("1,2,4") == ["1", "2", "4"]
    assert split_values("[16,32]") == ["[16,32]"]
    assert split_values("[16],[16, 32]") == ["[16]", "[16, 32]"]
    assert split_values("'a,b.jsonl',c") == ["'a,b.jsonl'", "c"]


def test_parse_sets_separates_knobs_from_fixed_overrides() -> None:
    knobs, fixed = parse_sets(["num_beams=1,2,4", "top_p=0.8,1.0", "limit=3", "prompt_lens=[16,32]", "top_k=null,20"])
    assert [(k.key, k.values) for k in knobs] == [
        ("generation.num_beams", [1, 2, 4]),
        ("generation.top_p", [0.8, 1.0]),
        ("generation.top_k", [None, 20]),
    ]
    assert fixed == {"workload.limit": 3, "measure.prompt_lens": [16, 32]}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("nonsense=1,2", "--set nonsense=1,2: unknown config key 'nonsense'"),
        ("num_beams", "--set expects KEY=VALUE"),
        ("num_beams=1,,2", "empty value"),
        ("num_beams=1,2,1", "value 1 is listed twice"),
    ],
)
def test_bad_set_items_fail_with_one_clear_line(item: str, message: str) -> None:
    with pytest.raises(InfermeterError) as err:
        parse_sets([item])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_key_given_twice_is_refused_even_under_two_spellings() -> None:
    with pytest.raises(InfermeterError, match="already set"):
        parse_sets(["top_p=0.8,1.0", "generation.top_p=0.5,0.9"])


# -- expansion -------------------------------------------------------------------------------------
def _knobs() -> list[Knob]:
    return [Knob("generation.num_beams", [1, 2, 4]), Knob("generation.top_p", [0.8, 1.0], baseline=1)]


def test_full_design_is_the_product_first_knob_slowest() -> None:
    got = assignments(_knobs(), "full")
    assert len(got) == 6
    assert got[:3] == [
        {"generation.num_beams": 1, "generation.top_p": 0.8},
        {"generation.num_beams": 1, "generation.top_p": 1.0},
        {"generation.num_beams": 2, "generation.top_p": 0.8},
    ]


def test_one_at_a_time_is_baseline_plus_each_other_value() -> None:
    got = assignments(_knobs(), "one-at-a-time")
    assert got == [
        {"generation.num_beams": 1, "generation.top_p": 1.0},
        {"generation.num_beams": 2, "generation.top_p": 1.0},
        {"generation.num_beams": 4, "generation.top_p": 1.0},
        {"generation.num_beams": 1, "generation.top_p": 0.8},
    ]
    with pytest.raises(InfermeterError, match="unknown design"):
        assignments(_knobs(), "random")


def test_plan_sets_baselines_from_the_base_config_and_keeps_invalid_points() -> None:
    base = build_config({"generation": {"top_p": 0.8}})
    knobs = [Knob("generation.top_p", [1.0, 0.8, 1.5]), Knob("generation.num_beams", [2, 1])]
    points = plan(base, knobs, "full")
    assert knobs[0].baseline == 1  # the base's 0.8 is listed
    assert knobs[1].baseline == 1  # the default num_beams=1 is listed second
    assert len(points) == 6
    bad = [p for p in points if p.config is None]
    assert {p.knobs["generation.top_p"] for p in bad} == {1.5}
    assert all("top_p" in p.error and "1.5" in p.error for p in bad)
    assert points[0].label == "top_p=1.0,num_beams=2"
    assert label({"measure.prompt_lens": [16, 32]}) == "prompt_lens=[16, 32]"


def test_resume_matches_points_on_the_resolved_config_not_the_output_folder() -> None:
    base = build_config({"output": "a"})
    first = plan(base, [Knob("generation.num_beams", [1, 2])], "full")
    entries: list[dict] = []
    attach(first, entries)
    entries[0]["status"] = "complete"
    moved = plan(build_config({"output": "elsewhere"}), [Knob("generation.num_beams", [1, 2, 4])], "full")
    got = attach(moved, entries)
    assert [e["id"] for e in got] == ["p01", "p02", "p03"]
    assert got[0]["status"] == "complete" and got[2]["status"] == "pending"
    # A different base config is a different measurement: nothing matches, old points stay, unplanned.
    other = attach(plan(build_config({"workload": {"limit": 3}}), [Knob("generation.num_beams", [1])], "full"), entries)
    assert other[0]["id"] == "p04" and not entries[0]["planned"]


# -- analysis --------------------------------------------------------------------------------------
def _point(pid: str, knobs: dict, status: str = "complete", **metrics: float | None) -> dict:
    return {"id": pid, "label": pid, "knobs": knobs, "status": status, "metrics": metrics, "planned": True}


def test_relative_change() -> None:
    assert relative(150.0, 100.0) == pytest.approx(0.5)
    assert relative(-3.0, -2.0) == pytest.approx(-0.5)
    assert relative(None, 1.0) is None and relative(1.0, 0.0) is None


def test_knob_effects_hold_the_other_knobs_at_their_baselines() -> None:
    knobs = [
        {"key": "b", "values": [1, 2], "baseline": 0},
        {"key": "p", "values": [0.8, 1.0], "baseline": 1},
    ]
    points = [
        _point("p1", {"b": 1, "p": 0.8}, decode_tps=90.0, accuracy=0.4),
        _point("p2", {"b": 1, "p": 1.0}, decode_tps=100.0, accuracy=0.5),
        _point("p3", {"b": 2, "p": 0.8}, decode_tps=10.0, accuracy=0.9),  # never read: p is not at baseline
        _point("p4", {"b": 2, "p": 1.0}, decode_tps=60.0, accuracy=0.6),
    ]
    eff = {e["key"]: e for e in knob_effects(knobs, points)}
    b = eff["b"]["rows"]
    assert [r["point"] for r in b] == ["p2", "p4"]
    assert b[1]["change"]["decode_tps"] == pytest.approx(-0.4)  # 60 vs 100
    assert b[1]["change"]["accuracy"] == pytest.approx(0.2)  # 0.6 vs 0.5
    p = eff["p"]["rows"]
    assert [r["point"] for r in p] == ["p1", "p2"] and eff["p"]["baseline"] == 1.0
    assert p[0]["change"]["decode_tps"] == pytest.approx(-0.1)  # 90 vs 100
    assert p[1]["change"]["decode_tps"] == 0.0


def test_a_failed_value_keeps_its_row_without_numbers() -> None:
    knobs = [{"key": "b", "values": [1, 2, 4], "baseline": 0}]
    points = [_point("p1", {"b": 1}, decode_tps=100.0), _point("p2", {"b": 2}, "failed")]
    rows_ = knob_effects(knobs, points)[0]["rows"]
    assert [r["status"] for r in rows_] == ["complete", "failed", "missing"]
    assert rows_[1]["metrics"]["decode_tps"] is None and rows_[1]["change"]["decode_tps"] is None


def test_pareto_front_by_hand() -> None:
    pts = [
        _point("a", {}, decode_tps=10.0, accuracy=0.9),
        _point("b", {}, decode_tps=20.0, accuracy=0.8),
        _point("c", {}, decode_tps=15.0, accuracy=0.7),  # beaten by b on both
        _point("d", {}, decode_tps=30.0, accuracy=0.2),
        _point("e", {}, decode_tps=20.0, accuracy=0.8),  # equal to b: both stay
        _point("f", {}, decode_tps=5.0, accuracy=0.9),  # same accuracy as a, slower: beaten
        _point("g", {}, "failed"),
        _point("h", {}, decode_tps=50.0, accuracy=None),  # no accuracy: not considered
    ]
    assert pareto_front(pts, "decode_tps", "accuracy") == ["a", "b", "e", "d"]
    # memory (lower is better) vs throughput (higher is better)
    mem = [
        _point("x", {}, peak_memory_bytes=100.0, output_throughput=10.0),
        _point("y", {}, peak_memory_bytes=200.0, output_throughput=30.0),
        _point("z", {}, peak_memory_bytes=250.0, output_throughput=25.0),  # more memory and slower than y
    ]
    assert pareto_front(mem, "peak_memory_bytes", "output_throughput", "lower", "higher") == ["x", "y"]


def test_point_metrics_follow_seed_003s_table() -> None:
    report = {
        "metrics": {
            "requests": {"total": 4, "ok": 4, "output_tokens": 400},
            "output_throughput": 50.0,  # 400 tokens in an 8 s window
            "decode_tps": {"mean": 55.0},
            "ttft_s": {"mean": 0.1},
            "e2e_s": {"mean": 2.0},
            "tpot_s": {"mean": 0.018},
            "accuracy": {"mean": 0.25, "n": 4},
            "context_load": {
                "points": [
                    {"prompt_tokens": 128, "ttft": {"mean": 0.05}},
                    {"prompt_tokens": 512, "ttft": {"mean": 0.2}},
                ]
            },  # fmt: skip
            "batch_efficiency": {
                "points": [{"batch_size": 1, "efficiency": 1.0}, {"batch_size": 4, "efficiency": 0.7}]
            },
            "memory": {"peak": {"rss": 900}, "phases": {"dataset": {"rss": 700, "torch_allocated": None}}},
        }
    }
    m = point_metrics(report)
    assert m["per_sample_s"] == pytest.approx(2.0)  # 8 s / 4 requests
    assert m["time_per_token_s"] == pytest.approx(0.02)  # 8 s / 400 tokens
    assert m["output_tokens"] == 400 and m["output_throughput"] == 50.0
    assert m["peak_memory_bytes"] == 700 and m["peak_memory_view"] == "rss"  # the main pass, not the probes
    assert m["context_ttft_s"] == 0.2 and m["context_prompt_tokens"] == 512
    assert m["batch_efficiency"] == 0.7 and m["batch_efficiency_at"] == 4
    assert m["accuracy"] == 0.25


def test_sweep_report_views_tables_csv_and_database_rows() -> None:
    points = [
        _point(
            "p01",
            {"generation.num_beams": 1},
            decode_tps=100.0,
            accuracy=0.5,
            peak_memory_bytes=2**30,
            output_throughput=90.0,
        ),
        _point(
            "p02",
            {"generation.num_beams": 2},
            decode_tps=60.0,
            accuracy=0.75,
            peak_memory_bytes=2**31,
            output_throughput=50.0,
        ),
        {**_point("p03", {"generation.num_beams": 4}, "failed"), "error": "the worker failed: out of memory"},
    ]
    for p in points:
        p["label"] = label(p["knobs"])
        p["metrics"].setdefault("peak_memory_view", "rss")
    sweep = {"design": "full", "knobs": [{"key": "generation.num_beams", "values": [1, 2, 4], "baseline": 0}]}
    report = {
        "kind": "sweep",
        "status": "complete",
        "run_dir": "r/s",
        "config": {},
        "sweep": {**sweep, "points": points},
    }
    analyze(report["sweep"])
    names = [t.name for t in tables(report)]
    assert names == ["points", "effect-num_beams", "pareto-accuracy_vs_decode_tps", "pareto-memory_vs_throughput",
                     "failed"]  # fmt: skip
    effect = tables(report)[1]
    assert effect.headers == ["num_beams", "1 (baseline)", "2 (p02)", "4 (p03)"]
    assert ["decode tok/s", "100.0", "60.0 (-40%)", "failed"] in effect.rows
    assert "out of memory" in to_markdown(report)
    fronts = report["sweep"]["pareto"]
    assert fronts["accuracy_vs_decode_tps"]["front"] == ["p02", "p01"]  # a trade-off: both on the front
    assert fronts["memory_vs_throughput"]["front"] == ["p01"]  # less memory and faster
    assert {r["section"] for r in rows(report)} == {"point:p01 num_beams=1", "point:p02 num_beams=2"}
    assert points_csv(report).splitlines()[3].startswith("p03,num_beams=4,failed,4,")
    meas = {m["name"]: m["value"] for m in measurements_from_report(report)}
    assert meas["point[num_beams=2].decode_tps"] == 60.0
    assert meas["point[num_beams=2].memory.peak.rss"] == 2**31


def test_html_shows_the_sweep_plots_and_a_directory_gives_the_sweep_not_its_points(tmp_path) -> None:
    from infermeter.render.html import render_html
    from infermeter.results.files import find_report_files

    points = [
        _point("p01", {"b": 1}, decode_tps=100.0, accuracy=0.5, peak_memory_bytes=2**30, output_throughput=90.0),
        _point("p02", {"b": 2}, decode_tps=60.0, accuracy=0.75, peak_memory_bytes=2**31, output_throughput=50.0),
    ]
    sweep = {"design": "full", "knobs": [{"key": "b", "values": [1, 2], "baseline": 0}], "points": points}
    analyze(sweep)
    page = render_html([{"kind": "sweep", "status": "complete", "run_dir": "r", "config": {}, "sweep": sweep}])
    for fid in ("sweep-effects", "sweep-pareto", "point-runs", "effect-b"):
        assert f'id="report-1-{fid}"' in page
    sweep_dir = tmp_path / "sweep"
    (sweep_dir / "points" / "p01" / "run").mkdir(parents=True)
    (sweep_dir / "report.json").write_text("{}")
    (sweep_dir / "points" / "p01" / "run" / "report.json").write_text("{}")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "report.json").write_text("{}")
    assert find_report_files(tmp_path) == [tmp_path / "other" / "report.json", sweep_dir / "report.json"]
