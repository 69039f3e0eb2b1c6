"""The ``sweep`` scenario: a grid over config keys, every point a full ``run`` in a fresh worker.

A knob is a config key with several values (``--set num_beams=1,2,4``); a key with one value is a
fixed override of the base config. ``design="full"`` measures every combination; ``"one-at-a-time"``
measures the baseline point (every knob at its baseline value) and then varies one knob at a time,
which is all the per-knob effect table needs, at a cost that grows with the sum of the knobs' values
rather than their product.

A knob's *baseline* is the base config's value when it is among the knob's values, else the knob's
first value; the effect of a knob is read with every other knob at its baseline
(:mod:`.sweep_analysis`).

Each point is measured by :func:`infermeter.api.run` (its own run folder under
``<sweep>/points/<id>/``, its own worker process, its own entry in the results database), so a
sweep measures exactly what ``infermeter run`` measures. A point whose config does not validate, or
whose worker fails (out of memory, a value the model refuses), is recorded with its reason and the
sweep goes on. The sweep report is rewritten after every point, so an interruption leaves a report
that ``--resume`` continues: points are matched on their full resolved config (the ``output``
folder aside), and completed ones are never measured again.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infermeter.config import RunConfig, apply_overrides, build_config, parse_value, resolve_key
from infermeter.errors import InfermeterError
from infermeter.scenarios.sweep_analysis import point_metrics

DESIGNS = ("full", "one-at-a-time")
POINTS_DIR = "points"
POINTS_CSV = "points.csv"


@dataclass
class Knob:
    """A config key (dotted path) and the values the sweep gives it."""

    key: str
    values: list[Any]
    baseline: int = 0  # index into values

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"key": self.key, "values": self.values, "baseline": self.baseline}


@dataclass
class Point:
    """One planned point: its knob values and its resolved config (or why it has none)."""

    knobs: dict[str, Any]
    label: str
    config: RunConfig | None
    raw: dict[str, Any]  # the merged config dict before validation
    error: str | None = None
    identity: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.identity = identity(self.config.model_dump() if self.config else self.raw)


# -- parsing ---------------------------------------------------------------------------------------
def split_values(text: str) -> list[str]:
    """Split ``1,2,4`` at top-level commas; commas inside ``[]``, ``{}`` or quotes do not split."""
    parts: list[str] = []
    cur: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def fmt_value(v: Any) -> str:
    """A knob value as labels write it: strings bare, everything else as JSON (``[16,32]``, ``null``)."""
    return v if isinstance(v, str) else json.dumps(v)


def parse_sets(items: list[str]) -> tuple[list[Knob], dict[str, Any]]:
    """``--set KEY=V1,V2,...`` items -> (knobs with several values, fixed one-value overrides).

    Keys are validated here (one clear line for an unknown, ambiguous or repeated key); values are
    validated per point, so one bad value fails its points only.
    """
    knobs: list[Knob] = []
    fixed: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise InfermeterError(f"--set expects KEY=VALUE[,VALUE...], got {item!r}")
        try:
            path = resolve_key(key.strip())
        except InfermeterError as err:
            raise InfermeterError(f"--set {item}: {err}") from None
        if path in seen:
            raise InfermeterError(f"--set {item}: {path} is already set by --set {seen[path]}")
        seen[path] = item
        raw = split_values(text)
        if any(not r for r in raw):
            raise InfermeterError(f"--set {item}: empty value (values are separated by commas)")
        values = [parse_value(r) for r in raw]
        dupes = [fmt_value(v) for i, v in enumerate(values) if v in values[:i]]
        if dupes:
            raise InfermeterError(f"--set {item}: value {dupes[0]} is listed twice")
        if len(values) == 1:
            fixed[path] = values[0]
        else:
            knobs.append(Knob(path, values))
    return knobs, fixed


def knobs_from(mapping: dict[str, list[Any]]) -> list[Knob]:
    """Knobs from a Python mapping (key -> list of values), keys validated like ``--set``."""
    out: list[Knob] = []
    for key, values in mapping.items():
        vals = list(values) if isinstance(values, (list, tuple)) else [values]
        path = resolve_key(key)
        if not vals:
            raise InfermeterError(f"knob {key}: no values")
        if any(k.key == path for k in out):
            raise InfermeterError(f"knob {key}: {path} is given twice")
        out.append(Knob(path, vals))
    return out


def yaml_knobs(section: Any, source: str) -> list[str]:
    """A YAML ``sweep:`` mapping (key -> list of values) as ``--set`` items."""
    if not isinstance(section, dict):
        raise InfermeterError(f"'sweep' in {source} must map config keys to lists of values")
    out = []
    for key, values in section.items():
        vals = values if isinstance(values, list) else [values]
        out.append(f"{key}=" + ",".join(json.dumps(v) for v in vals))
    return out


# -- planning --------------------------------------------------------------------------------------
def identity(config: dict[str, Any]) -> str:
    """What makes two points the same measurement: the full resolved config, output folder aside."""
    return json.dumps({k: v for k, v in config.items() if k != "output"}, sort_keys=True, default=str)


def _get(config: dict[str, Any], path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def short_key(path: str) -> str:
    """``generation.top_p`` -> ``top_p`` when the bare name is unambiguous."""
    name = path.rsplit(".", 1)[-1]
    try:
        return name if resolve_key(name) == path else path
    except InfermeterError:
        return path


def label(knobs: dict[str, Any]) -> str:
    """``num_beams=2,top_p=0.8`` (``baseline`` for a sweep without knobs)."""
    return ",".join(f"{short_key(k)}={fmt_value(v)}" for k, v in knobs.items()) or "baseline"


def _same(a: Any, b: Any) -> bool:
    """Equal values, where a boolean only equals a boolean (``True == 1`` in Python)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def set_baselines(knobs: list[Knob], base: RunConfig) -> None:
    """Each knob's baseline: the base config's value when listed, else the first value."""
    dump = base.model_dump()
    for k in knobs:
        current = _get(dump, k.key)
        k.baseline = next((i for i, v in enumerate(k.values) if _same(v, current)), 0)


