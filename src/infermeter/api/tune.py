"""Driving ``tune``: the fit check, the ladder and verify comparisons, accuracy, the saved state.

The decisions (planning, ranking, combining, SLO) live in :mod:`infermeter.scenarios.tune`; this
module spends the budget on measurements and writes ``tune.json`` after every stage so that
``resume`` continues a killed tune.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from infermeter.api import _new_report, _run_dir, _tracked, compare, run
from infermeter.config import RunConfig
from infermeter.core.calibrate import identity, load
from infermeter.core.device import resolve_device
from infermeter.core.records import REPORT_FILE
from infermeter.errors import InfermeterError
from infermeter.metrics.roofline import decode_bytes, geometry_from_config
from infermeter.models.presets import PRESETS
from infermeter.scenarios.compare import CompareOptions
from infermeter.scenarios.compare_workers import METRICS
from infermeter.scenarios.tune import (
    Candidate,
    TuneOptions,
    check_budget,
    closest_to_slo,
    combine,
    config_with,
    meets,
    parse_slo,
    plan,
    rows,
    select,
)
from infermeter.workloads.base import load_items

STATE_FILE = "tune.json"


def model_fit(cfg: RunConfig, device: str) -> dict[str, Any] | None:
    """Weights and KV bytes per sequence from the model's config, and the device's memory; None if unknown."""

    hf_config = _hf_config(cfg.model.name)
    if hf_config is None:
        return None
    dtype = cfg.model.dtype if cfg.model.dtype != "auto" else ("bfloat16" if device.startswith("cuda") else "float32")
    g = geometry_from_config(hf_config, 4 if dtype == "float32" else 2)

    # all weights live in memory: an untied input table and a vision tower too (decode reads neither)
    untied = 0 if g.tied_embeddings else g.vocab * g.hidden * g.dtype_bytes
    weights = g.decode_weight_bytes + untied
    if cfg.model.name in PRESETS:
        weights = PRESETS[cfg.model.name].param_count() * g.dtype_bytes
    context = cfg.workload.prompt_len + cfg.generation.max_new_tokens
    return {
        "weights_bytes": weights,
        "kv_bytes_per_sequence": g.kv_bytes_per_token * context,
        "device_bytes": _device_bytes(device),
        "dtype": dtype,
    }


def _hf_config(name: str) -> Any:

    if name in PRESETS:
        return PRESETS[name].build_config()
    folder = Path(name).expanduser()
    if (folder / "config.json").is_file():
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(folder)
    return None  # GGUF files and servers: sized when loaded


def _device_bytes(device: str) -> int:
    if device.startswith("cuda"):
        index = int(device.split(":")[1]) if ":" in device else 0
        try:  # NVML first: a CUDA context in this process would sit beside every measured worker
            import pynvml

            pynvml.nvmlInit()
            return int(pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index)).total)
        except Exception:
            import torch

            return torch.cuda.get_device_properties(index).total_memory
    import psutil

    return psutil.virtual_memory().available


def check_fit(name: str, device: str, fit: dict[str, Any] | None) -> None:
    """One line, before any model loads, when the weights alone exceed the device's memory."""
    if fit and fit["weights_bytes"] > 0.95 * fit["device_bytes"]:
        where = "GPU memory" if device.startswith("cuda") else "free RAM"
        raise InfermeterError(
            f"{name} does not fit: its weights need {fit['weights_bytes'] / 1e9:.1f} GB in {fit['dtype']}, "
            f"{device} has {fit['device_bytes'] / 1e9:.1f} GB of {where} (nothing was loaded)"
        )


def _save(run_dir: Path, state: dict[str, Any]) -> None:
    (run_dir / STATE_FILE).write_text(json.dumps(state, indent=1, default=str))


def load_state(run_dir: Path) -> dict[str, Any]:
    """The saved state of a tune folder (for ``--resume``), or one clear line."""
    p = Path(run_dir) / STATE_FILE
    if not p.is_file():
        raise InfermeterError(f"--resume {run_dir}: no {STATE_FILE} there (not a tune folder)")
    return json.loads(p.read_text())


def _compare(variants: list[tuple[str, RunConfig]], opts: TuneOptions, budget_s: float, out: Path) -> dict:

    copts = CompareOptions(
        metrics=tuple(METRICS),
        rounds=opts.rounds,
        max_rounds=opts.max_rounds,
        target_ci=opts.target_ci,
        budget_s=budget_s,
        calls=opts.calls,
        seed=opts.seed,
    )
    cfgs = [(n, c.model_copy(update={"output": str(out)})) for n, c in variants]
    report = compare(cfgs, copts, progress=False)
    return {"run_dir": report.data["run_dir"], "compare": report.data["compare"]}


