"""`infermeter sweep` with a huge grid: past 1,000 points one warning line, past 10,000 exit 2 unless
--yes-large-sweep. No point is measured here: every point asks for more than tiny-qwen3's 40,960
positions, so once the size check has spoken the context check refuses the whole sweep (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration

BASE = ("sweep", "--quiet", "--output", "out", "--model", "tiny-qwen3", "--workload", "synthetic")
LONG = ("--set", "prompt_len=" + ",".join(str(n) for n in range(41000, 41011)), "--set",
        "top_k=" + ",".join(str(k) for k in range(1, 12)))  # fmt: skip


def _lines(proc) -> list[str]:  # noqa: ANN001
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc.stderr.strip().splitlines()


def test_more_than_1000_points_warn_once(tmp_path: Path) -> None:
    proc = run_cli(*BASE, *LONG, "--set", "seed=" + ",".join(str(s) for s in range(9)), tmp=tmp_path)
    warning, error = _lines(proc)
    assert warning.startswith("infermeter: warning: 1,089 sweep points: at least 3.0 h"), warning
    assert "1089 of 1089 sweep points do not fit" in error and not (tmp_path / "out").exists()


def test_more_than_10000_points_are_refused_unless_allowed(tmp_path: Path) -> None:
    grid = (*LONG, "--set", "seed=" + ",".join(str(s) for s in range(90)))  # 11 * 11 * 90 = 10,890
    (error,) = _lines(run_cli(*BASE, *grid, tmp=tmp_path))
    assert "10,890 sweep points" in error and "refused" in error and "--yes-large-sweep" in error

    warning, error = _lines(run_cli(*BASE, *grid, "--yes-large-sweep", tmp=tmp_path))
    assert "warning: 10,890 sweep points" in warning and "10890 of 10890 sweep points do not fit" in error
    assert not (tmp_path / "out").exists()
