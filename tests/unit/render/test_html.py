"""The HTML report: every section present, every report string escaped (in tables and inside the SVG
plots), nothing fetched from the network. The fixture reports are small hand-made dicts with the
shapes of real run / compare / soak reports (copied from `infermeter run|compare|soak` on tiny-qwen3);
`tests/unit/render/test_export.py` and `tests/integration/test_html_browser.py` reuse them."""

from __future__ import annotations

import copy
import html
import re
from typing import Any

from infermeter.render.figure import to_svg
from infermeter.render.html import render_html
from infermeter.render.plots import figures

EVIL_TEXT = "</td><script>alert(1)</script>"
EVIL_VARIANT = "<b>fast</b>"
ENV = {"infermeter": "0.1.0", "time_utc": "2026-11-21T09:42:20+00:00", "python": "3.11.7", "cpu": "AMD EPYC"}
ENV |= {"packages": {"torch": "2.13.0+cpu"}, "cuda": {"available": False}}


def _stat(mean: float, n: int = 4, spread: float = 0.1) -> dict[str, Any]:
    """A stats.summarize()-shaped summary."""
    return {
        "n": n, "mean": mean, "median": mean, "p90": mean * 1.1, "p99": mean * 1.2, "stdev": mean * spread,
        "min": mean * 0.9, "max": mean * 1.2, "ci95_low": mean * 0.9, "ci95_high": mean * 1.1, "cv": spread,
        "rel_ci_halfwidth": 0.1, "unstable": spread > 0.1,
    }  # fmt: skip


def _record(i: int, phase: str, *, batch: int = 1, prompt: int = 16, text: str | None = None) -> dict[str, Any]:
    t0 = 100.0 + i
    times = [t0 + 0.05 + 0.01 * k * (1 + i % 3) for k in range(8)]
    return {
        "request_id": f"{phase}-{i}", "phase": phase, "batch_id": i, "batch_size": batch, "prompt_tokens": prompt,
        "t_send": t0, "token_times": times, "target_output_tokens": 8, "repeat": 0, "tokens_per_chunk": None,
        "text": text, "reference": None, "score": None, "error": None, "extra": {}, "output_tokens": len(times),
    }  # fmt: skip


def run_report() -> dict[str, Any]:
    """A run report with dataset records (one carrying a hostile text), a context and a batch curve."""
    records = [_record(i, "dataset", text=EVIL_TEXT if i == 0 else f"answer {i} & more") for i in range(4)]
    records += [_record(10, "warmup:dataset"), _record(11, "context", prompt=64)]
    peak = {"rss": 648941568, "rss_method": "vmhwm", "torch_allocated": None, "torch_reserved": None}
    metrics = {
        "requests": {"total": 4, "ok": 4, "errors": 0, "short_outputs": 0, "prompt_tokens": 64, "output_tokens": 32},
        "ttft_s": _stat(0.05), "tpot_s": _stat(0.02), "itl_s": _stat(0.02, 28), "e2e_s": _stat(0.2),
        "decode_tps": _stat(50.0, 2, 0.2), "stream_tps": 48.0, "output_throughput": 40.0,
        "context_load": {"points": [
            {"prompt_tokens": p, "ttft": _stat(0.01 * p / 16, 10), "prefill_tokens_per_s": 1600.0} for p in (16, 64)
        ]},
        "batch_efficiency": {"points": [
            {"batch_size": b, "efficiency": e, "throughput": _stat(20.0 * b * e, 10), "decode_tps": _stat(21.0 * b * e)}
            for b, e in ((1, 1.0), (2, 0.96), (4, 0.9), (8, 0.5))
        ], "knee_batch_size": 4},
        "accuracy": {"n": 4, "correct": 3, "mean": 0.75, "ci95_low": 0.3, "ci95_high": 0.95},
        "memory": {"weights_bytes": 39192064, "phases": {"dataset": peak}, "peak": peak},
    }  # fmt: skip
    return {
        "schema_version": 1, "kind": "run", "status": "complete", "error": None, "run_dir": "/results/run-1",
        "config": {"model": {"name": "tiny-qwen3"}, "workload": {"kind": "jsonl", "path": "<evil>.jsonl"}},
        "environment": ENV, "load": {"model": "tiny-qwen3", "device": "cpu", "dtype": "float32", "load_s": 1.0},
        "first_call": {"first_call_s": 2.4, "steady_call_s": 0.6, "overhead_s": 1.8},
        "groups": [], "metrics": metrics, "warnings": ["decode TPS: stdev is 20.0% of the mean <noisy>"],
        "records": records,
    }  # fmt: skip