def _accuracy(cfg: RunConfig, out: Path) -> dict[str, Any] | None:
    """Accuracy of a config on its dataset (a short `run`: no context or batch curves)."""

    quick = cfg.model_copy(deep=True)
    quick.output = str(out)
    quick.measure.prompt_lens, quick.measure.batch_sizes = [], []
    report = run(quick, progress=False)
    return report.data["metrics"].get("accuracy")


def accuracy_checks(
    base: RunConfig, cands: list[Candidate], ranked: list[dict], deadline: float, out: Path, state: dict
) -> None:
    """For every measured candidate that may change outputs: accuracy vs the baseline's (Wilson CIs)."""
    if base.workload.kind == "synthetic":
        for r in ranked:
            if r.get("changes_outputs"):
                r["accuracy"] = "not checked: synthetic prompts have no references"
        return
    acc = state.setdefault("accuracy", {})
    by_name = {c.name: c for c in cands}
    for r in ranked:
        if not (r.get("measured") and r.get("changes_outputs")):
            continue
        if time.monotonic() > deadline:
            r["accuracy"] = "not checked: budget spent"
            continue
        if "baseline" not in acc:
            acc["baseline"] = _accuracy(base, out)
        if r["name"] not in acc:
            acc[r["name"]] = _accuracy(config_with(base, by_name[r["name"]].overrides), out)
        r["accuracy"] = _accuracy_verdict(acc["baseline"], acc[r["name"]])


def _accuracy_verdict(a: dict | None, b: dict | None) -> str:
    if not a or not b:
        return "not checked: no references in this dataset"
    change = f"{a['mean']:.1%} -> {b['mean']:.1%} (n={b['n']})"
    if b["ci95_high"] < a["ci95_low"]:
        return f"accuracy DROPPED {change}"
    if b["ci95_low"] > a["ci95_high"]:
        return f"accuracy rose {change}"
    return f"accuracy unchanged {change}"


def _finished_ladder(run_dir: Path, min_rounds: int) -> dict[str, Any] | None:
    """The ladder comparison a killed tune left in its folder, when it has ``min_rounds`` full rounds."""
    for report in sorted(run_dir.glob("*-compare-baseline-vs-*/report.json"), reverse=True):
        try:
            data = json.loads(report.read_text())
        except (OSError, ValueError):
            continue
        comp = data.get("compare") or {}
        if comp.get("names") == ["baseline", "best"]:
            continue  # the verify comparison, not the ladder
        if (comp.get("rounds") or 0) >= min_rounds and comp.get("ratios"):
            return {"run_dir": str(report.parent), "compare": comp, "adopted": True}
    return None


def preflight(cfg: RunConfig, opts: TuneOptions, device: str) -> tuple[list[Candidate], list[dict], dict | None]:
    """Every check that needs no model: SLO, fit, the ladder, the budget (one line each)."""
    parse_slo(opts.slo)
    fit = model_fit(cfg, device)
    check_fit(cfg.model.name, device, fit)
    cands, skipped = plan(cfg, device, fit)
    cands = select(cands, opts.candidates)
    check_budget(opts.budget_s, device, 2)
    return cands, skipped, fit


