"""vLLM's ``vllm bench serve`` result JSON: written from a load point's records, and read back.

The export computes every number the way ``vllm/benchmarks/serve.py`` does, from the records of
the measured window: ``completed``/``failed`` requests; token totals of the completed ones;
throughputs over ``duration`` (first send to last token); TTFT, TPOT (per request, ``(e2e - ttft) /
(output - 1)``), ITL (every gap) and E2EL in milliseconds as mean, median, std (population, as
numpy's default) and ``p<N>`` for the chosen percentiles; ``request_goodput`` when SLOs were set.
Field names are checked against vLLM's source by the tests.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.metrics.goodput import meets
from infermeter.metrics.latency import e2e, itl, tpot, ttft, values

METRICS = ("ttft", "tpot", "itl", "e2el")


def _p_word(p: float) -> str:
    return str(int(p)) if int(p) == p else str(p)  # vLLM's own spelling: p99, p99.9


def _describe(name: str, vals_s: Sequence[float], pcts: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(vals_s, dtype=float) * 1000 if len(vals_s) else np.zeros(1)
    out = {f"mean_{name}_ms": float(np.mean(ms)), f"median_{name}_ms": float(np.median(ms)),
           f"std_{name}_ms": float(np.std(ms))}  # fmt: skip
    for p in pcts:
        out[f"p{_p_word(p)}_{name}_ms"] = float(np.percentile(ms, p))
    return out


def _peaks(ok: Sequence[RequestRecord]) -> tuple[float, int]:
    """Most output tokens in one second of the run, and most requests in flight at once (as vLLM)."""
    if not ok:
        return 0.0, 0
    t0 = min(r.t_send for r in ok)
    per_s = np.bincount([int(t - t0) for r in ok for t in r.token_times]) if any(r.token_times for r in ok) else [0]
    events = sorted([(r.t_send, 1) for r in ok] + [(r.token_times[-1], -1) for r in ok if r.token_times])
    live = peak = 0
    for _, d in events:
        live += d
        peak = max(peak, live)
    return float(max(per_s)), peak


def result(records: Sequence[RequestRecord], slo: dict[str, float], pcts: Sequence[float]) -> dict[str, Any]:
    """The benchmark part of vLLM's result (what ``benchmark()`` returns), from the measured records."""
    ok = [r for r in records if r.ok]
    ends = [r.token_times[-1] for r in ok if r.token_times]
    duration = (max(ends) - min(r.t_send for r in records)) if ends else 0.0
    total_in, total_out = sum(r.prompt_tokens for r in ok), sum(r.output_tokens for r in ok)
    peak_tps, peak_conc = _peaks(ok)

    def per_s(x: float) -> float:
        return x / duration if duration > 0 else 0.0

    out: dict[str, Any] = {
        "duration": duration,
        "completed": len(ok),
        "failed": len(records) - len(ok),
        "total_input_tokens": total_in,
        "total_output_tokens": total_out,
        "request_throughput": per_s(len(ok)),
        "request_goodput": per_s(sum(meets(r, slo) for r in ok)) if slo else None,
        "output_throughput": per_s(total_out),
        "total_token_throughput": per_s(total_in + total_out),
        "max_output_tokens_per_s": peak_tps,
        "max_concurrent_requests": peak_conc,
        "rtfx": 0.0,
    }
    for name, vals in (("ttft", values(ttft, ok)), ("tpot", values(tpot, ok)), ("itl", itl(ok)),
                       ("e2el", values(e2e, ok))):  # fmt: skip
        out.update(_describe(name, vals, pcts))
    return out


def export(report: dict[str, Any], records: Sequence[RequestRecord], path: Path) -> list[dict[str, Any]]:
    """Write one vLLM result per profile point: a JSON object (one point) or JSON lines (several)."""
    run = report.get("load_run") or {}
    opts = run.get("options") or {}
    cfg = report.get("config") or {}
    slo = opts.get("slo") or {}
    pcts = [p for p in opts.get("percentiles") or (99.0,)]
    by_point: dict[int, list[RequestRecord]] = {}
    for r in records:
        if r.phase == "load":
            by_point.setdefault(int(r.extra.get("point", 0)), []).append(r)
    out = []
    for i, point in enumerate(run.get("points") or []):
        head = {
            "date": _dt.datetime.now().strftime("%Y%m%d-%H%M%S"),
            "endpoint_type": "openai-chat" if (cfg.get("server") or {}).get("api") == "chat" else "openai",
            "backend": "openai-chat" if (cfg.get("server") or {}).get("api") == "chat" else "openai",
            "label": report.get("label"),
            "model_id": (report.get("load") or {}).get("model") or (cfg.get("model") or {}).get("name"),
            "tokenizer_id": (report.get("load") or {}).get("tokenizer"),
            "num_prompts": point["requests"]["sent"],
            **(report.get("metadata") or {}),
            "request_rate": point.get("target_rate") or "inf",
            "burstiness": opts.get("burstiness", 1.0),
            "max_concurrency": opts.get("concurrency_cap") or point.get("concurrency"),
        }
        out.append({**head, **result(by_point.get(i, []), slo, pcts)})
    text = json.dumps(out[0]) if len(out) == 1 else "\n".join(json.dumps(o) for o in out)
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as err:
        raise InfermeterError(f"--export: cannot write {path}: {err.strerror or err}") from None
    return out


# -- reading vLLM results ----------------------------------------------------------------------------------
def is_vllm_result(obj: Any) -> bool:
    """A ``vllm bench serve`` result object (its own counters and TTFT fields)."""
    return isinstance(obj, dict) and "completed" in obj and "mean_ttft_ms" in obj and "schema_version" not in obj


def _summary(obj: dict[str, Any], name: str) -> dict[str, Any] | None:
    if f"mean_{name}_ms" not in obj:
        return None
    s = {"mean": obj[f"mean_{name}_ms"] / 1000, "median": obj.get(f"median_{name}_ms", 0) / 1000}
    for key, v in obj.items():
        if key.startswith("p") and key.endswith(f"_{name}_ms") and isinstance(v, (int, float)):
            s[key[: -len(f"_{name}_ms")]] = v / 1000
    s["p90"], s["p99"] = s.get("p90"), s.get("p99")
    return s


def as_point(obj: dict[str, Any]) -> dict[str, Any]:
    """One vLLM result as a load point (seconds, as infermeter's points)."""
    rate = obj.get("request_rate")
    label = f"rate {rate}" + (f", max concurrency {obj['max_concurrency']}" if obj.get("max_concurrency") else "")
    return {
        "profile": label,
        "target_rate": rate if isinstance(rate, (int, float)) else None,
        "concurrency": obj.get("max_concurrency"),
        "requests": {"sent": obj.get("completed", 0) + (obj.get("failed") or 0), "ok": obj.get("completed"),
                     "input_tokens": obj.get("total_input_tokens"), "output_tokens": obj.get("total_output_tokens")},
        "request_rate": obj.get("request_throughput"),
        "output_throughput": obj.get("output_throughput"),
        "total_token_throughput": obj.get("total_token_throughput"),
        "ttft_s": _summary(obj, "ttft"),
        "tpot_s": _summary(obj, "tpot"),
        "itl_s": _summary(obj, "itl"),
        "e2e_s": _summary(obj, "e2el"),
    }  # fmt: skip
