"""The library API behind ``infermeter.run/compare/soak/sweep/load``: what a script or notebook calls.

The CLI calls :mod:`infermeter.api` directly; these functions add what a library user needs:

- ``output=None`` (the default) keeps the result folders in one temporary directory, removed when
  the interpreter exits; the returned :class:`~infermeter.results.schema.Report` holds everything in
  memory. Pass ``output="results"`` (or a config with ``output``) to keep them.
- The results database (``~/.infermeter/results.db``) is written only when asked: ``db=True`` (the
  default database, or ``$INFERMETER_DB``) or ``db="path.db"``. The CLI records by default.
- Measurements run in spawned worker processes, which re-import the calling script. A script that
  calls infermeter at import time (no ``if __name__ == "__main__":`` guard) is stopped with one line
  that says so and how to fix it, instead of a worker crash.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infermeter import api
from infermeter.config import RunConfig, build_config
from infermeter.core.isolation import refuse_while_importing_main
from infermeter.results.schema import Report
from infermeter.scenarios.compare import CompareOptions
from infermeter.scenarios.load_profiles import LoadOptions
from infermeter.scenarios.soak import SoakOptions

_TEMP: list[Path] = []


def _temp_output() -> str:
    """One temporary results folder per interpreter, removed at exit (reports stay in memory)."""
    if not _TEMP:
        path = Path(tempfile.mkdtemp(prefix="infermeter-"))
        _TEMP.append(path)
        atexit.register(shutil.rmtree, path, True)
    return str(_TEMP[0])


def _config(
    config: RunConfig | dict[str, Any] | None, overrides: dict[str, Any], output: str | Path | None
) -> RunConfig:
    """The validated config, with ``output`` resolved: the argument, the config's own, else a temp dir."""
    if isinstance(config, RunConfig):
        cfg = build_config(config.model_dump(), overrides) if overrides else config
        explicit = "output" in config.model_fields_set
    else:
        cfg = build_config(config, overrides)
        explicit = "output" in (config or {}) or "output" in overrides
    if output is not None:
        return cfg.model_copy(update={"output": str(output)})
    return cfg if explicit else cfg.model_copy(update={"output": _temp_output()})


@contextmanager
def _database(db: bool | str | Path) -> Iterator[None]:
    """Record into the results database only when asked. Workers inherit the environment."""
    old = os.environ.get("INFERMETER_DB")
    if db is False:
        os.environ["INFERMETER_DB"] = "off"
    elif db is not True:
        os.environ["INFERMETER_DB"] = str(db)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("INFERMETER_DB", None)
        else:
            os.environ["INFERMETER_DB"] = old