def run_tune(cfg: RunConfig, opts: TuneOptions, run_dir: Path, state: dict[str, Any], device: str) -> dict[str, Any]:
    """Plan, ladder, accuracy, verify; the ``tune`` section of the report (``state`` updated in place)."""
    start = time.monotonic() - state.get("elapsed_s", 0.0)
    deadline = start + opts.budget_s
    slo = parse_slo(opts.slo)
    cands, skipped, fit = preflight(cfg, opts, device)
    state.update(planned=[c.__dict__ for c in cands], skipped=skipped, fit=fit)
    if "ladder" not in state:
        state["ladder"] = _finished_ladder(run_dir, opts.rounds)  # a killed tune's complete rounds
    if state["ladder"] is None:
        variants = [("baseline", cfg)] + [(c.name, config_with(cfg, c.overrides)) for c in cands]
        state["ladder"] = _compare(variants, opts, 0.65 * opts.budget_s, run_dir)
        state["elapsed_s"] = time.monotonic() - start
        _save(run_dir, state)
    ladder = state["ladder"]["compare"]
    ranked = rows(ladder, cands, opts.metric, slo)
    base_summary = ((ladder.get("variants") or {}).get("baseline") or {}).get("summary") or {}
    accuracy_checks(cfg, cands, ranked, deadline, run_dir, state)
    chosen, merged = combine(ranked, cands)
    best_cfg = config_with(cfg, merged)
    best: dict[str, Any] = {"chosen": chosen, "overrides": merged}
    if not chosen:
        best["verify"] = "nothing to verify: no candidate helped significantly; the baseline stays"
    elif len(chosen) == 1 and "verify" not in state:
        best["verify"] = "a single candidate: its ladder comparison is the verification"
    elif not opts.verify:
        best["verify"] = "skipped (--no-verify)"
    elif "verify" not in state and deadline - time.monotonic() < 4 * 15:
        best["verify"] = "not verified: the budget is spent"
    else:
        if "verify" not in state:
            remaining = max(deadline - time.monotonic(), 1.0)
            state["verify"] = _compare([("baseline", cfg), ("best", best_cfg)], opts, remaining, run_dir)
            state["elapsed_s"] = time.monotonic() - start
            _save(run_dir, state)
        ratio = next((r for r in state["verify"]["compare"]["ratios"] if r["metric"] == opts.metric), None)
        best["verify"] = ratio
    best_summary = _best_summary(state, ladder, chosen)
    best["roofline"] = best_roofline(cfg, best_cfg, best_summary, device)
    best["meets_slo"] = meets(slo, best_summary)
    base_row = {"name": "baseline", "slo_value": (base_summary.get(slo[0]) or {}).get("mean") if slo else None}
    base_row["meets_slo"] = meets(slo, base_summary)
    state["elapsed_s"] = time.monotonic() - start
    _save(run_dir, state)
    return {
        "options": opts.__dict__,
        "metric": opts.metric,
        "slo": opts.slo,
        "planned": [c.name for c in cands],
        "skipped": skipped,
        "fit": fit,
        "ladder_dir": state["ladder"]["run_dir"],
        "rounds": ladder.get("rounds"),
        "ranked": ranked,
        "baseline": {"summary": base_summary, "meets_slo": base_row["meets_slo"]},
        "best": best,
        "best_config": best_cfg.model_dump(),
        "closest_to_slo": closest_to_slo(ranked, slo, base_row),
        "elapsed_s": state["elapsed_s"],
        "budget_s": opts.budget_s,
    }


def _best_summary(state: dict[str, Any], ladder: dict[str, Any], chosen: list[str]) -> dict[str, Any]:
    variants = (state.get("verify") or {}).get("compare", {}).get("variants") or {}
    if "best" in variants:
        return variants["best"]["summary"]
    name = chosen[0] if len(chosen) == 1 else "baseline"
    return ((ladder.get("variants") or {}).get(name) or {}).get("summary") or {}


def best_roofline(base: RunConfig, best: RunConfig, summary: dict[str, Any], device: str) -> dict[str, Any] | None:
    """The best variant's decode as a share of the calibrated bandwidth limit (None without either)."""

    hf_config = _hf_config(best.model.name)
    tps = (summary.get("decode_tps") or {}).get("mean")
    if hf_config is None or tps is None:
        return None
    fit = model_fit(best, device) or {}
    g = geometry_from_config(hf_config, 4 if fit.get("dtype") == "float32" else 2)
    batch = best.workload.batch_size
    ctx = best.workload.prompt_len + best.generation.max_new_tokens / 2
    achieved = decode_bytes(g, batch, ctx) * tps / batch
    calibration = load(identity(device))
    bw = (calibration or {}).get("copy_bandwidth", {}).get("mean")
    return {
        "decode_bandwidth": achieved,
        "mbu": achieved / bw if bw else None,
        "limit_tps_batch1": bw / decode_bytes(g, 1, ctx) if bw else None,
        "calibrated": bool(bw),
    }


def write_config(cfg: dict[str, Any], path: str | Path) -> Path:
    """The best configuration as a YAML file that `run --config` and `compare` accept."""
    keep = {k: v for k, v in cfg.items() if k not in ("output",)}
    p = Path(path)
    p.write_text(
        "# written by `infermeter tune`: the best combination it measured\n" + yaml.safe_dump(keep, sort_keys=False)
    )
    return p


def tune(cfg: RunConfig | None, opts: TuneOptions, resume: str | Path | None = None) -> Any:
    """Run (or continue) a tune and return its report (written to ``<run_dir>/report.json``).

    ``cfg`` is None when resuming: the configuration is the one the run started with.
    """

    if resume:
        run_dir = Path(resume)
        state = load_state(run_dir)
        cfg = RunConfig.model_validate(state["config"])
    elif cfg is None:
        raise InfermeterError("tune needs a configuration, or a run folder to resume")
    device = resolve_device(cfg.model.device)
    load_items(cfg.workload)  # bad input fails before anything runs or any folder is made
    preflight(cfg, opts, device)
    if not resume:
        run_dir = _run_dir(cfg, "tune-" + Path(cfg.model.name).name)
        state = {"config": cfg.model_dump()}
        _save(run_dir, state)
    report = _new_report("tune", run_dir, config=cfg.model_dump())

    def finalize() -> None:
        _save(run_dir, state)

    with _tracked(report, run_dir / REPORT_FILE, finalize):
        report.data["tune"] = run_tune(cfg, opts, run_dir, state, device)
    return report
