"""Typed reports: every kind validates, old versions migrate, newer ones are refused, the shipped
JSON Schema is the one the models make."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

from infermeter.errors import InfermeterError
from infermeter.results.files import load_report
from infermeter.results.models import SCHEMA_VERSION, CompareReport, RunReport, json_schema, migrate, validate

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "docs" / "schema" / "report.schema.json"


def _fixtures():  # noqa: ANN202 - a module
    path = Path(__file__).resolve().parents[1] / "render" / "test_html.py"
    spec = importlib.util.spec_from_file_location("_report_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FX = _fixtures()


def _current(report: dict) -> dict:
    return {**copy.deepcopy(report), "schema_version": SCHEMA_VERSION}


def test_each_kind_validates_to_its_model() -> None:
    run = validate(_current(FX.run_report()))
    assert isinstance(run, RunReport) and run.metrics.ttft_s is not None and run.metrics.requests.total == 4
    assert isinstance(validate(_current(FX.compare_report())), CompareReport)
    assert validate(_current(FX.soak_report())).kind == "soak"


def test_an_invalid_report_is_one_line_naming_the_field() -> None:
    bad = _current(FX.run_report())
    bad["metrics"]["requests"]["total"] = "many"
    with pytest.raises(InfermeterError, match=r"not a valid run report: metrics\.requests\.total"):
        validate(bad, "x.json")


def test_version_1_migrates_the_kv_cache_key(tmp_path: Path) -> None:
    old = copy.deepcopy(FX.run_report())
    old.update(schema_version=1, config={"model": {"name": "tiny-qwen3", "cache": "static"}})
    path = tmp_path / "report.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    data = load_report(path)
    assert data["schema_version"] == SCHEMA_VERSION and data["config"]["model"] == {"name": "tiny-qwen3",
                                                                                     "kv_cache": "static"}  # fmt: skip


def test_a_newer_version_is_refused_by_name() -> None:
    with pytest.raises(InfermeterError, match="newer than this infermeter reads"):
        migrate({"schema_version": SCHEMA_VERSION + 1, "kind": "run"}, "future.json")


def test_the_shipped_schema_is_current() -> None:
    shipped = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(json_schema())), (
        "docs/schema/report.schema.json is stale: regenerate it with "
        'python -c "import json; from infermeter.results.models import json_schema; '
        'print(json.dumps(json_schema(), indent=1, sort_keys=True))" > docs/schema/report.schema.json'
    )
