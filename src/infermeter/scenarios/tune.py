"""The ``tune`` scenario: which optimization really helps, measured, and how much is left.

1. **Plan** the ladder: candidate optimizations that apply to the backend, model and device
   (attention implementation, dtype, static KV cache, static cache + torch.compile, a larger batch
   up to the memory limit; for vLLM prefix caching, chunked prefill, max_num_seqs). A response
   cache is not a ladder candidate: compare replays one input, so it is pointed to `run --cache`.
   A model whose weights do not fit the device stops here, before anything is loaded.
2. **Ladder**: one ``compare`` of the baseline against every candidate: each variant in a fresh
   process per round, rounds interleaved in a seeded balanced order, stopped when every ratio's CI
   is narrow or the ladder's share of the budget is spent. Each candidate's ratio to the baseline
   comes with its CI; its first-call (compile) cost and peak memory are reported apart.
3. **Verify**: the candidates that helped significantly, combined (a later one never overrides an
   earlier, better one), compared against the baseline once more.

The state is saved after each stage (``tune.json``): ``resume`` continues where a killed tune
stopped. Everything here that decides (ranking, combining, SLO checks) is a pure function of the
compare results, tested without a model.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any

from infermeter.config import RunConfig, build_config
from infermeter.errors import InfermeterError

#: Minimal seconds one fresh worker takes (start, load, warm-up, a few calls): a budget below
#: 2 rounds x 2 variants of this cannot hold a single comparison.
MIN_WORKER_S = {"cpu": 15.0, "cuda": 30.0}
SLO_METRICS = {"decode_tps": True, "output_throughput": True, "e2e_s": False, "ttft_s": False}


@dataclass(frozen=True)
class Candidate:
    """One optimization: config overrides, and whether it may change the model's outputs."""

    name: str
    overrides: dict[str, Any]
    changes_outputs: bool
    why: str = ""
    supersedes: tuple[str, ...] = ()  # candidates it contains (static+compile contains static)


@dataclass
class TuneOptions:
    """How to tune (see the module docstring)."""

    metric: str = "decode_tps"
    budget_s: float = 1800.0
    slo: str | None = None  # e.g. "ttft_s<0.2" or "decode_tps>=100"
    candidates: tuple[str, ...] = ()  # empty: every candidate that applies
    rounds: int = 2
    max_rounds: int = 6
    target_ci: float = 0.05
    calls: int = 3
    seed: int = 0
    verify: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def parse_slo(text: str | None) -> tuple[str, str, float] | None:
    """``"ttft_s<0.2"`` -> ("ttft_s", "<", 0.2); one clear line for anything else."""
    if not text:
        return None
    for op in ("<=", ">=", "<", ">"):
        if op in text:
            name, _, value = text.partition(op)
            name = name.strip()
            if name not in SLO_METRICS:
                break
            try:
                return name, op, float(value)
            except ValueError:
                break
    raise InfermeterError(
        f"--slo must be METRIC<VALUE or METRIC>VALUE with METRIC one of {', '.join(SLO_METRICS)}, got {text!r}"
    )


def meets(slo: tuple[str, str, float] | None, summary: dict[str, Any]) -> bool | None:
    """Whether a variant's steady summary meets the SLO (None: no SLO or no value)."""
    if slo is None:
        return None
    name, op, limit = slo
    value = ((summary or {}).get(name) or {}).get("mean")
    if value is None:
        return None
    ops = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
    return bool(ops[op](value, limit))


# -- planning -------------------------------------------------------------------------------------
def plan(cfg: RunConfig, device: str, fit: dict[str, Any] | None = None) -> tuple[list[Candidate], list[dict]]:
    """The ladder for this configuration, and the candidates left out with the reason."""
    m, w, skipped = cfg.model, cfg.workload, []
    out: list[Candidate] = []
    if cfg.backend == "vllm":
        e = cfg.engine
        if not e.enable_prefix_caching:
            out.append(Candidate("prefix caching", {"engine.enable_prefix_caching": True}, False))
        if not e.enable_chunked_prefill:
            out.append(Candidate("chunked prefill", {"engine.enable_chunked_prefill": True}, False))
        out.append(Candidate("max_num_seqs=256", {"engine.max_num_seqs": 256}, False))
    elif cfg.backend == "hf":
        other = "eager" if m.attn_implementation in (None, "sdpa") else "sdpa"
        base_attn = m.attn_implementation or "sdpa"
        out.append(Candidate(f"{other} vs {base_attn}", {"model.attn_implementation": other}, True))
        base_dtype = m.dtype if m.dtype != "auto" else ("bfloat16" if device.startswith("cuda") else "float32")
        alt = {"bfloat16": "float16", "float16": "bfloat16", "float32": "bfloat16"}[base_dtype]
        out.append(Candidate(f"{alt} vs {base_dtype}", {"model.dtype": alt}, True))
        if m.kv_cache != "static":
            out.append(Candidate("static cache", {"model.kv_cache": "static", "model.compile": "off"}, False))
            out.append(
                Candidate(
                    "static cache + compile",
                    {"model.kv_cache": "static", "model.compile": "on"},
                    True,
                    "compiled kernels may round differently",
                    supersedes=("static cache",),
                )
            )
    else:
        skipped.append({"name": "model knobs", "why": f"backend {cfg.backend}: the server's own settings decide"})
    bigger = _bigger_batch(w.batch_size, device, fit)
    if bigger:
        out.append(Candidate(f"batch {bigger}", {"workload.batch_size": bigger}, False))
    else:
        skipped.append({"name": "larger batch", "why": "no larger batch fits the device memory"})
    if w.repeat_ratio:
        # compare's workers replay one fixed input, which a cache would answer every time after the
        # first: a ratio measured that way says nothing about the workload's repeat ratio.
        why = (
            f"not in the ladder: measure it at the workload's {w.repeat_ratio:.0%} repeats with "
            f"`infermeter run --cache lru:{max(w.limit, 16)} --repeat-ratio {w.repeat_ratio:g}`"
        )
        skipped.append({"name": "response cache", "why": why})
    else:
        skipped.append({"name": "response cache", "why": "the workload repeats no request (repeat ratio 0)"})
    return out, skipped


