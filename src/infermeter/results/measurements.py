"""Measurements extracted from a report dict: the rows the results database stores per run.

Pure functions of the report; names are documented in docs/metrics.md ("Results database").
"""

from __future__ import annotations

from typing import Any

from infermeter import stats
from infermeter.core.records import RequestRecord
from infermeter.metrics import registry
from infermeter.metrics.latency import e2e, tpot, ttft, values
from infermeter.metrics.throughput import batch_decode_tps, batch_throughputs, output_throughput
from infermeter.metrics.units import by_pass, gap_unit_means, unit_means
from infermeter.results.measurements_sol import sol_measurements
from infermeter.scenarios.sweep_analysis import METRICS

MAX_SAMPLES = 5000  # per measurement; pooled ITL can hold one gap per token of the run
MEAS_FIELDS = ("value", "unit", "n", "mean", "median", "p90", "p99", "stdev", "ci95_low", "ci95_high")


def _thin(samples: list[float]) -> list[float]:
    """At most MAX_SAMPLES values, evenly spaced in order: enough for a t-test, bounded in size."""
    if len(samples) <= MAX_SAMPLES:
        return [float(x) for x in samples]
    step = len(samples) / MAX_SAMPLES
    return [float(samples[int(i * step)]) for i in range(MAX_SAMPLES)]


def _meas(
    name: str, unit: str, summary: dict[str, Any] | None, samples: list[float] | None = None, value: float | None = None
) -> dict[str, Any] | None:
    """One measurement from a report summary; samples: one value per independent unit, kept when their
    count is the summary's unit count (``units``, else ``n``)."""
    if not summary or summary.get("mean") is None:
        return None
    units = summary.get("units") or summary.get("n")
    keep = samples if samples is not None and len(samples) == units else []
    out = {"name": name, "unit": unit, **{k: summary.get(k) for k in MEAS_FIELDS[2:]}, "samples": _thin(keep)}
    out["value"] = summary["mean"] if value is None else value
    return out


def _from_samples(name: str, unit: str, samples: list[float], value: float | None = None) -> dict[str, Any] | None:
    """A measurement summarized here from raw samples (value: the report's headline, default the mean)."""
    s = stats.summarize(samples) if samples else None
    return _meas(name, unit, s.to_dict() if s else None, samples, value)


def _scalar(name: str, unit: str, value: Any) -> dict[str, Any] | None:
    """A single number (no spread known): n = 1, no stdev or CI."""
    if value is None:
        return None
    v = float(value)
    return {"name": name, "unit": unit, "value": v, "n": 1, "mean": v, "median": v, "samples": []}


def _unit(metric: str) -> str:
    return registry.unit(metric)


MEMORY_VIEWS = ("rss", "torch_allocated", "torch_reserved", "nvml_process")


def _run_measurements(report: dict[str, Any]) -> list[dict[str, Any] | None]:
    # Samples are recomputed from the report's records, one value per independent unit (the mean
    # over a generate() call's requests; a request over HTTP), so a diff tests units, not requests
    # that shared one prefill (docs/metrics.md, "Units of analysis").
    m = report.get("metrics") or {}
    recs = [RequestRecord.from_dict(r) for r in report.get("records") or []]
    main = [r for r in recs if r.phase == "dataset"]
    raw = {
        "decode_tps": batch_decode_tps(main),
        "ttft_s": unit_means(ttft, main),
        "tpot_s": unit_means(tpot, main),
        "itl_s": gap_unit_means(main),
        "e2e_s": unit_means(e2e, main),
        # metrics registered elsewhere with a function of records
        **{x.key: x.samples(main) for x in registry.extras() if x.samples is not None},
    }
    out = [_meas(k, _unit(k), m.get(k), v) for k, v in raw.items()]
    passes = [v for rs in by_pass(main).values() if (v := output_throughput(rs)) is not None]
    thr = m.get("output_throughput_passes")
    out.append(_meas("output_throughput", "tok/s", thr, passes) if thr else None)
    out += [_scalar(k, "tok/s", m.get(k)) for k in (() if thr else ("output_throughput",)) + ("stream_tps",)]
    acc = m.get("accuracy")
    if acc:
        scores = [r.score for r in main if r.score is not None]
        # Wilson interval and n as the report gives them; the samples are the per-item scores.
        meas = _from_samples("accuracy", "fraction", scores, acc["mean"]) or _scalar(
            "accuracy", "fraction", acc["mean"]
        )
        if meas is not None:  # always: an accuracy summary has its mean
            out.append({**meas, **{k: acc.get(k) for k in ("n", "ci95_low", "ci95_high")}})
    for p in (m.get("context_load") or {}).get("points", []):
        n = p["prompt_tokens"]
        ctx = [r for r in recs if r.phase == "context" and r.prompt_tokens == n]
        out.append(_meas(f"context.ttft_s@{n}", "s", p.get("ttft"), values(ttft, ctx)))
        out.append(_scalar(f"context.prefill_tps@{n}", "tok/s", p.get("prefill_tokens_per_s")))
    for p in (m.get("batch_efficiency") or {}).get("points", []):
        b = p["batch_size"]
        grp = [r for r in recs if r.phase == "batch" and r.batch_size == b]
        out.append(_meas(f"batch.throughput@{b}", "tok/s", p.get("throughput"), batch_throughputs(grp)))
        out.append(_meas(f"batch.decode_tps@{b}", "tok/s", p.get("decode_tps"), batch_decode_tps(grp)))
        out.append(_scalar(f"batch.efficiency@{b}", "", p.get("efficiency")))
    img = m.get("image_inputs") or {}
    if img:  # vision-language runs: image preprocessing apart from prefill, image tokens
        out.append(_meas("image.preprocess_s", "s", img.get("preprocess_s")))
        out.append(_meas("image.load_s", "s", img.get("load_s")))
        out.append(_meas("image.tokens_per_prompt", "tokens", img.get("image_tokens_per_prompt")))
    mem = m.get("memory") or {}
    out += [_scalar(f"memory.peak.{v}", "bytes", (mem.get("peak") or {}).get(v)) for v in MEMORY_VIEWS]
    out += [_scalar(f"memory.{k}", "bytes", mem.get(k)) for k in ("weights_bytes", "activations_kv_bytes")]
    first = report.get("first_call") or {}
    out += [_scalar(k, "s", first.get(k)) for k in ("first_call_s", "steady_call_s")]
    out.append(_scalar("first_call_overhead_s", "s", first.get("overhead_s")))
    out.append(_scalar("load_s", "s", (report.get("load") or {}).get("load_s")))

    out += sol_measurements(m)  # roofline shares and energy per token
    for key, d in ((report.get("processes") or {}).get("metrics") or {}).items():  # run --processes N
        per = [float(v) for v in d["per_process"] if v is not None]  # one value per process: the unit
        out.append(_meas(f"processes.{key}", _unit(key), d["between"], per))
    return out


