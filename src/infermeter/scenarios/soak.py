"""The ``soak`` scenario: does a deployment decay over repeated calls, and which cleanup fixes it?

Each configuration, a cleanup strategy at a batch size, runs in its own fresh worker process
(:mod:`infermeter.scenarios.soak_worker`): ``calls`` calls (or as many as fit in ``duration_s``),
one row per call in ``calls.jsonl`` with E2E, TTFT, TPOT and memory, written as it happens. The
parent follows that file for its live view; afterwards :mod:`.soak_analysis` judges every series with
:func:`infermeter.stats.trend.analyze` (Theil-Sen slope with CI, Mann-Kendall, step detection).

Strategies (applied after every call unless said otherwise):

* ``none``, ``gc``, ``gc+empty_cache``, ``full``: :func:`infermeter.optimize.cleanup` at that level
  (``none`` runs nothing);
* ``recreate``: every ``recreate_every`` calls, drop the model instance, ``gc`` + ``empty_cache``, and
  load a new one ("rebuild the client");
* ``session``: each call inside :class:`infermeter.optimize.inference_session` (level ``full``), which
  releases the call's outputs on exit and reports what is left; the model stays loaded.

The first ``warmup_calls`` calls are reported (the table's "call 1" is the fresh model's first call)
but left out of every trend: first-call costs are not decay. A configuration is *stable* when no
series is ``increasing`` and none has an upward step of at least ``min_step`` of its level. Smaller
steps are reported but do not count: allocators grow in chunks, and a one-off bump of a few MiB is
bounded growth, not a leak. With fewer than 8 calls after the warm-up there is no verdict ("?").

``leak=True`` is a calibration workload, not a user feature: the model instance keeps every call's
output with its KV cache, a leak of known size per call, to check that the detector finds it.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infermeter.config import RunConfig, build_config
from infermeter.core.isolation import run_isolated
from infermeter.errors import InfermeterError
from infermeter.executors.rounds import run_all
from infermeter.scenarios.soak_worker import CALLS_FILE, STRATEGIES, soak_one

INPUTS = ("fixed", "varied")


@dataclass
class SoakOptions:
    """How to soak (see the module docstring). ``duration_s``, when set, replaces ``calls``."""

    calls: int = 20
    duration_s: float | None = None
    max_calls: int = 100_000  # duration mode: a bound on the rows kept
    strategies: tuple[str, ...] = STRATEGIES
    batch_sizes: tuple[int, ...] = ()  # chunking; () = the config's workload.batch_size
    warmup_calls: int = 2  # shown, excluded from trends
    at: tuple[int, ...] = (1, 5, 10)  # calls whose E2E the table shows (1-based, warm-up included)
    inputs: str = "varied"  # fixed: the same prompt every call; varied: new content, same shape
    recreate_every: int = 5
    alpha: float = 0.01  # Mann-Kendall significance
    min_relative_slope: float = 0.001  # a drift below 0.1% of the level per call is "stable"
    min_step: float = 0.05  # an upward step below 5% of the level does not make a configuration unstable
    leak: bool = False  # calibration workload (module docstring)

    def validate(self) -> None:
        """One clear line for each impossible setting."""
        if not self.strategies:
            raise InfermeterError(f"no cleanup strategy given (use {', '.join(STRATEGIES)})")
        for s in self.strategies:
            if s not in STRATEGIES:
                raise InfermeterError(f"unknown strategy {s!r} (use {', '.join(STRATEGIES)})")
        if len(set(self.strategies)) != len(self.strategies):
            raise InfermeterError(f"strategy listed twice: {', '.join(self.strategies)}")
        if self.duration_s is None:
            if self.calls < 3:
                raise InfermeterError(f"calls must be >= 3 to show a trend (got {self.calls}; 10 or more to tell)")
            if self.warmup_calls >= self.calls:
                raise InfermeterError(f"warmup_calls ({self.warmup_calls}) must be below calls ({self.calls})")
        elif not self.duration_s > 0:
            raise InfermeterError(f"duration must be positive, got {self.duration_s!r}")
        if self.warmup_calls < 0:
            raise InfermeterError("warmup_calls must be >= 0")
        if self.inputs not in INPUTS:
            raise InfermeterError(f"unknown inputs {self.inputs!r} (use {' or '.join(INPUTS)})")
        if self.recreate_every < 1:
            raise InfermeterError("recreate_every must be >= 1")
        if any(b < 1 for b in self.batch_sizes):
            raise InfermeterError(f"batch sizes must be >= 1, got {list(self.batch_sizes)}")
        if not self.at or any(c < 1 for c in self.at):
            raise InfermeterError(f"--at takes call numbers >= 1 (1 is the first call), got {list(self.at)}")
        if not 0 < self.alpha < 1 or self.min_relative_slope < 0 or self.min_step < 0:
            raise InfermeterError("alpha must be in (0, 1); min_relative_slope and min_step >= 0")
        if self.max_calls < 3:
            raise InfermeterError("max_calls must be >= 3")

    def check_config(self, cfg: RunConfig) -> None:
        """Settings that depend on the configuration."""
        if self.leak and (cfg.backend != "hf" or cfg.model.kv_cache == "off"):
            raise InfermeterError("leak=true (calibration) needs the hf backend with a KV cache (cache != off)")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|min|h)?\s*$")
_UNIT_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``60s``, ``5m``, ``1.5h``, ``90`` (seconds) -> seconds."""
    m = _DURATION.match(text)
    if not m or float(m.group(1)) <= 0:
        raise InfermeterError(f"bad duration {text!r} (use e.g. 60s, 5m, 1h)")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def plan(base: RunConfig, opts: SoakOptions) -> list[tuple[str, str, RunConfig]]:
    """``(name, strategy, config)`` per configuration: every strategy at every batch size."""
    sizes = opts.batch_sizes or (base.workload.batch_size,)
    out = []
    for strategy in opts.strategies:
        for b in sizes:
            name = strategy if len(sizes) == 1 else f"{strategy} b{b}"
            out.append((name, strategy, build_config(base.model_dump(), {"workload.batch_size": b})))
    return out