def _bigger_batch(batch: int, device: str, fit: dict[str, Any] | None) -> int | None:
    """A larger batch, up to what the free memory holds at this context (weights + KV per sequence)."""
    want = min(64, batch * 8) if device.startswith("cuda") else batch * 4
    if fit and fit.get("kv_bytes_per_sequence"):
        room = int((0.8 * fit["device_bytes"] - fit["weights_bytes"]) // fit["kv_bytes_per_sequence"])
        want = min(want, room)
    return want if want > batch else None


def select(cands: list[Candidate], names: tuple[str, ...]) -> list[Candidate]:
    """Keep the candidates whose name starts with one of ``names`` (all when none given)."""
    if not names:
        return cands
    keep = [c for c in cands if any(c.name.startswith(n) or n in c.name for n in names)]
    if not keep:
        raise InfermeterError(f"no candidate matches {', '.join(names)}; planned: {', '.join(c.name for c in cands)}")
    return keep


def check_budget(budget_s: float, device: str, variants: int) -> None:
    """One clear line when the budget cannot hold the two rounds of one comparison."""
    need = 2 * variants * MIN_WORKER_S["cuda" if device.startswith("cuda") else "cpu"]
    if budget_s < need:
        raise InfermeterError(
            f"--budget {budget_s:.0f}s is too small for one comparison: {variants} variants x 2 rounds of fresh "
            f"worker processes need about {need:.0f}s or more here; give --budget {math.ceil(need / 60)}m or more"
        )


# -- reading compare results ----------------------------------------------------------------------
def _delta(summary: dict, base: dict, key: str) -> float | None:
    a, b = (base.get(key) or {}).get("mean"), (summary.get(key) or {}).get("mean")
    return b - a if a is not None and b is not None else None


def _peak(summary: dict) -> int | None:
    p = summary.get("peak_memory") or {}
    return p.get("torch_allocated") or p.get("rss")


def rows(compare: dict[str, Any], cands: list[Candidate], metric: str, slo: Any) -> list[dict[str, Any]]:
    """One ranked row per candidate: ratio and CI on ``metric``, first-call and memory deltas, SLO."""
    variants = compare.get("variants") or {}
    base = (variants.get("baseline") or {}).get("summary") or {}
    ratios = {(r["variant"], r["metric"]): r for r in compare.get("ratios") or []}
    out: list[dict[str, Any]] = []
    for c in cands:
        summary = (variants.get(c.name) or {}).get("summary")
        r = ratios.get((c.name, metric))
        if summary is None or r is None:
            out.append({"name": c.name, "measured": False, "overrides": c.overrides})
            continue
        peak_a, peak_b = _peak(base), _peak(summary)
        out.append(
            {
                "name": c.name,
                "measured": True,
                "overrides": c.overrides,
                "changes_outputs": c.changes_outputs,
                "speedup": r["speedup"],
                "ci95_low": r["ci95_low"],
                "ci95_high": r["ci95_high"],
                "n": r["n"],
                "significant": r["significant"],
                "gain": r["significant"] and r["speedup"] > 1,
                "verdict": r["verdict"],
                "first_call_delta_s": _delta(summary, base, "first_call_s"),
                "load_delta_s": _delta(summary, base, "load_s"),
                "memory_delta_bytes": peak_b - peak_a if peak_a is not None and peak_b is not None else None,
                "meets_slo": meets(slo, summary),
                "metric_mean": (summary.get(metric) or {}).get("mean"),
                "slo_value": (summary.get(slo[0]) or {}).get("mean") if slo else None,
            }
        )
    out.sort(key=lambda x: (not x.get("gain", False), -(x.get("speedup") or 0)))
    return out


def combine(ranked: list[dict[str, Any]], cands: list[Candidate]) -> tuple[list[str], dict[str, Any]]:
    """The significant gains, best first, merged: a key already set by a better candidate is kept."""
    by_name = {c.name: c for c in cands}
    chosen: list[str] = []
    merged: dict[str, Any] = {}
    covered: set[str] = set()
    for row in ranked:
        if not row.get("gain") or row["name"] in covered:
            continue
        c = by_name[row["name"]]
        if any(k in merged and merged[k] != v for k, v in c.overrides.items()):
            continue  # conflicts with a better candidate already chosen
        chosen.append(c.name)
        merged.update(c.overrides)
        covered.update(c.supersedes)
    return chosen, merged


def config_with(base: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """The base config with dotted overrides applied (validated)."""
    return build_config(base.model_dump(), overrides, source=" (tune candidate)")


def closest_to_slo(
    ranked: list[dict[str, Any]], slo: tuple[str, str, float] | None, baseline: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """When no variant meets the SLO: the one nearest to it on the SLO's metric (None otherwise)."""
    if slo is None:
        return None
    pool = [r for r in ranked if r.get("slo_value") is not None]
    if baseline and baseline.get("slo_value") is not None:
        pool.append(baseline)
    if not pool or any(r.get("meets_slo") for r in pool):
        return None
    return min(pool, key=lambda r: abs(r["slo_value"] - slo[2]) / max(abs(slo[2]), 1e-12))
