"""A load report's plots, tables, HTML and CSV, from a report assembled out of hand-made records."""

from __future__ import annotations

import csv
import io

from infermeter.core.records import RequestRecord
from infermeter.render.export import CSV_FIELDS, tables, to_csv, to_markdown
from infermeter.render.html import render_html
from infermeter.render.plots import figures
from infermeter.scenarios.load_analysis import assemble
from infermeter.scenarios.load_extras import extra_warnings
from infermeter.scenarios.load_profiles import LoadOptions
from infermeter.scenarios.server_metrics import Scraper

T0 = 1000.0


def _rec(point: int, k: int, t: float, phase: str, profile: str, ttft: float = 0.05, i: int = 0) -> RequestRecord:
    times = [t + ttft + 0.01 * i for i in range(8)]
    return RequestRecord(request_id=f"load-{k}", phase=phase, batch_id=k, batch_size=1, prompt_tokens=16, t_send=t,
                         token_times=times, target_output_tokens=8,
                         extra={"profile": profile, "point": point, "k": i, "scheduled_s": t - T0, "send_lag_s": 0.002,
                                "t_headers": t + 0.01})  # fmt: skip


def _metrics(running: int, kv: float, queries: int, hits: int) -> bytes:
    return (f"vllm:num_requests_running {running}\nvllm:num_requests_waiting 0\nvllm:kv_cache_usage_perc {kv}\n"
            f"vllm:prefix_cache_queries_total {queries}\nvllm:prefix_cache_hits_total {hits}\n").encode()  # fmt: skip


def load_report(slo_search: bool = True) -> dict:
    """A two-point SLO search (throughput, then poisson:5) with server metrics; also used by the browser test."""
    recs, k = [], 0
    for point, profile, n, gap, ttft in ((0, "throughput", 20, 0.02, 0.5), (1, "poisson:5", 20, 0.2, 0.05)):
        start = T0 + 10 * point
        for i in range(n):
            phase = "warmup:load" if i < 2 else "cooldown:load" if i >= n - 2 else "load"
            recs.append(_rec(point, k, start + gap * i, phase, profile, ttft, i))
            k += 1
    sc = Scraper("http://127.0.0.1:1/metrics", now=lambda: 0.0)
    sc.raw = [(T0 - 0.5 + s, _metrics(s % 5, 0.1 * (s % 5), 100 * s, 30 * s)) for s in range(16)]
    opts = LoadOptions(profile="slo-search" if slo_search else "throughput", max_requests=20,
                       slo={"ttft": 0.2}, warmup="10%", cooldown="10%")  # fmt: skip
    run = assemble(recs, opts, {"scraper": sc, "server_metrics_url": sc.url, "connections_warmed": 8})
    return {"schema_version": 1, "kind": "load", "status": "complete", "error": None, "run_dir": "/x/20261130-load-ab",
            "load": {"model": "null-model", "extra": {"base_url": "http://127.0.0.1:1"}}, "load_run": run,
            "warnings": extra_warnings(run), "environment": {}, "config": {}}  # fmt: skip


def test_assembled_sections() -> None:
    run = load_report()["load_run"]
    p0, p1 = run["points"]
    assert p0["client"]["send_lag_s"]["n"] == 16 and abs(p0["client"]["to_headers_s"]["median"] - 0.01) < 1e-9
    assert p0["ttft_s"]["p95"] is not None
    sm = run["server_metrics"]
    assert sm["available"] and sm["samples"] == 16 and len(sm["points"]) == 2
    assert abs(sm["points"][1]["prefix_cache_hit_rate"] - 0.3) < 1e-9
    tl = run["timeline"]
    assert len(tl["requests"]) == 40 and [p["profile"] for p in tl["points"]] == ["throughput", "poisson:5"]
    assert tl["points"][1]["window"][0] > tl["points"][1]["span"][0]  # warm-up excluded
    s = run["slo_search"]
    assert s["best_rate"] == 5.0 and [v["meets"] for v in s["points"]] == [False, True]


def test_figures_tables_and_html() -> None:
    r = load_report()
    assert [f.name for f in figures(r)] == ["load-latency", "load-throughput", "load-goodput", "load-timeline"]
    assert [t.name for t in tables(r)] == ["load", "slo-search", "server", "client"]
    page = render_html([r])
    assert page.count('<figure class="plot"') == 4 and "no HTML view" not in page
    assert 'id="report-1-load-timeline"' in page and "KV cache" in page
    md = to_markdown(r)
    assert "### SLO search" in md and "highest rate meeting the SLO for 90% of requests: 5 req/s" in md


def test_server_without_metrics_is_said() -> None:
    r = load_report(slo_search=False)
    note = "the server exposes no metrics at http://h/metrics (HTTP 404)"
    r["load_run"]["server_metrics"] = {"url": "http://h/metrics", "available": False, "points": [], "note": note}
    server = next(t for t in tables(r) if t.name == "server")
    assert "HTTP 404" in server.rows[0][1]
    assert any("exposes no metrics" in w for w in extra_warnings(r["load_run"]))
    assert [f.name for f in figures(r)][-1] == "load-timeline"  # drawn without the server panel


def test_csv_rows_per_point_with_report_id() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(load_report()))))
    assert tuple(rows[0]) == CSV_FIELDS
    assert {r["report_id"] for r in rows} == {"20261130-load-ab"} and {r["kind"] for r in rows} == {"load"}
    by = {(r["section"], r["name"]): r for r in rows}
    assert by["point:poisson:5", "ttft_s"]["n"] == "16" and by["point:poisson:5", "ttft_s"]["p95"]
    assert float(by["point:poisson:5", "server_prefix_cache_hit_rate"]["mean"]) == 0.3
    assert float(by["slo_search", "best_rate"]["mean"]) == 5.0
    assert ("point:throughput:64", "client_send_lag_s") in by and ("point:throughput:64", "goodput") in by


def test_timeline_names_of_short_points_side_by_side_go_one_under_the_other() -> None:
    from infermeter.render.plots_load import _label_rows

    long_then_short = [
        {"profile": "synchronous", "span": [0.0, 24.0]},
        {"profile": "throughput:64", "span": [27.0, 27.3]},
        {"profile": "constant:22.05", "span": [27.3, 30.0]},
        {"profile": "constant:41.82", "span": [30.0, 32.0]},
    ]
    rows = _label_rows(long_then_short)
    assert rows[0] == 0 and rows[1] == 0  # far apart: same row
    assert rows[2] != rows[1]  # starts where the previous name is still being written
    wide = [{"profile": "a", "span": [0.0, 10.0]}, {"profile": "b", "span": [10.0, 20.0]}]
    assert _label_rows(wide) == [0, 0]
