"""A declared ``model.device_map`` is applied and verified: on CPU the map {"": "cpu"} runs and the
report lists tensors and bytes per device; a map naming a device the run was not given is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration

SMALL = ("--model", "tiny-qwen3", "--device", "cpu", "--workload", "synthetic", "--limit", "2", "--batch-size", "1")
SMALL += ("--prompt-len", "8", "--max-new-tokens", "3", "--prompt-lens", "", "--batch-sizes", "")


def test_a_declared_device_map_is_applied_and_reported_per_device(tmp_path: Path) -> None:
    proc = run_cli(
        "run", "--json", "--output", str(tmp_path), *SMALL, "--set", 'model.device_map={"": "cpu"}', tmp=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    load = json.loads(proc.stdout)["load"]
    assert load["extra"]["device_map"] == {"": "cpu"}
    per = load["extra"]["per_device"]
    assert list(per) == ["cpu"] and per["cpu"]["bytes"] >= load["weights_bytes"] > 0


def test_a_device_map_outside_the_given_devices_is_one_line(tmp_path: Path) -> None:
    bad = 'model.device_map={"model": "cpu", "lm_head": "cuda:1"}'
    proc = run_cli("run", "--output", str(tmp_path), *SMALL, "--set", bad, tmp=tmp_path)
    assert proc.returncode != 0
    assert "device_map places modules on cuda:1, not among --device cpu" in proc.stderr
    assert "Traceback" not in proc.stderr
