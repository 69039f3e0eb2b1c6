"""The ``compare`` scenario: A/B(/C...) comparisons that run order and warm-up cannot fool.

* ``process`` isolation (default): in every round each variant runs in its own fresh worker
  process (load, warm-up, ``calls`` measured generate() calls on one fixed input). Rounds are
  balanced and randomized with a recorded seed (a random order, then its reverse: ABBA...), and
  continue until the CI of each headline ratio is narrower than ``target_ci`` or the budget is
  spent. Headline ratios are computed on per-round medians, paired by round.
* ``inline`` isolation (diagnosis of a user's own script): all variants in ONE process, one after
  the other with the chosen cleanup between them, once in each order (A,B and B,A), each order in
  its own fresh process; reports whether the position changed the result more than the variant
  did, and verifies each cleanup (memory back to baseline, no parameters left anywhere).
* ``warmup_compare``: every warm-up strategy x every variant in a fresh process: first measured
  call vs steady state, and the speedup each strategy would make a user believe.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infermeter import stats
from infermeter.config import RunConfig
from infermeter.core.isolation import run_isolated
from infermeter.errors import InfermeterError
from infermeter.executors.rounds import check_same_model, run_round
from infermeter.optimize.cleanup import LEVELS
from infermeter.optimize.warmup import STRATEGIES as WARMUPS
from infermeter.scenarios.compare_failure import failed_variant
from infermeter.scenarios.compare_workers import (
    METRICS,
    balanced_orders,
    inline_sequence,
    measure_variant,
)
from infermeter.stats.abtest import ci_narrow_enough, compare_pair, order_effect_across_processes


@dataclass
class CompareOptions:
    """How to compare (see the module docstring)."""

    metrics: tuple[str, ...] = ("decode_tps", "e2e_s")
    rounds: int = 4  # minimum rounds (process isolation)
    max_rounds: int = 12
    target_ci: float = 0.02  # stop when every headline ratio's CI half-width is below this
    budget_s: float = 900.0
    calls: int = 5  # measured generate() calls per worker; the first is reported apart
    warmup: str = "same-input"
    warmup_runs: int = 1
    isolation: str = "process"
    cleanup: str = "full"  # inline mode: what runs between variants
    retain_previous: bool = False  # inline mode: keep a reference to the previous model (a broken cleanup)
    warmup_compare: bool = False
    seed: int = 0

    def validate(self, n_variants: int) -> None:
        """One clear line for each impossible combination."""

        if n_variants < 2:
            raise InfermeterError("compare needs at least two variants (config files or --variant NAME:k=v)")
        bad = [m for m in self.metrics if m not in METRICS]
        if bad:
            raise InfermeterError(f"unknown metric {bad[0]!r} (use {', '.join(METRICS)})")
        if self.warmup not in WARMUPS:
            raise InfermeterError(f"unknown warm-up {self.warmup!r} (use {', '.join(WARMUPS)})")
        if self.cleanup not in LEVELS:
            raise InfermeterError(f"unknown cleanup {self.cleanup!r} (use {', '.join(LEVELS)})")
        if self.isolation not in ("process", "inline"):
            raise InfermeterError("isolation must be process or inline")
        if self.calls < 2:
            raise InfermeterError("calls must be >= 2 (the first measured call is reported apart)")
        if self.rounds < 2 and self.isolation == "process" and not (self.rounds == 0 and self.warmup_compare):
            raise InfermeterError("rounds must be >= 2 to give a confidence interval (0 with --warmup-compare)")
        if not 0 < self.target_ci < 1:
            raise InfermeterError(f"--target-ci {self.target_ci:g}: use a fraction in (0, 1), e.g. 0.02")


def _options(opts: CompareOptions, **override: Any) -> dict[str, Any]:
    d = asdict(opts)
    d.update(override)
    return d


def _summaries(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-metric statistics of steady-state calls, first calls and load times of one variant."""
    out: dict[str, Any] = {}
    for m in METRICS:
        # the round (one worker process) is the unit: calls inside one process are not independent
        pairs = [(c[m], i) for i, r in enumerate(results) for c in r["calls"][1:] if c[m] is not None]
        s = stats.summarize([v for v, _ in pairs], [i for _, i in pairs])
        out[m] = s.to_dict() if s else None
    for key in ("first_call_s", "load_s"):
        s = stats.summarize([r[key] for r in results if r.get(key) is not None])
        out[key] = s.to_dict() if s else None
    s = stats.summarize([r["first_measured"]["e2e_s"] for r in results])
    out["first_measured_e2e_s"] = s.to_dict() if s else None
    peaks = [r["memory"] for r in results]
    out["peak_memory"] = {
        k: max((p[k] for p in peaks if p.get(k) is not None), default=None)
        for k in ("rss", "torch_allocated", "torch_reserved", "nvml_process")
    }
    return out