def _variant_samples(metric: str, rounds: list[dict[str, Any]]) -> list[float]:
    """One value per round of one variant metric (steady calls: every call but the first, averaged)."""
    if metric in ("first_call_s", "load_s"):
        return [r[metric] for r in rounds if r.get(metric) is not None]
    if metric == "first_measured_e2e_s":
        return [r["first_measured"]["e2e_s"] for r in rounds if r.get("first_measured")]
    # steady calls: one mean per round (the round's worker process is the independent unit)
    means = []
    for r in rounds:
        vals = [c[metric] for c in r.get("calls", [])[1:] if c.get(metric) is not None]
        if vals:
            means.append(sum(vals) / len(vals))
    return means


def _compare_measurements(report: dict[str, Any]) -> list[dict[str, Any] | None]:
    comp = report.get("compare") or {}
    out: list[dict[str, Any] | None] = []
    for name, v in (comp.get("variants") or {}).items():
        for metric, s in (v.get("summary") or {}).items():
            if metric == "peak_memory":
                out += [_scalar(f"variant.{name}.memory.peak.{k}", "bytes", (s or {}).get(k)) for k in MEMORY_VIEWS]
            else:
                samples = _variant_samples(metric, v.get("rounds") or [])
                out.append(_meas(f"variant.{name}.{metric}", _unit(metric), s, samples))
    for r in comp.get("ratios") or []:
        name = f"ratio.{r['metric']}.{r['variant']}_vs_{r['baseline']}"  # speedup > 1: variant is better
        sp = r["speedup"]
        out.append({"name": name, "unit": "x", "value": sp, "n": r["n"], "mean": sp, "median": sp,
                    "ci95_low": r["ci95_low"], "ci95_high": r["ci95_high"], "samples": []})  # fmt: skip
    return out


def _soak_measurements(report: dict[str, Any]) -> list[dict[str, Any] | None]:
    soak = report.get("soak") or {}
    warm = (soak.get("options") or {}).get("warmup_calls", 0)
    out: list[dict[str, Any] | None] = []
    for c in soak.get("configurations") or []:
        p, bs = f"soak.{c['name']}", c.get("batch_size") or 1
        e2es = [r["e2e_s"] for r in c.get("rows") or [] if r["call"] > warm and r.get("e2e_s") is not None]
        out.append(_from_samples(f"{p}.steady_e2e_s", "s", e2es, c.get("steady_e2e_s")))
        per_item = [x / bs for x in e2es]
        out.append(_from_samples(f"{p}.steady_e2e_per_item_s", "s", per_item, c.get("steady_e2e_per_item_s")))
        for key, s in (c.get("series") or {}).items():
            t = s.get("trend") or {}
            if t.get("slope") is None:
                continue
            lo, hi = t.get("slope_ci95") or [None, None]
            out.append({"name": f"{p}.slope.{key}", "unit": _unit(key) + "/call", "value": t["slope"], "n": t.get("n"),
                        "mean": t["slope"], "ci95_low": lo, "ci95_high": hi, "samples": []})  # fmt: skip
        out += [_scalar(f"{p}.peak.{v}", "bytes", (c.get("peak") or {}).get(v)) for v in MEMORY_VIEWS]
    return out