def assignments(knobs: list[Knob], design: str) -> list[dict[str, Any]]:
    """Knob values per point: the full product (first knob slowest), or baseline + one knob at a time."""
    if design not in DESIGNS:
        raise InfermeterError(f"unknown design {design!r} (use {' or '.join(DESIGNS)})")
    if design == "full":
        keys = [k.key for k in knobs]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(k.values for k in knobs))]
    base = {k.key: k.values[k.baseline] for k in knobs}
    out = [base]
    for k in knobs:
        out += [{**base, k.key: v} for i, v in enumerate(k.values) if i != k.baseline]
    return out


def plan(base: RunConfig, knobs: list[Knob], design: str) -> list[Point]:
    """Every point of the sweep, validated (an invalid point keeps its error); duplicates dropped."""
    set_baselines(knobs, base)
    out: list[Point] = []
    seen: set[str] = set()
    dump = base.model_dump()
    for assign in assignments(knobs, design):
        name = label(assign)
        raw = apply_overrides(dump, assign)
        try:
            cfg, error = build_config(raw, source=f" (point {name})"), None
        except InfermeterError as err:
            cfg, error = None, str(err)
        p = Point(assign, name, cfg, raw, error)
        if p.identity not in seen:
            seen.add(p.identity)
            out.append(p)
    return out


# -- running ---------------------------------------------------------------------------------------
def _entry(point: Point, pid: str) -> dict[str, Any]:
    return {
        "id": pid,
        "label": point.label,
        "knobs": point.knobs,
        "status": "pending",
        "error": None,
        "run_dir": None,
        "wall_s": None,
        "metrics": {},
        "config": point.config.model_dump() if point.config else point.raw,
        "valid": point.config is not None,
        "planned": True,
    }


