"""The roofline and energy sections of a run report, from the worker's result and the records.

The device's ceilings come from the cached calibration matching the report's environment
(``infermeter calibrate``); without one the achieved numbers are still reported and the shares are
left out, with a note saying how to get them.
"""

from __future__ import annotations

from typing import Any

from infermeter.core.calibrate import NOT_CALIBRATED, lookup_for_environment
from infermeter.core.records import RequestRecord
from infermeter.metrics.energy import energy_summary
from infermeter.metrics.roofline import Geometry, above_limit_warnings, roofline


def sections(result: dict[str, Any], records: list[RequestRecord]) -> tuple[dict[str, Any], list[str]]:
    """``{"roofline": ..., "energy": ...}`` for the metrics section, and the warnings they raise."""
    load = result.get("load") or {}
    geometry = (load.get("extra") or {}).get("geometry")
    roof = None
    if geometry:
        device = load.get("device", "cpu")
        calibration = lookup_for_environment(result.get("environment"), device)
        ceilings = None
        if calibration:
            ceilings = {"copy_bandwidth": calibration["copy_bandwidth"], "matmul": calibration["matmul"]}
        main = [r for r in records if r.phase == "dataset"]
        batch = [r for r in records if r.phase == "batch"]
        roof = roofline(Geometry.from_dict(geometry), main, ceilings, load.get("dtype", ""), batch)
        if roof is not None:
            roof["device"] = device
            roof["calibration"] = (
                {"identity": calibration["identity"], "time_utc": calibration["time_utc"]}
                if calibration
                else {"missing": NOT_CALIBRATED}
            )
    energy = energy_summary(result.get("groups", []), records, result.get("energy_unavailable"))
    return {"roofline": roof, "energy": energy}, above_limit_warnings(roof)