def _variant(name: str, tps: float) -> dict[str, Any]:
    calls = [{"e2e_s": 8 / tps, "ttft_s": 0.05, "decode_tps": tps * f, "output_throughput": tps} for f in (0.7, 1, 1.1)]
    rnd = {"variant": name, "round": 0, "load_s": 3.0, "first_call_s": 1.3, "calls": calls, "steady": calls[1]}
    summary = {k: _stat(v) for k, v in (("decode_tps", tps), ("e2e_s", 8 / tps), ("ttft_s", 0.05))}
    summary |= {"first_call_s": _stat(1.3, 2), "load_s": _stat(3.0, 2), "peak_memory": {"rss": 647327744}}
    return {"summary": summary, "rounds": [rnd, {**rnd, "round": 1}]}


def compare_report() -> dict[str, Any]:
    """A two-variant compare report; the second variant's name is markup."""
    ratio = {"metric": "decode_tps", "baseline": "a", "variant": EVIL_VARIANT, "speedup": 3.0, "ci95_low": 2.5}
    ratio |= {"ci95_high": 3.5, "n": 2, "significant": True, "verdict": f"{EVIL_VARIANT} is 3.00x faster than a"}
    ratio2 = {**ratio, "metric": "e2e_s", "speedup": 0.9, "ci95_low": 0.5, "ci95_high": 1.6, "significant": False}
    ratio2["verdict"] = f"no significant difference between {EVIL_VARIANT} and a on e2e_s"
    compare = {
        "options": {"metrics": ["decode_tps", "e2e_s"], "rounds": 2}, "names": ["a", EVIL_VARIANT],
        "orders": [["a", EVIL_VARIANT], [EVIL_VARIANT, "a"]], "rounds": 2,
        "variants": {"a": _variant("a", 36.0), EVIL_VARIANT: _variant(EVIL_VARIANT, 108.0)},
        "ratios": [ratio, ratio2],
    }  # fmt: skip
    configs = {n: {"model": {"name": "tiny-qwen3"}} for n in ("a", EVIL_VARIANT)}
    return {
        "schema_version": 1, "kind": "compare", "status": "complete", "error": None, "run_dir": "/results/cmp",
        "configs": configs, "environment": ENV, "compare": compare,
    }  # fmt: skip


def _soak_config(name: str, growth: float) -> dict[str, Any]:
    rows = [
        {"config": name, "call": k, "e2e_s": 0.5 + 0.01 * (k % 3), "memory": {"rss": 600_000_000 + int(growth * k)}}
        for k in range(1, 11)
    ]
    trend = {"n": 8, "slope": growth, "slope_ci95": [growth * 0.8, growth * 1.2 + 1]}
    series = {"e2e_s": {"verdict": "stable", "decay": False, "line": "E2E stable over 8 calls", "trend": trend}}
    series["rss"] = {"verdict": "increasing" if growth else "stable", "decay": bool(growth), "line": "RSS +1 MiB/call"}
    series["rss"]["trend"] = trend
    return {
        "name": name, "strategy": name, "batch_size": 1, "calls": 10, "trend_calls": 8,
        "at": {"1": 0.9, "5": 0.5, "10": 0.51}, "last": {"call": 10, "e2e_s": 0.51},
        "steady_e2e_per_item_s": 0.5, "peak": {"view": "rss", "bytes": 646967296}, "stable": not growth,
        "series": series, "rows": rows, "status": "complete",
    }  # fmt: skip