def _ratios(names: list[str], per_round: dict[str, list[dict[str, Any]]], metrics: tuple[str, ...]) -> list:
    base = names[0]
    out = []
    for m in metrics:
        for v in names[1:]:
            pairs = [
                (a["steady"][m], b["steady"][m])
                for a, b in zip(per_round[base], per_round[v], strict=False)
                if a["steady"][m] and b["steady"][m] and not (math.isnan(a["steady"][m]) or math.isnan(b["steady"][m]))
            ]
            if pairs:
                out.append(
                    compare_pair(m, base, v, [p[0] for p in pairs], [p[1] for p in pairs], higher_is_better=METRICS[m])
                )
    return out


def _round_results(
    names: list[str], per_round: dict[str, list[dict[str, Any]]], orders: list[list[str]], metrics: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "orders": orders,
        "rounds": len(orders),
        "variants": {n: {"summary": _summaries(per_round[n]), "rounds": per_round[n]} for n in names if per_round[n]},
        "ratios": [x.to_dict() for x in _ratios(names, per_round, metrics)],
    }


def _process_rounds(
    variants: list[tuple[str, RunConfig]],
    opts: CompareOptions,
    run_dir: Path,
    progress: Any,
    checkpoint: Callable[[dict[str, Any]], None],
    executor: Any = None,
) -> dict[str, Any]:

    names = [n for n, _ in variants]
    per_round: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    orders = balanced_orders(len(variants), opts.max_rounds, opts.seed)
    task = progress.add_task("compare rounds", total=opts.rounds * len(variants))
    start, done_orders = time.monotonic(), []
    result: dict[str, Any] = {}
    for r, order in enumerate(orders):
        jobs = []
        for i in order:
            name, cfg = variants[i]
            payload = {
                "config": cfg.model_dump(),
                "run_dir": str(run_dir),
                "name": name,
                "round": r,
                "options": _options(opts),
            }
            jobs.append((i, name, payload))
        done_orders.append([names[i] for i in order])
        finished: list[str] = []
        try:
            for name, result in run_round(executor, measure_variant, jobs, r, run_dir):
                per_round[name].append(result)
                finished.append(name)
                progress.advance(task)
        except InfermeterError as err:  # keep the round's finished variants and what the failed one measured
            failed = next(n for _, n, _ in jobs if n not in finished)
            result = _round_results(names, per_round, done_orders, opts.metrics)
            checkpoint({**result, "failed": failed_variant(run_dir, failed, r, err)})
            err.args = (f"variant {failed} failed in round {r + 1}: {err}", *err.args[1:])  # same type and exit code
            raise
        result = _round_results(names, per_round, done_orders, opts.metrics)
        checkpoint(result)  # a killed comparison keeps every finished round
        if r + 1 >= opts.rounds:
            ratios = _ratios(names, per_round, opts.metrics)
            if all(ci_narrow_enough(x, opts.target_ci) for x in ratios) or time.monotonic() - start > opts.budget_s:
                break
            if r + 1 < len(orders):  # another round will run: count it
                progress.update(task, total=(r + 2) * len(variants))
    progress.update(task, total=len(done_orders) * len(variants))  # the bar ends full: it counts what ran
    return result


