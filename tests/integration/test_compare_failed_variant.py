"""A compare whose variant fails mid-way keeps what it measured, says which variant failed and why, and
`infermeter report` renders that folder in every format.

Two null servers on loopback, one per variant (backend openai: no model loads, seconds per worker).
Variant b's server exits abruptly after its 40th token chunk: 8 tokens a response, so after its warm-up
call and three measured calls, in the middle of the fourth; that call's only request fails, the worker
stops with "every request failed", and the comparison ends "failed".
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration


def test_a_variant_failing_mid_way_is_reported_and_renders(tmp_path: Path, null_server) -> None:  # noqa: ANN001
    a = null_server("--tokens", "8", "--pace-ms", "2")
    b = null_server("--tokens", "8", "--pace-ms", "2", "--die-after-chunks", "40")
    proc = run_cli("compare", "--quiet", "--output", "out", "--backend", "openai", "--model", "tiny-qwen3",
                   "--workload", "synthetic", "--prompt-len", "16", "--max-new-tokens", "8", "--batch-size", "1",
                   "--calls", "5", "--rounds", "2", "--max-rounds", "2",
                   "--variant", f"a:base_url={a.url}", "--variant", f"b:base_url={b.url}", tmp=tmp_path)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines() == [
        "infermeter: error: variant b failed in round 1: measured call 4: every request failed (stream ended early)"
    ]

    (folder,) = (tmp_path / "out").iterdir()
    rep = json.loads((folder / "report.json").read_text())
    assert rep["status"] == "failed" and rep["error"].startswith("variant b failed in round 1")
    failed = rep["compare"]["failed"]
    assert (failed["variant"], failed["round"]) == ("b", 0)
    calls = failed["calls"]  # the three measured calls before the crash, and the one it broke
    assert [c["failed"] for c in calls] == [0, 0, 0, 1]
    assert all(c["e2e_s"] > 0 and c["decode_tps"] > 0 for c in calls[:3]) and calls[3]["e2e_s"] is None
    assert any("variant b failed in round 1" in w for w in rep["warnings"])

    shown = run_cli("report", str(folder), tmp=tmp_path)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr[-3000:]
    assert "variant b failed in round 1" in " ".join(shown.stdout.split())
    for flag in ("--html", "--md", "--csv"):
        target = tmp_path / f"view.{flag[2:]}"
        got = run_cli("report", str(folder), flag, str(target), tmp=tmp_path)
        assert got.returncode == 0 and "Traceback" not in got.stderr, (flag, got.stderr[-3000:])
        assert target.stat().st_size > 0
    assert "variant b failed in round 1" in (tmp_path / "view.md").read_text()
    assert "failed variant" in (tmp_path / "view.html").read_text()
    rows = list(csv.DictReader((tmp_path / "view.csv").open()))
    kept = [r for r in rows if r["section"] == "failed:b:round1" and r["name"].startswith("e2e_s@")]
    assert [r["name"] for r in kept] == ["e2e_s@call1", "e2e_s@call2", "e2e_s@call3"]
