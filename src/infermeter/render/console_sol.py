"""Console rows for the roofline (MBU, MFU, bandwidth limit) and energy of a run report."""

from __future__ import annotations

from typing import Any


def _pct(share: dict[str, Any] | None) -> str:
    if not share:
        return "-"
    ci = ""
    if share.get("ci95_low") is not None:
        ci = f" [{share['ci95_low']:.0%}, {share['ci95_high']:.0%}]"
    flag = " (ABOVE 100%: a measurement error)" if share["above_limit"] else ""
    return f"{share['mean']:.0%}{ci}{flag}"


def roofline_line(r: dict[str, Any]) -> str:
    """'decode at 22% of this GPU's memory bandwidth limit (1,244 tok/s at batch 1)', or what is known."""
    what = "GPU" if str(r.get("device", "")).startswith("cuda") else "CPU"
    bw = r.get("decode_bandwidth")
    achieved = f"{bw['mean'] / 1e9:,.1f} GB/s achieved" if bw else "no decode measured"
    step = f"{r['bytes_per_decode_step_batch1'] / 1e9:.2f} GB per decode step at batch 1"
    if r.get("mbu") is None:
        missing = (r.get("calibration") or {}).get("missing", "no calibration")
        return f"{achieved}, {step}; {missing}"
    line = (
        f"decode at {_pct(r['mbu'])} of this {what}'s memory bandwidth limit "
        f"({r['limit_tps_batch1']:,.0f} tok/s at batch 1); {achieved}, {step}"
    )
    if r.get("mfu"):
        line += f"; prefill at {_pct(r['mfu'])} of matmul peak (MFU)"
    return line


def batch_line(r: dict[str, Any]) -> str | None:
    """MBU per batch size and where decode turns compute-bound."""
    points = r.get("batches") or []
    if not points:
        return None
    parts = []
    for p in points:
        mbu = (
            f"{p['mbu']['mean']:.0%}"
            if p.get("mbu")
            else (f"{p['decode_bandwidth'] / 1e9:.1f} GB/s" if p.get("decode_bandwidth") else "-")
        )
        mfu = f"/{p['decode_mfu']:.0%} MFU" if p.get("decode_mfu") is not None else ""
        parts.append(f"b{p['batch_size']}: {mbu}{mfu}")
    ridge = r.get("compute_bound_from_batch")
    if ridge:
        parts.append(f"compute-bound from ~b{ridge:.0f}")
    elif r.get("ceilings"):
        parts.append("bandwidth-bound at every batch size at this context (KV reads grow with the batch)")
    return "  ".join(parts)


def energy_line(e: dict[str, Any]) -> str:
    """Joules per token and request, power, per batch size; or why energy is missing."""
    if not e.get("available"):
        return f"- ({e.get('reason', 'not available on this machine')})"
    d = e.get("dataset") or {}
    parts = []
    if d.get("j_per_token") is not None:
        parts.append(f"{d['j_per_token']:.3g} J/token, {d['j_per_request']:.3g} J/request")
    if d.get("avg_w") is not None:
        parts.append(f"avg {d['avg_w']:.0f} W")
    if e.get("peak_w") is not None:
        parts.append(f"peak {e['peak_w']:.0f} W")
    for b in e.get("by_batch_size") or []:
        if b["j_per_token"] is not None:
            parts.append(f"b{b['batch_size']}: {b['j_per_token']:.3g} J/token")
    return ", ".join(parts) + f" ({e['source']}, whole device)"


def sol_lines(m: dict[str, Any]) -> list[list[str]]:
    """[label, text] rows for the roofline and energy of a run's metrics (console, HTML, Markdown)."""
    out = []
    r = m.get("roofline")
    if r:
        out.append(["roofline", roofline_line(r)])
        line = batch_line(r)
        if line:
            out.append(["  by batch size (MBU)", line])
    if m.get("energy"):
        out.append(["energy", energy_line(m["energy"])])
    return out


def add_rows(t: Any, m: dict[str, Any]) -> None:
    """Append the roofline and energy rows to a run's summary table."""
    for label, text in sol_lines(m):
        t.add_row(label, text)