def soak_report() -> dict[str, Any]:
    """Two soak configurations, one leaking 1 MiB per call."""
    soak = {
        "options": {"calls": 10, "warmup_calls": 2, "at": [1, 5, 10], "inputs": "varied", "duration_s": None},
        "configurations": [_soak_config("none", 2**20), _soak_config("gc", 0)],
        "verdict": {"stable": ["gc"], "unstable": ["none"], "line": "stable: gc; unstable: none"},
    }  # fmt: skip
    return {
        "schema_version": 1, "kind": "soak", "status": "complete", "error": None, "run_dir": "/results/soak",
        "config": {"model": {"name": "tiny-qwen3", "device": "cpu"}}, "configs": {}, "environment": ENV,
        "soak": soak, "warnings": [],
    }  # fmt: skip


def all_reports() -> list[dict[str, Any]]:
    """One report of each kind, in page order."""
    return [run_report(), compare_report(), soak_report()]


# -- tests -----------------------------------------------------------------------------------------
def test_every_section_and_plot_is_present() -> None:
    page = render_html(all_reports())
    for i, kind in enumerate(("run", "compare", "soak"), 1):
        assert f'<section class="report" id="report-{i}" data-kind="{kind}">' in page
        assert f'id="report-{i}-environment"' in page
    for sid in ("report-1-summary", "report-1-latency", "report-1-context", "report-1-batch", "report-1-records"):
        assert f'id="{sid}"' in page
    for fid in ("report-1-run-latency-cdf", "report-1-run-batch-curve", "report-1-run-context-curve"):
        assert f'id="{fid}"' in page
    assert 'id="report-2-variants"' in page and 'id="report-2-ratios"' in page
    assert 'id="report-2-compare-ratios"' in page and 'id="report-2-compare-decode-tps"' in page
    assert 'id="report-3-soak"' in page and 'id="report-3-trends"' in page and 'id="report-3-soak-calls"' in page
    assert page.count("<svg") == 6
    assert "knee at batch 4" in page


def test_report_strings_are_escaped_everywhere() -> None:
    page = render_html(all_reports())
    assert EVIL_TEXT not in page and "<script>alert" not in page
    assert "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert EVIL_VARIANT not in page and "&lt;b&gt;fast&lt;/b&gt;" in page
    assert "&lt;noisy&gt;" in page and "&lt;evil&gt;.jsonl" in page  # warnings, config
    assert "answer 1 &amp; more" in page
    assert page.count("<script") == 1  # only the page's own sort script


def test_svg_text_from_data_is_escaped_by_matplotlib() -> None:
    spec = next(s for s in figures(compare_report()) if s.name == "compare-ratios")
    svg = to_svg(spec.figure(), prefix="x")
    assert "<text" in svg  # svg.fonttype none: labels are real text, so escaping matters
    assert "&lt;b&gt;fast&lt;/b&gt;" in svg and EVIL_VARIANT not in svg


def test_no_network_references() -> None:
    page = render_html(all_reports())
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "url(http" not in page and "@import" not in page and "<link" not in page
    # the only absolute URLs are SVG/XLink namespace names, which are identifiers, not fetched
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp and html.unescape(csp.group(1)).startswith("default-src 'none'")  # and the CSP forbids fetching


def test_svg_ids_are_unique_per_figure() -> None:
    page = render_html(all_reports())
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_partial_and_unknown_reports_still_render() -> None:
    failed = copy.deepcopy(run_report())
    failed |= {"status": "failed", "error": "worker died: <oom>", "records": [], "metrics": {}}
    future = {"schema_version": 1, "kind": "future-kind", "status": "complete", "environment": ENV}
    page = render_html([failed, future])
    assert "worker died: &lt;oom&gt;" in page
    assert "no HTML view for report kind future-kind" in page
