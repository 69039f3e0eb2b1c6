"""Views a newcomer reads: Report.metrics per kind, compare ratios and intervals, narrow layouts, glossary."""

from __future__ import annotations

import io
import math

from rich.console import Console

from infermeter.metrics.glossary import TERMS, explain, find, label
from infermeter.render.ab_view import log_ci, variant_over_baseline
from infermeter.render.layout import table_or_stack
from infermeter.results.schema import Report


def test_metrics_works_for_every_kind() -> None:
    assert Report({"kind": "run", "metrics": {"decode_tps": 1}}).metrics == {"decode_tps": 1}
    cmp = {"kind": "compare", "compare": {"variants": {"a": {"summary": {"e2e_s": 1}}, "b": {"summary": {}}}}}
    assert Report(cmp).metrics == {"a": {"e2e_s": 1}, "b": {}}
    soak = {"kind": "soak", "soak": {"configurations": [{"name": "none b1", "stable": True}]}}
    assert Report(soak).metrics["none b1"]["stable"] is True
    sweep = {"kind": "sweep", "sweep": {"points": [{"id": "p1", "label": "num_beams=2", "metrics": {"x": 1}}]}}
    assert Report(sweep).metrics == {"num_beams=2": {"x": 1}}
    load = {"kind": "load", "load_run": {"points": [{"profile": "poisson:5", "output_throughput": 3.0}]}}
    assert Report(load).metrics["poisson:5"]["output_throughput"] == 3.0
    assert Report({"kind": "sweep", "status": "running"}).metrics == {}
    assert Report({"kind": "load"}).records == []


def test_ratios_read_variant_over_baseline_in_both_directions() -> None:
    # Stored as speedup (> 1: variant better). eager took 1.31x as long as sdpa: speedup 1/1.31.
    e2e = {"metric": "e2e_s", "speedup": 1 / 1.31, "ci95_low": 1 / 1.4, "ci95_high": 1 / 1.2}
    ratio, lo, hi = variant_over_baseline(e2e)
    assert math.isclose(ratio, 1.31) and math.isclose(lo, 1.2) and math.isclose(hi, 1.4)
    tps = {"metric": "decode_tps", "speedup": 2.0, "ci95_low": 1.5, "ci95_high": 2.5}
    assert variant_over_baseline(tps) == (2.0, 1.5, 2.5)


def test_log_scale_interval_is_positive_where_the_plain_one_is_not() -> None:
    # Two rounds, 0.5 s and 6 s: the t-interval of the mean reaches far below zero.
    d = {"n": 2, "mean": 3.25, "stdev": 3.889, "ci95_low": -31.7, "ci95_high": 38.2}
    lo, hi = log_ci(d)
    assert 0 < lo < d["mean"] < hi and math.isclose(lo * hi, d["mean"] ** 2)
    assert log_ci({"n": 1, "mean": 1.0, "stdev": 0.0}) is None and log_ci(None) is None


def _render(width: int, rows: list[list[str]]) -> list[str]:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    heads = ["variant", "decode tok/s", "E2E ms", "TTFT ms", "first call ms", "load ms", "peak GiB"]
    table_or_stack(console, "compare: 2 rounds", heads, rows, footer="footer line")
    return buf.getvalue().splitlines()


def test_narrow_console_stacks_instead_of_cutting_intervals() -> None:
    rows = [["sdpa", "41.9 [40.1-43.8]", "740.3 [712.1-769.6]", "72.7 [70.0-75.5]", "3404.6 [2905.3-3989.7]"]]
    rows[0] += ["14944.4 [14001.2-15951.0]", "0.67"]
    rows.append(["eager-with-a-long-name", *rows[0][1:]])
    for width in (80, 200):
        lines = _render(width, rows)
        assert max(len(line) for line in lines) <= width
        text = "\n".join(lines)
        assert "…" not in text
        for cell in rows[0][1:]:
            assert cell in text  # every interval whole, on one line
    narrow, wide = _render(80, rows), _render(200, rows)
    assert any(line.startswith("  E2E ms") for line in narrow)  # stacked
    assert any("┃ variant" in line for line in wide)  # a table


