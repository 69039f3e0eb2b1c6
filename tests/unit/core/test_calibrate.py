"""Calibration: measured on this CPU (tiny buffers), cached per device identity, found again."""

from __future__ import annotations

import json

from infermeter.core import calibrate


def test_calibrate_caches_and_force_remeasures(tmp_path, monkeypatch):
    monkeypatch.setenv("INFERMETER_CACHE", str(tmp_path))
    data, cached = calibrate.calibrate("cpu", repeats=3, quick=True)
    assert not cached
    assert data["copy_bandwidth"]["n"] == 3 and data["copy_bandwidth"]["mean"] > 0
    assert set(data["matmul"]) == {"bfloat16", "float32"}
    assert all(d["n"] == 3 and d["ci95_low"] <= d["mean"] <= d["ci95_high"] for d in data["matmul"].values())
    path = calibrate.path_for(data["identity"])
    assert path.is_file() and path.parent == tmp_path / "calibration"
    again, cached = calibrate.calibrate("cpu", repeats=3, quick=True)
    assert cached and again["time_utc"] == data["time_utc"]
    forced, cached = calibrate.calibrate("cpu", force=True, repeats=2, quick=True)
    assert not cached and forced["copy_bandwidth"]["n"] == 2
    env = {"cpu": data["identity"]["name"], "cuda": {"available": False}}
    assert calibrate.lookup_for_environment(env, "cpu")["copy_bandwidth"]["n"] == 2
    assert calibrate.lookup_for_environment(env, "cuda") is None


def test_other_device_or_version_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("INFERMETER_CACHE", str(tmp_path))
    ident = {"device": "cuda", "name": "NVIDIA H200", "driver": "580.1"}
    p = calibrate.path_for(ident)
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"version": calibrate.VERSION, "identity": ident, "copy_bandwidth": {"mean": 1}}))
    env = {"cuda": {"devices": ["NVIDIA H200"], "driver": "580.1"}}
    assert calibrate.lookup_for_environment(env, "cuda") is not None
    assert calibrate.lookup_for_environment({"cuda": {"devices": ["NVIDIA H200"], "driver": "590.2"}}, "cuda") is None
    assert calibrate.lookup_for_environment({"cuda": {"devices": ["NVIDIA H100"]}}, "cuda") is None
    p.write_text(json.dumps({"version": 0, "identity": ident}))
    assert calibrate.load(ident) is None
