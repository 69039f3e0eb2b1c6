"""CSV, Markdown and PNG export of run / compare / soak reports, and loading report files."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from pathlib import Path

import pytest

from infermeter.errors import InfermeterError
from infermeter.render.export import CSV_FIELDS, to_csv, to_markdown, write_pngs
from infermeter.results.files import load_reports


def _fixtures():  # noqa: ANN202 - a module
    """The hand-made reports of test_html.py (test modules are not importable as a package here)."""
    spec = importlib.util.spec_from_file_location("_report_fixtures", Path(__file__).with_name("test_html.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FX = _fixtures()


def _csv(report: dict) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(to_csv(report))))


def test_run_csv_has_one_row_per_metric_and_point() -> None:
    rows = _csv(FX.run_report())
    assert tuple(rows[0]) == CSV_FIELDS
    by = {(r["section"], r["name"]): r for r in rows}
    assert float(by["latency", "ttft_s"]["mean"]) == pytest.approx(0.05)
    assert by["latency", "ttft_s"]["unit"] == "s" and by["latency", "ttft_s"]["n"] == "4"
    assert float(by["context_load", "ttft@64"]["ci95_high"]) == pytest.approx(0.044)
    assert float(by["batch_efficiency", "efficiency@b8"]["mean"]) == 0.5
    assert by["batch_efficiency", "knee_batch_size"]["mean"] == "4"
    assert by["memory", "peak_rss"]["unit"] == "bytes"
    assert {r["kind"] for r in rows} == {"run"}


def test_compare_and_soak_csv() -> None:
    rows = _csv(FX.compare_report())
    ratio = next(r for r in rows if r["section"] == "ratio" and r["name"].startswith("decode_tps"))
    assert ratio["name"] == "decode_tps:<b>fast</b>/a" and float(ratio["mean"]) == 3.0 and ratio["unit"] == "ratio"
    assert any(r["section"] == "variant:a" and r["name"] == "decode_tps" for r in rows)
    soak = {(r["section"], r["name"]): r for r in _csv(FX.soak_report())}
    assert float(soak["config:none", "rss_slope"]["mean"]) == 2**20 and soak["config:none", "rss_slope"]["n"] == "8"
    assert soak["config:gc", "e2e_s@call5"]["unit"] == "s"


def test_csv_neutralizes_formulas() -> None:
    report = FX.compare_report()
    report["compare"]["variants"]["=cmd()"] = report["compare"]["variants"].pop("a")
    assert "'variant:=cmd()" not in to_csv(report)  # the cell starts with "variant:", harmless
    report["compare"]["ratios"][0]["metric"] = "=cmd()"
    assert "'=cmd():" in to_csv(report)


def test_markdown_tables_escape_report_text() -> None:
    md = to_markdown(FX.compare_report())
    assert "### A/B ratios (variant / baseline)" in md and "| metric | better | variant |" in md
    assert "&lt;b&gt;fast&lt;/b&gt;" in md and "<b>" not in md
    run = FX.run_report()
    run["warnings"].append("a | pipe\nand newline")
    md = to_markdown(run)
    assert "### six metrics" in md and "### batch efficiency" in md and "knee at batch 4" in md
    assert "a \\| pipe and newline" in md
    assert "stable: gc; unstable: none" in to_markdown(FX.soak_report())


def test_unknown_kind_exports_empty() -> None:
    sweep = {"schema_version": 1, "kind": "sweep", "status": "complete"}
    assert to_csv(sweep).strip() == ",".join(CSV_FIELDS)
    assert to_markdown(sweep).startswith("## infermeter sweep")


def test_write_pngs(tmp_path: Path) -> None:
    paths = write_pngs(FX.run_report(), tmp_path / "png")
    assert [p.name for p in paths] == ["run-latency-cdf.png", "run-batch-curve.png", "run-context-curve.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    assert len(write_pngs(FX.soak_report(), tmp_path / "soak")) == 1


def test_load_reports_from_files_and_directories(tmp_path: Path) -> None:
    for name, report in (("a", FX.run_report()), ("b/c", FX.soak_report())):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "report.json").write_text(json.dumps(report))
    loaded = load_reports([tmp_path / "a" / "report.json", tmp_path])
    assert [r["kind"] for r in loaded] == ["run", "soak"]  # the file named twice is loaded once


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file or directory"),
        ("{not json", "not JSON"),
        ('{"kind": "run"}', "not an infermeter report (no schema_version)"),
        ("[1, 2]", "not an infermeter report"),
        ('{"schema_version": 99}', "upgrade infermeter"),
    ],
)
def test_load_reports_errors_name_the_file(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InfermeterError, match=re.escape(message)) as err:
        load_reports([path])
    assert str(path) in str(err.value)


def test_load_reports_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InfermeterError, match="no report.json"):
        load_reports([tmp_path])


def test_load_report_has_a_points_table_and_errors() -> None:
    from infermeter.render.export import tables, to_markdown

    d = {"n": 10, "mean": 0.02, "median": 0.02, "p99": 0.03}
    point = {"profile": "poisson:5", "target_rate": 5.0, "concurrency": None, "achieved_rate": 4.9,
             "request_rate": 4.8, "output_throughput": 300.0, "ttft_s": d, "tpot_s": d, "itl_s": d, "e2e_s": d,
             "requests": {"ok": 9, "sent": 10, "measured": 10, "errors": 1}, "goodput": None}  # fmt: skip
    report = {"kind": "load", "status": "partial", "load": {"model": "m"},
              "load_run": {"points": [point], "errors_by_reason": {"HTTP 429: slow down": 1}}}  # fmt: skip
    t = tables(report)
    assert [x.name for x in t] == ["load", "errors"]
    assert t[0].headers == ["metric", "poisson:5"] and t[0].rows[0] == ["target", "5.00 req/s"]
    assert t[1].rows == [["HTTP 429: slow down", "1"]]
    assert "| TTFT p50 / p95 / p99 | 20.0 ms / - / 30.0 ms |" in to_markdown(report)