def _measure(
    fn: Callable[..., Report],
    config: RunConfig | dict[str, Any] | None,
    *args: Any,
    output: str | Path | None,
    db: bool | str | Path,
    progress: bool,
    overrides: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Report:
    """``fn(config, *args, progress=progress, **kwargs)`` of :mod:`infermeter.api`, with the config's output
    resolved (:func:`_config`) and the results database written only when ``db`` asks."""
    cfg = _config(config, overrides or {}, output)
    with _database(db):
        return fn(cfg, *args, progress=progress, **kwargs)


def run(
    config: RunConfig | dict[str, Any] | None = None,
    *,
    output: str | Path | None = None,
    db: bool | str | Path = False,
    progress: bool = True,
    processes: int = 1,
    **overrides: Any,
) -> Report:
    """Measure one configuration in a fresh worker process and return its report.

    ``config``: a RunConfig, a nested dict (``{"model": {"name": "tiny-qwen3"}}``) or None (the
    embedded default). ``overrides`` use the ``--set`` key names (``max_new_tokens=32``,
    ``limit=2``, ``batch_sizes=[]``). ``report.metrics["decode_tps"]["mean"]`` is decode speed.
    ``processes=3``: measure it in 3 fresh processes; ``report.data["processes"]`` holds the CIs over them.
    """
    refuse_while_importing_main()

    return _measure(api.run, config, output=output, db=db, progress=progress, overrides=overrides, processes=processes)


def compare(
    variants: dict[str, RunConfig | dict[str, Any]] | list[tuple[str, RunConfig | dict[str, Any]]],
    options: CompareOptions | None = None,
    *,
    output: str | Path | None = None,
    db: bool | str | Path = False,
    progress: bool = True,
    **option_kwargs: Any,
) -> Report:
    """Compare named configurations, each in its own fresh process every round (A/B, interleaved).

    ``variants``: ``{"sdpa": cfg_a, "eager": cfg_b}`` (the first is the baseline). ``option_kwargs``
    are :class:`~infermeter.scenarios.compare.CompareOptions` fields (``rounds=4``, ``calls=3``,
    ``metrics=("decode_tps", "e2e_s")``). ``report.metrics[variant]`` holds each variant's statistics;
    ``report.data["compare"]["ratios"]`` the verdicts.
    """
    refuse_while_importing_main()

    items = list(variants.items()) if isinstance(variants, dict) else list(variants)
    cfgs = [(name, _config(c, {}, output)) for name, c in items]
    opts = options or CompareOptions(**option_kwargs)
    with _database(db):
        return api.compare(cfgs, opts, progress=progress)


def soak(
    config: RunConfig | dict[str, Any] | None = None,
    options: SoakOptions | None = None,
    *,
    output: str | Path | None = None,
    db: bool | str | Path = False,
    progress: bool = True,
    **option_kwargs: Any,
) -> Report:
    """Repeat calls per cleanup strategy and judge whether latency or memory creeps up.

    ``option_kwargs`` are :class:`~infermeter.scenarios.soak.SoakOptions` fields
    (``calls=10``, ``strategies=("none", "full")``). ``report.metrics[configuration]`` holds each
    configuration's numbers and its ``stable`` verdict.
    """
    refuse_while_importing_main()

    opts = options or SoakOptions(**option_kwargs)
    return _measure(api.soak, config, opts, output=output, db=db, progress=progress)


def sweep(
    config: RunConfig | dict[str, Any] | None = None,
    knobs: dict[str, list[Any]] | None = None,
    *,
    design: str | None = None,
    output: str | Path | None = None,
    db: bool | str | Path = False,
    progress: bool = True,
    replicates: int = 1,
) -> Report:
    """Measure ``config`` at every point of a grid over ``knobs`` (``{"num_beams": [1, 2]}``).

    Each point is a full :func:`run` in its own worker. ``report.metrics[point_label]`` holds each
    point's metrics; ``report.data["sweep"]["effects"]`` and ``["pareto"]`` the analysis.
    ``design="one-at-a-time"`` varies one knob at a time from the baseline. ``replicates=3``: each
    point 3 times, each replicate in its own seeded order; CIs over replicates in the points'
    ``replicate_stats`` and the effects' ``effect_ci``.
    """
    refuse_while_importing_main()

    return _measure(
        api.sweep, config, knobs, output=output, db=db, progress=progress, design=design, replicates=replicates
    )


def load(
    config: RunConfig | dict[str, Any] | None = None,
    options: LoadOptions | None = None,
    *,
    output: str | Path | None = None,
    db: bool | str | Path = False,
    progress: bool = True,
    **option_kwargs: Any,
) -> Report:
    """Put an OpenAI-compatible server (``config["server"]["base_url"]``) under a rate profile.

    ``option_kwargs`` are :class:`~infermeter.scenarios.load_profiles.LoadOptions` fields
    (``profile="poisson:5"``, ``max_requests=100``, ``slo={"ttft": 0.2}``). ``report.metrics[profile]``
    holds each point's rates, throughput and latency statistics.
    """

    opts = options or LoadOptions(**option_kwargs)
    return _measure(api.load, config, opts, output=output, db=db, progress=progress)