def test_glossary_covers_the_console_names() -> None:
    for printed in (
        "TTFT",
        "TPOT",
        "ITL (pooled gaps)",
        "stream_tps",
        "first call / steady",
        "s/sample",
        "decode tok/s",
        "no knee",
        "output throughput",
        "E2E latency",
    ):
        assert find(printed) is not None, printed
    assert "lower is better" in explain("tpot") and "docs/metrics.md" in explain("tpot")
    assert "unknown term" in explain("nonsense")
    assert label("tpot_s") == "time between tokens (TPOT)"
    assert len({t.key for t in TERMS}) == len(TERMS)


def test_docs_glossary_lists_every_term() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "metrics.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Glossary") :]
    for t in TERMS:
        assert f"| {t.plain} | {t.precise} (`{t.key}`)" in section, t.key


def _console(width: int) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, force_terminal=False, color_system=None), buf


def test_run_compare_and_soak_views_fit_80_and_200_columns() -> None:
    from infermeter.render.console import render
    from infermeter.render.console_compare import render_compare
    from infermeter.render.console_soak import render_soak

    from .test_html import compare_report, run_report, soak_report

    for width in (80, 200):
        for fn, report in ((render, run_report()), (render_compare, compare_report()), (render_soak, soak_report())):
            console, buf = _console(width)
            fn(report, console)
            lines = buf.getvalue().splitlines()
            too_long = [line for line in lines if len(line) > width]
            assert not too_long, (fn.__name__, width, too_long)
            assert "…" not in buf.getvalue(), (fn.__name__, width)
    console, buf = _console(80)
    render(run_report(), console)
    text = buf.getvalue()
    assert "time between tokens (TPOT)" in text and "docs/metrics.md" in text
    assert "mean 20.0 ms" in text  # a summary's parts stay whole on their own lines


def test_history_lists_metrics_labels_and_groups_sweep_points(tmp_path) -> None:  # noqa: ANN001
    from infermeter.render.history_view import history_rows, render_history
    from infermeter.results.store import ResultStore

    from .test_html import run_report

    store = ResultStore(tmp_path / "r.db")
    rep = run_report()
    store.begin_run("sweep-1", "sweep", {"model": {"name": "tiny-qwen3"}}, {}, "/res/sweep-1/report.json")
    point = "/res/sweep-1/points/p01/run-2/report.json"
    store.begin_run("run-2", "run", {**rep["config"], "label": "p"}, {}, point)
    store.finish_run("run-2", {**rep, "run_dir": "/res/sweep-1/points/p01/run-2"})
    store.begin_run("run-3", "run", {**rep["config"], "label": "baseline A"}, {}, "/res/run-3/report.json")
    store.finish_run("run-3", {**rep, "run_dir": "/res/run-3"})
    runs = store.runs()
    rows = [[c.plain if hasattr(c, "plain") else c for c in r] for r in history_rows(store, runs)]
    names = [r[0] for r in rows]
    assert names.index("  p01 run-2") == names.index("sweep-1") + 1  # the point right under its sweep
    run3 = rows[names.index("run-3")]
    assert run3[4] == "baseline A" and run3[5] == "50.0" and run3[6] == "50.0" and run3[7] == "75%"
    assert [r[0].plain for r in history_rows(store, runs, label="baseline")] == ["run-3"]
    for width in (80, 200):
        console, buf = _console(width)
        render_history(store, runs, console=console)
        assert max(len(line) for line in buf.getvalue().splitlines()) <= width