# -- live view -------------------------------------------------------------------------------------
class Follower:
    """Follows ``calls.jsonl`` while a worker runs and hands each new row of ``name`` to ``on_row``.

    The worker prints nothing (its output would tangle with the parent's bar); the file it appends to
    anyway is the channel. Only complete lines are read, so a row being written is picked up next time.
    """

    def __init__(self, path: Path, name: str, on_row: Any, interval_s: float = 0.25) -> None:
        self.path, self.name, self.on_row, self.interval_s = path, name, on_row, interval_s
        self.offset = path.stat().st_size if path.exists() else 0
        self.last_call = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def poll(self) -> None:
        """Read the rows appended since the last poll."""
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a crashed worker's torn line, glued to the next one
                continue
            if row.get("config") == self.name:
                self.last_call = row["call"]
                self.on_row(row)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def __enter__(self) -> Follower:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()


def _live_line(name: str, row: dict[str, Any]) -> str:
    e2e, mem = row.get("e2e_s"), row["memory"]
    latency = f"{1000 * e2e:.0f} ms" if e2e is not None else "-"
    view, size = ("alloc", mem["torch_allocated"]) if mem.get("torch_allocated") is not None else ("RSS", mem["rss"])
    return f"{name}: call {row['call']}, {latency}, {view} {size / 2**30:.2f} GiB"


def run_soak(
    configs: list[tuple[str, str, RunConfig]],
    opts: SoakOptions,
    run_dir: Path,
    progress: Any,
    metas: dict,
    executor: Any = None,
) -> None:
    """Run every configuration in its own worker, in order; worker facts go into ``metas`` as they come.

    ``executor`` (:mod:`infermeter.executors`): every strategy is a task, all submitted at once.
    """
    options = asdict(opts)
    if executor is not None:
        jobs = [(name, {"config": cfg.model_dump(), "run_dir": str(run_dir), "name": name, "strategy": strategy,
                        "options": options}) for name, strategy, cfg in configs]  # fmt: skip
        task = progress.add_task("soak strategies", total=len(jobs))
        metas.update(run_all(executor, soak_one, jobs, run_dir))
        progress.update(task, completed=len(jobs))
        return
    for name, strategy, cfg in configs:
        task = progress.add_task(name, total=None if opts.duration_s else opts.calls)

        def show(row: dict[str, Any], task: Any = task, name: str = name) -> None:
            progress.update(task, completed=row["call"], description=_live_line(name, row))

        payload = {
            "config": cfg.model_dump(),
            "run_dir": str(run_dir),
            "name": name,
            "strategy": strategy,
            "options": options,
        }
        with Follower(run_dir / CALLS_FILE, name, show) as follow:
            metas[name] = run_isolated(soak_one, payload, cfg.measure.isolation)
        progress.update(task, total=follow.last_call, completed=follow.last_call)  # duration mode: known now