def _sweep_measurements(report: dict[str, Any]) -> list[dict[str, Any] | None]:
    # One number per metric of each measured point; the points' raw samples are in their own runs.

    out: list[dict[str, Any] | None] = []
    for p in (report.get("sweep") or {}).get("points") or []:
        if p.get("status") != "complete" or not p.get("planned", True):
            continue
        m = p.get("metrics") or {}
        for key, (_label, unit, _better) in METRICS.items():
            name = f"memory.peak.{m.get('peak_memory_view') or 'rss'}" if key == "peak_memory_bytes" else key
            name = "batch.efficiency" if key == "batch_efficiency" else name
            rep = (p.get("replicate_stats") or {}).get(key)  # sweep --replicates: n and CI over replicates
            meas = _meas(f"point[{p['label']}].{name}", unit, rep, rep["values"]) if rep else None
            out.append(meas or _scalar(f"point[{p['label']}].{name}", unit, m.get(key)))
    return out


def _load_measurements(report: dict[str, Any]) -> list[dict[str, Any] | None]:
    # Per profile point, from the point's summaries (the records stay in records.jsonl, not the report).
    out: list[dict[str, Any] | None] = []
    for p in (report.get("load_run") or {}).get("points") or []:
        pre = f"load.{p['profile']}"
        out += [_meas(f"{pre}.{k}", "s", p.get(k)) for k in ("ttft_s", "tpot_s", "itl_s", "e2e_s")]
        out.append(_scalar(f"{pre}.output_throughput", "tok/s", p.get("output_throughput")))
        out.append(_scalar(f"{pre}.request_rate", "req/s", p.get("request_rate")))
        out.append(_scalar(f"{pre}.achieved_rate", "req/s", p.get("achieved_rate")))
        good = p.get("goodput") or {}
        out.append(_scalar(f"{pre}.goodput.requests_per_s", "req/s", good.get("requests_per_s")))
        out.append(_scalar(f"{pre}.goodput.fraction", "fraction", good.get("fraction")))
        out.append(_scalar(f"{pre}.errors", "", (p.get("requests") or {}).get("errors")))
    return out


def measurements_from_report(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary metrics of a report as measurement dicts (pure: reads the dict only).

    Each has ``name, value, unit, n, mean, median, p90, p99, stdev, ci95_low, ci95_high, samples``
    (absent statistics are None, ``samples`` may be empty). ``value`` is the headline number: the
    mean, except soak's steady E2E (the median, as the report prints it). Names:

    * run: ``decode_tps ttft_s tpot_s itl_s e2e_s output_throughput stream_tps accuracy``,
      ``context.ttft_s@<prompt_tokens>``, ``context.prefill_tps@<n>``, ``batch.throughput@<b>``,
      ``batch.decode_tps@<b>``, ``batch.efficiency@<b>``, ``memory.peak.<view>``,
      ``memory.weights_bytes``, ``memory.activations_kv_bytes``, ``first_call_s``, ``steady_call_s``,
      ``first_call_overhead_s``, ``load_s``; with ``--processes N`` also ``processes.<metric>`` (the
      mean over processes, its CI over processes, one sample per process); with images
      ``image.preprocess_s``, ``image.load_s``, ``image.tokens_per_prompt``;
    * compare: ``variant.<name>.<metric>`` (steady decode_tps, e2e_s, ttft_s, output_throughput;
      first_call_s, load_s, first_measured_e2e_s), ``variant.<name>.memory.peak.<view>``,
      ``ratio.<metric>.<variant>_vs_<baseline>`` (speedup, > 1 = variant better);
    * soak: ``soak.<config>.steady_e2e_s``, ``soak.<config>.steady_e2e_per_item_s``,
      ``soak.<config>.slope.<series>`` (Theil-Sen per call), ``soak.<config>.peak.<view>``;
    * sweep: ``point[<knob>=<value>,...].<metric>`` per measured point (metrics of
      :data:`infermeter.scenarios.sweep_analysis.METRICS`; peak memory as ``memory.peak.<view>``,
      batch efficiency as ``batch.efficiency``), one value each; with ``--replicates N`` the mean over
      replicates, its CI over them and one sample per replicate;
    * load: ``load.<profile>.<metric>`` per profile point (ttft_s, tpot_s, itl_s, e2e_s summaries;
      output_throughput, request_rate, achieved_rate, goodput.requests_per_s, goodput.fraction, errors).
    """
    kind = report.get("kind", "run")
    fn = {"run": _run_measurements, "compare": _compare_measurements, "soak": _soak_measurements,
          "sweep": _sweep_measurements, "load": _load_measurements}.get(kind)  # fmt: skip
    if fn is None:
        return []
    rows = [m for m in fn(report) if m is not None]
    for m in rows:
        for k in MEAS_FIELDS:
            m.setdefault(k, None)
    return rows