def attach(points: list[Point], entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report entry of each planned point: an earlier entry with the same config, or a new one.

    Earlier entries that this plan does not contain stay in the report with ``planned: false``.
    """
    by_identity = {identity(e["config"]): e for e in entries}
    used = {int(e["id"][1:]) for e in entries if e["id"][1:].isdigit()}
    nxt = max(used, default=0) + 1
    for old in entries:
        old["planned"] = False
    out = []
    for p in points:
        e = by_identity.get(p.identity)
        if e is None:
            e = _entry(p, f"p{nxt:02d}")
            nxt += 1
            entries.append(e)
        e.update(planned=True, knobs=p.knobs, label=p.label)
        out.append(e)
    return out


def _point_dir(folder: Path) -> str | None:
    """The run folder api.run made under a point's folder (the newest, after a retry)."""
    runs = (
        sorted((d for d in folder.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime) if folder.is_dir() else []
    )
    return str(runs[-1]) if runs else None


#: Measures one configuration and returns its report: ``run(cfg, progress=False)`` (the library's
#: :func:`infermeter.api.run`, handed down by the caller so this layer does not depend on it).
RunPoint = Callable[..., Any]


def measure_point(point: Point, entry: dict[str, Any], sweep_dir: Path, checkpoint: Any, run: RunPoint) -> None:
    """Measure one point with ``run`` (a full run in its own worker) and record the outcome in ``entry``."""
    if point.config is None:
        entry.update(status="failed", error=point.error)
        return
    folder = sweep_dir / POINTS_DIR / entry["id"]
    cfg = point.config.model_copy(update={"output": str(folder)})
    entry.update(status="running", error=None)
    checkpoint()
    start = time.monotonic()  # bookkeeping (how long a point took), not a measurement
    try:
        report = run(cfg, progress=False)
    except KeyboardInterrupt:
        entry.update(status="interrupted", error="interrupted", run_dir=_point_dir(folder))
        raise
    except InfermeterError as err:
        entry.update(status="failed", error=str(err), run_dir=_point_dir(folder))
    else:
        done = str(Path(report.path or folder).parent)
        entry.update(status="complete", run_dir=done, metrics=point_metrics(report.data))
        entry["warnings"] = report.data.get("warnings") or []
    finally:
        entry["wall_s"] = time.monotonic() - start


def run_sweep(
    points: list[Point],
    entries: list[dict[str, Any]],
    sweep_dir: Path,
    bar: Any,
    checkpoint: Any,
    retry_failed: bool,
    run: RunPoint,
    executor: Any = None,
    interference: dict[str, Any] | None = None,
    dispatch: Callable[..., None] | None = None,
) -> None:
    """Measure every planned point not measured yet; ``checkpoint()`` after each one.

    ``executor`` (see :mod:`infermeter.executors`): the points go to it all at once, each recorded
    as it returns; None measures them here one after the other. ``interference``: a dict the
    executor's interference check fills (the first pending point measured alone first).
    """
    task = bar.add_task("sweep points", total=len(points))
    if executor is not None and dispatch is not None:  # dispatch: the API's measure_points
        todo = [(p, e) for p, e in zip(points, entries, strict=True) if not _done(e, retry_failed)]
        bar.update(task, completed=len(points) - len(todo))
        dispatch(todo, sweep_dir, executor, checkpoint, lambda: bar.advance(task), POINTS_DIR, interference)
        return
    for p, e in zip(points, entries, strict=True):
        if not _done(e, retry_failed):
            bar.update(task, description=f"{e['id']} {p.label}"[:28])
            measure_point(p, e, sweep_dir, checkpoint, run)
            checkpoint()
        bar.advance(task)
    bar.update(task, description="sweep points")


def _done(entry: dict[str, Any], retry_failed: bool) -> bool:
    """Measured already: complete, or failed (unless retrying); lost and interrupted points are not."""
    return entry["status"] == "complete" or (entry["status"] == "failed" and not retry_failed)


_SAMPLING = ("generation.temperature", "generation.top_k", "generation.top_p")


def warnings(base: RunConfig, knobs: list[dict[str, Any]], entries: list[dict[str, Any]]) -> list[str]:
    """Lines saying where the sweep's numbers should not be read as they look."""
    out = []
    if base.measure.isolation == "inline":
        out.append("isolation=inline: every point ran in the sweep's own process (debugging; state carries over)")
    planned = [e for e in entries if e.get("planned", True)]
    sampling = [short_key(k["key"]) for k in knobs if k["key"] in _SAMPLING]
    if sampling and not any(e["valid"] and e["config"]["generation"]["do_sample"] for e in planned):
        verb = "has" if len(sampling) == 1 else "have"
        out.append(f"{', '.join(sampling)} {verb} no effect: no point samples (add --do-sample)")
    for status in ("failed", "lost", "interrupted", "running", "pending"):
        ids = [e["id"] for e in planned if e["status"] == status]
        if ids:
            verb = "not measured yet" if status in ("pending", "running") else status
            verb += " (worker or node lost; --resume measures them)" if status == "lost" else ""
            out.append(f"{len(ids)} of {len(planned)} points {verb}: {', '.join(ids)}")
    noisy = [e["id"] for e in planned if e.get("warnings")]
    if noisy:
        out.append(f"points with warnings in their run reports: {', '.join(noisy)}")
    return out