def test_csv_of_several_reports_has_one_header_and_a_report_column() -> None:
    import csv

    from infermeter.render.multi import reports_csv, unique_names

    from .test_html import compare_report, run_report, soak_report

    reports = [run_report(), run_report(), compare_report(), soak_report()]
    text = reports_csv(reports)
    assert text.count("report_id,kind,section,name") == 1
    table = list(csv.DictReader(io.StringIO(text)))
    names = unique_names(reports)
    assert names[:2] == ["run-1", "run-1-2"] and len(set(names)) == 4
    assert {r["report_id"] for r in table} == set(names)  # every kind has rows, each names its report


def test_flat_series_are_drawn_against_zero_with_a_note() -> None:
    from matplotlib.figure import Figure

    from infermeter.render.plot_axes import honest_ylim, label_points, relative_range

    fig = Figure()
    ax = fig.add_subplot()
    flat = [689.225, 689.3, 689.375, 689.25]  # MiB: 0.02% of the level
    ax.plot(range(4), flat)
    assert honest_ylim(ax, flat, "MiB")
    assert ax.get_ylim()[0] == 0 and any("flat within noise" in t.get_text() for t in ax.texts)
    ax2 = fig.add_subplot()
    assert not honest_ylim(ax2, [1.0, 1.5, 2.0]) and relative_range([1.0]) is None
    label_points(ax2, [1.0, 1.0, 2.0], [0.0, 0.0, 0.0], ["p01", "p02", "p03"])
    assert sorted(t.get_text() for t in ax2.texts) == ["p01, p02", "p03"]


def test_effect_and_soak_plots_render() -> None:
    from infermeter.render.plots import figures

    from .test_html import soak_report

    for spec in figures(soak_report()):
        spec.figure()


def test_load_view_with_many_points_stacks_at_80_columns() -> None:
    from infermeter.render.console_load import render_load

    d = {"n": 10, "mean": 0.02, "median": 0.02, "p90": 0.025, "p99": 0.03, "ci95_low": 0.018, "ci95_high": 0.022}
    points = [
        {"profile": f"constant:{r}", "kind": "constant", "target_rate": r, "achieved_rate": r * 0.99,
         "scheduled_rate": r, "request_rate": r * 0.98, "output_throughput": 300.0 * r, "ttft_s": d, "tpot_s": d,
         "itl_s": d, "e2e_s": d, "requests": {"ok": 9, "sent": 10, "measured": 10, "errors": 1}, "goodput": None}
        for r in (1.0, 2.5, 5.0, 10.0, 20.0, 40.0)
    ]  # fmt: skip
    report = {"kind": "load", "status": "partial", "load": {"model": "m"}, "run_dir": "/r/load-1",
              "load_run": {"points": points, "errors_by_reason": {"HTTP 429: slow down": 1}}}  # fmt: skip
    for width in (80, 200):
        console, buf = _console(width)
        render_load(report, console)
        text = buf.getvalue()
        assert max(len(line) for line in text.splitlines()) <= width and "…" not in text, width
    assert "constant:40.0" in text or "constant:40" in text


def test_a_tiny_models_zero_accuracy_carries_its_context() -> None:
    from infermeter.render.console import accuracy_context

    acc = {"n": 8, "correct": 0, "mean": 0.0, "ci95_low": 0.0, "ci95_high": 0.32}
    demo = {"load": {"parameters": 134_515_008, "notes": []}, "config": {"workload": {"kind": "gsm8k"}}}
    assert "expected for a 135 M-parameter model on gsm8k" in accuracy_context(acc, demo)
    preset = {"load": {"parameters": 1.7e9, "notes": ["preset qwen3-1.7b: published config, seeded random weights"]}}
    assert "random weights" in accuracy_context(acc, preset)
    assert accuracy_context({**acc, "mean": 0.6}, demo) == ""
    big = {"load": {"parameters": 8e9, "notes": []}, "config": {"workload": {"kind": "gsm8k"}}}
    assert accuracy_context(acc, big) == ""  # a real 8 B model at 0% is worth a look: no excuse given