def _inline(
    variants: list[tuple[str, RunConfig]], opts: CompareOptions, run_dir: Path, progress: Any
) -> dict[str, Any]:
    names = [n for n, _ in variants]
    seqs = {"forward": list(range(len(variants))), "reverse": list(reversed(range(len(variants))))}
    rounds = max(2, opts.rounds // 2)  # the process is the unit of the order test: >= 2 per order
    task = progress.add_task("inline sequences", total=2 * rounds)
    runs: dict[str, list[list[dict[str, Any]]]] = {label: [] for label in seqs}
    for _ in range(rounds):
        for label, order in seqs.items():
            payload = {
                "order": [(variants[i][0], variants[i][1].model_dump()) for i in order],
                "sequence": label,
                "run_dir": str(run_dir),
                "options": _options(opts),
            }
            runs[label].append(run_isolated(inline_sequence, payload, "process")["results"])
            progress.advance(task)
    out = {label: rs[0] for label, rs in runs.items()}  # the first process of each order, shown in full
    effects = []
    if len(names) == 2:
        for m in opts.metrics:
            per_proc = {label: [_positions(res, m) for res in rs] for label, rs in runs.items()}
            if all(all(p.get(0) and p.get(1) for p in v) for v in per_proc.values()):
                effects.append(order_effect_across_processes(m, per_proc["forward"], per_proc["reverse"]).to_dict())
    return {"sequences": out, "sequence_rounds": runs, "order_effects": effects}


def _positions(results: list[dict[str, Any]], metric: str) -> dict[int, list[float]]:
    """Steady samples of ``metric`` by position in one sequence process."""
    return {res["position"]: [c[metric] for c in res["calls"][1:] if c[metric] is not None] for res in results}


def _warmup_table(
    variants: list[tuple[str, RunConfig]], opts: CompareOptions, run_dir: Path, progress: Any
) -> list[dict[str, Any]]:

    task = progress.add_task("warm-up strategies", total=len(WARMUPS) * len(variants))
    rows = []
    for strategy in WARMUPS:
        res = {}
        for name, cfg in variants:
            payload = {
                "config": cfg.model_dump(),
                "run_dir": str(run_dir),
                "name": name,
                "round": -1,
                "options": _options(opts, warmup=strategy),
            }
            res[name] = run_isolated(measure_variant, payload, "process")
            progress.advance(task)
        base = variants[0][0]
        for name, r in res.items():
            first, steady = r["first_measured"]["e2e_s"], r["steady"]["e2e_s"]
            rows.append(
                {
                    "warmup": strategy,
                    "variant": name,
                    "first_call_s": r["first_call_s"],
                    "first_measured_e2e_s": first,
                    "steady_e2e_s": steady,
                    "shadow_s": r.get("shadow_s"),
                    "speedup_first_measured": res[base]["first_measured"]["e2e_s"] / first,
                    "speedup_steady": res[base]["steady"]["e2e_s"] / steady,
                }
            )
    return rows


def run_compare(
    variants: list[tuple[str, RunConfig]],
    opts: CompareOptions,
    run_dir: Path,
    progress: Any,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
    executor: Any = None,
) -> dict[str, Any]:
    """Everything ``compare`` measures, as the ``compare`` section of its report.

    ``executor`` (:mod:`infermeter.executors`): where each round's variants run; None: one by one here.
    """
    opts.validate(len(variants))
    data: dict[str, Any] = {"options": _options(opts), "names": [n for n, _ in variants]}
    if executor is not None:
        data["executor"] = check_same_model(executor)
    save = checkpoint or (lambda partial: None)
    if opts.isolation == "process" and opts.rounds > 0:
        rounds = _process_rounds(variants, opts, run_dir, progress, lambda part: save({**data, **part}), executor)
        data.update(rounds)
    if opts.isolation == "inline":
        data["inline"] = _inline(variants, opts, run_dir, progress)
        save(data)
    if opts.warmup_compare:
        data["warmup_table"] = _warmup_table(variants, opts, run_dir, progress)
    return data
