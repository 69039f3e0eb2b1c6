"""The metric registry: one entry + its function, and the metric shows up in every view.

A fake metric is registered here (and removed afterwards) without touching any other module: it
must appear in the run report's metrics, the console table, CSV, Markdown, HTML, the results
database's measurements and ``diff``, with the direction and unit it was registered with.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from infermeter.core.records import RequestRecord
from infermeter.metrics import registry
from infermeter.metrics.compute import compute
from infermeter.render.console import render
from infermeter.render.export import to_csv, to_markdown
from infermeter.render.html import render_html
from infermeter.results.diff import IMPROVED, diff_runs
from infermeter.results.measurements import measurements_from_report
from infermeter.results.store import ResultStore

FAKE = "prompt_speed_tps"


def _fixtures():  # noqa: ANN202 - a module
    path = Path(__file__).resolve().parents[1] / "render" / "test_html.py"
    spec = importlib.util.spec_from_file_location("_report_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _prompt_speed(records: list[RequestRecord]) -> list[float]:
    """Prompt tokens per second of TTFT, per request (a made-up metric for this test)."""
    return [r.prompt_tokens / (r.token_times[0] - r.t_send) for r in records if r.token_times]


@pytest.fixture
def fake_metric() -> Iterator[registry.Metric]:
    m = registry.register(
        registry.Metric(
            FAKE,
            "prompt speed",
            "tok/s",
            registry.HIGHER,
            registry.REQUEST,
            samples=_prompt_speed,
            doc="prompt tokens / TTFT",
        )  # fmt: skip
    )
    yield m
    registry.unregister(FAKE)


def _report(scale: float) -> dict:
    fx = _fixtures()
    rep = fx.run_report()
    for r in rep["records"]:  # faster prompts in B: TTFT shrinks with the scale
        r["token_times"] = [r["t_send"] + (t - r["t_send"]) / scale for t in r["token_times"]]
    records = [RequestRecord.from_dict(r) for r in rep["records"]]
    rep["metrics"] = {**rep["metrics"], **{k: v for k, v in compute(records, [], 0).items() if k == FAKE}}
    return rep


def test_lookup_direction_and_unit_of_stored_names() -> None:
    assert registry.direction("context.ttft_s@512") == registry.LOWER
    assert registry.direction("variant.eager.decode_tps") == registry.HIGHER
    assert registry.direction("load.concurrent8.goodput.fraction") == registry.HIGHER
    assert registry.direction("memory.weights_bytes") == registry.NEUTRAL
    assert registry.unit("batch.throughput@8") == "tok/s"
    assert registry.get("ttft_s").unit_of_analysis == registry.REQUEST
    assert registry.get("decode_tps").unit_of_analysis == registry.BATCH


def test_a_registered_metric_reaches_every_view(fake_metric: registry.Metric, tmp_path: Path) -> None:
    a, b = _report(1.0), _report(2.0)
    assert a["metrics"][FAKE]["n"] == 4 and b["metrics"][FAKE]["mean"] == pytest.approx(2 * a["metrics"][FAKE]["mean"])

    buf = io.StringIO()
    render(a, Console(file=buf, width=200))
    assert "prompt speed" in buf.getvalue()
    assert FAKE in to_csv(a)
    assert "prompt speed" in to_markdown(a)
    assert "prompt speed" in render_html([a])

    store = ResultStore(tmp_path / "results.db")
    for run_id, rep in (("run-a", a), ("run-b", b)):
        rep["run_dir"] = str(tmp_path / run_id)
        store.begin_run(run_id, "run", rep["config"], rep["environment"], str(tmp_path / run_id / "report.json"))
        store.finish_run(run_id, rep)
    meas_a, meas_b = store.measurements("run-a"), store.measurements("run-b")
    assert meas_a[FAKE]["unit"] == "tok/s" and len(meas_a[FAKE]["samples"]) == 4
    row = next(r for r in diff_runs(meas_a, meas_b) if r.name == FAKE)
    assert row.direction == registry.HIGHER and row.verdict == IMPROVED


def test_unregistered_metric_is_gone_from_views() -> None:
    names = [m["name"] for m in measurements_from_report(_report(1.0))]
    assert FAKE not in names and "ttft_s" in names
