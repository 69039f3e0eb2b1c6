"""What a comparison keeps when one variant fails: its reason, and every call it had measured.

A variant's worker that fails (a server gone mid-run, an option only that variant has, a device that
is absent) raises in the parent, and the round's result never comes back. Its records are on disk
already (each call is appended to ``records.jsonl`` as it finishes), so the calls it measured before
failing are rebuilt from them, with the same per-call numbers a finished worker reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infermeter.core.records import RECORDS_FILE, read_records
from infermeter.core.redact import clean
from infermeter.scenarios.compare_workers import call_metrics


def failed_variant(run_dir: Path, name: str, round_index: int, error: BaseException | str) -> dict[str, Any]:
    """The report entry of a variant whose worker failed in round ``round_index``: why, and its measured calls."""
    calls: dict[int, list[Any]] = {}
    for r in read_records(run_dir / RECORDS_FILE):
        if r.phase == "compare" and r.extra.get("variant") == name and r.extra.get("round") == round_index:
            calls.setdefault(r.batch_id, []).append(r)
    rows = [{**call_metrics(recs), "requests": len(recs), "failed": sum(r.error is not None for r in recs)}
            for _, recs in sorted(calls.items())]  # fmt: skip
    return {"variant": name, "round": round_index, "error": clean(str(error), 500), "calls": rows}


def failure_line(failed: dict[str, Any]) -> str:
    """One line for the report's readers: which variant failed, where, why, and what was kept."""
    n = len(failed.get("calls") or [])
    return (
        f"variant {failed['variant']} failed in round {failed['round'] + 1}: {failed['error']} "
        f"({n} measured call{'s' * (n != 1)} of that worker kept)"
    )


def failed_call_rows(failed: dict[str, Any]) -> list[list[str]]:
    """The failed variant's calls as table cells: call, E2E ms, TTFT ms, decode tok/s, failed/sent."""

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{1000 * v:.1f}"

    rows = []
    for k, c in enumerate(failed.get("calls") or [], 1):
        tps = "-" if c.get("decode_tps") is None else f"{c['decode_tps']:.1f}"
        rows.append(
            [str(k), ms(c.get("e2e_s")), ms(c.get("ttft_s")), tps, f"{c.get('failed', 0)}/{c.get('requests', 0)}"]
        )
    return rows
