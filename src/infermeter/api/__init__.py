"""Library API: ``run(config) -> Report``, ``compare(variants, options) -> Report``.

The CLI is a thin layer over these functions; everything it can do, a script can do too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infermeter.api.points import measure_points
from infermeter.api.processes import run_processes
from infermeter.api.runs import INTERRUPTED, _report, _run_dir, start_run
from infermeter.config import RunConfig, build_config
from infermeter.core.environment import capture
from infermeter.core.isolation import add_worker_initializer, run_isolated
from infermeter.core.progress import load_view, phase_progress
from infermeter.core.records import RECORDS_FILE, REPORT_FILE, read_records
from infermeter.core.redact import clean
from infermeter.errors import InfermeterError
from infermeter.metrics.cache import cache_summary, input_repetition, repetition_warning
from infermeter.results import recording
from infermeter.results.files import load_report
from infermeter.results.lifecycle import all_failed
from infermeter.results.points import points_csv
from infermeter.results.schema import SCHEMA_VERSION, Report, write_json
from infermeter.scenarios import load_analysis, soak_analysis
from infermeter.scenarios import sweep as sw
from infermeter.scenarios.compare import CompareOptions, run_compare
from infermeter.scenarios.compare_failure import failure_line
from infermeter.scenarios.context_fit import check_fit, check_points
from infermeter.scenarios.load_extras import extra_warnings
from infermeter.scenarios.load_options import name_after_served, window_all
from infermeter.scenarios.load_profiles import LoadOptions
from infermeter.scenarios.load_run import execute
from infermeter.scenarios.run import measure
from infermeter.scenarios.run_cache import cached_request
from infermeter.scenarios.soak import SoakOptions, plan, run_soak
from infermeter.scenarios.soak_worker import CALLS_FILE
from infermeter.scenarios.sweep_analysis import analyze
from infermeter.scenarios.sweep_replicates import check_replicates, run_replicated
from infermeter.scenarios.sweep_size import grid_size, size_warning
from infermeter.scenarios.sweep_stats import replicate_warnings
from infermeter.workloads.base import load_items

# Workers write records; the results database hears of each batch through this hook (the scenarios
# themselves know nothing of the database).
add_worker_initializer(recording.install)


def run(
    config: RunConfig | dict[str, Any] | None = None, *, progress: bool = True, processes: int = 1, **overrides: Any
) -> Report:
    """Measure one configuration in a fresh worker and return (and write) its report.

    ``config`` is a RunConfig or a nested dict; keyword overrides use the ``--set`` key names.
    If the worker fails, a partial report with every record measured so far is written before the
    error propagates. ``processes``: measure it that many times, each in a fresh worker, and add the
    between-process statistics (:mod:`infermeter.api.processes`).
    """
    if isinstance(config, RunConfig):
        cfg = build_config(config.model_dump(), overrides) if overrides else config
    else:
        cfg = build_config(config, overrides)
    if processes != 1:
        return run_processes(cfg, processes, progress, run)
    run_dir, payload, workload = start_run(cfg, progress)
    try:
        result = run_isolated(measure, payload, cfg.measure.isolation)
    except InfermeterError as err:  # the worker's records so far still make a (partial) report
        _report(cfg, {"workload": workload}, run_dir, "failed", str(err))
        raise
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the same report, marked as such
        _report(cfg, {"workload": workload}, run_dir, "interrupted", INTERRUPTED)
        raise
    except Exception as err:
        _report(cfg, {"workload": workload}, run_dir, "failed", f"unexpected {type(err).__name__}: {clean(err, 300)}")
        raise
    report = _report(cfg, {**result, "workload": workload}, run_dir, "complete", None)
    failed = all_failed(report.data)
    if failed:  # every request failed (a server answering 500, closing mid-stream): not a measurement
        _report(cfg, {**result, "workload": workload}, run_dir, "failed", failed)
        raise InfermeterError(f"{failed}; the records are in {run_dir}")
    return report


def _new_report(kind: str, run_dir: Path, **fields: Any) -> Report:
    """A report in status "running", with this process's environment."""

    env = capture(client_only=kind == "load")
    recording.begin(run_dir, kind, fields.get("config") or {"configs": fields.get("configs", {})}, env)
    return Report(
        {
            "schema_version": SCHEMA_VERSION,
            "kind": kind,
            "status": "running",
            "error": None,
            "run_dir": str(run_dir),
            **fields,
            "environment": env,
        }
    )


@contextmanager
def _tracked(report: Report, path: Path, finalize: Callable[[], None]) -> Iterator[None]:
    """Set the report's final status, run ``finalize`` and write it, whatever happens inside."""
    data = report.data
    try:
        yield
        data["status"] = "complete"
    except InfermeterError as err:
        data["status"], data["error"] = "failed", str(err)
        raise
    except KeyboardInterrupt:
        data["status"], data["error"] = "interrupted", INTERRUPTED
        raise
    except Exception as err:  # a bug still ends the report, with its reason; the traceback goes on up
        data["status"], data["error"] = "failed", f"unexpected {type(err).__name__}: {clean(err, 300)}"
        raise
    finally:
        try:
            finalize()
        except Exception as err:  # noqa: BLE001 - a broken summary must not lose the status line
            data.setdefault("warnings", []).append(f"the summary could not be computed: {type(err).__name__}: {err}")
        write_json(report, path)
        recording.finish(data)


def compare(
    variants: Sequence[tuple[str, RunConfig | dict[str, Any]]],
    options: CompareOptions | None = None,
    *,
    progress: bool = True,
    executor: Any = None,
) -> Report:
    """Compare named configurations (see :mod:`infermeter.scenarios.compare`); writes a report.

    ``executor``: where each round's variants run (:func:`infermeter.executors.make_executor`).
    """

    opts = options or CompareOptions()
    cfgs = [(n, c if isinstance(c, RunConfig) else build_config(c, source=f" (variant {n})")) for n, c in variants]
    names = [n for n, _ in cfgs]
    if len(set(names)) != len(names):
        raise InfermeterError(f"variant names must be unique, got {', '.join(names)}")
    opts.validate(len(cfgs))
    for n, c in cfgs:
        check_fit(c, "compare", load_items(c.workload), f"variant {n}: ")  # bad input fails before any model loads
    run_dir = _run_dir(cfgs[0][1], "compare-" + "-vs-".join(names))
    report = _new_report("compare", run_dir, configs={n: c.model_dump() for n, c in cfgs})
    data = report.data

    def checkpoint(partial: dict[str, Any]) -> None:
        data["compare"] = partial
        write_json(report, run_dir / REPORT_FILE)

    def finalize() -> None:
        data["records_file"] = str(run_dir / RECORDS_FILE)
        failed = (data.get("compare") or {}).get("failed")
        if failed:  # which variant failed and why, beside the report's error line
            data.setdefault("warnings", []).append(failure_line(failed))

    with _tracked(report, run_dir / REPORT_FILE, finalize), phase_progress(progress) as bar:
        data["compare"] = run_compare(cfgs, opts, run_dir, bar, checkpoint, executor)
    return report


# -- soak -------------------------------------------------------------------------------
def soak(
    config: RunConfig | dict[str, Any] | None = None,
    options: SoakOptions | None = None,
    *,
    progress: bool = True,
    executor: Any = None,
) -> Report:
    """Repeat calls per cleanup strategy, each in a fresh worker, and judge the trends (see
    :mod:`infermeter.scenarios.soak`); writes a report. Per-call rows are in ``calls.jsonl`` as they
    happen; if a worker fails, the report keeps every call measured so far before the error propagates.
    ``executor``: where the strategies run (:func:`infermeter.executors.make_executor`; None: one by one here).
    """

    opts = options or SoakOptions()
    cfg = config if isinstance(config, RunConfig) else build_config(config)
    opts.validate()
    opts.check_config(cfg)
    check_fit(cfg, "soak", load_items(cfg.workload))  # bad input fails before any model is loaded
    configs = plan(cfg, opts)
    run_dir = _run_dir(cfg, "soak-" + Path(cfg.model.name).name)
    report = _new_report(
        "soak", run_dir, config=cfg.model_dump(), configs={name: c.model_dump() for name, _, c in configs}
    )
    data = report.data
    metas: dict[str, Any] = {}

    def finalize() -> None:  # also after a failure: every call measured so far stays in the report
        data["soak"] = soak_analysis.assemble(run_dir, configs, opts, metas)
        data["warnings"] = soak_analysis.soak_warnings(cfg, opts, data["soak"]["configurations"])
        data["records_file"] = str(run_dir / RECORDS_FILE)
        data["calls_file"] = str(run_dir / CALLS_FILE)

    with _tracked(report, run_dir / REPORT_FILE, finalize), phase_progress(progress) as bar:
        run_soak(configs, opts, run_dir, bar, metas, executor)
    return report


# -- sweep ------------------------------------------------------------------------------
def sweep(
    config: RunConfig | dict[str, Any] | None = None,
    knobs: dict[str, list[Any]] | None = None,
    *,
    design: str | None = None,
    resume: str | Path | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    announce: Callable[[Path, int, int], None] | None = None,
    executor: Any = None,
    check_interference: bool = False,
    replicates: int | None = None,
    allow_large: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Report:
    """Measure ``config`` at every point of a grid over ``knobs`` (key -> values), each point a full
    :func:`run` in its own worker (see :mod:`infermeter.scenarios.sweep`); writes a sweep report.

    ``resume``: an earlier sweep's folder; points already measured there (same resolved config) are
    kept, not measured again; without ``config`` and ``knobs`` its own base config, knobs and design are
    used. ``design``: "full" (every combination, the default) or "one-at-a-time".
    ``announce(folder, points, already_done)`` is called once the folder is known.
    ``executor``: where the points run (:func:`infermeter.executors.make_executor`; None: here, one by one).
    ``check_interference``: with an executor, measure the first pending point alone first and report how
    the concurrent tasks changed it (see :mod:`infermeter.executors.interference`).
    ``replicates``: measure each point that many times, each in its own process, replicate k in its
    own order drawn from the config's ``seed`` (:mod:`infermeter.scenarios.sweep_replicates`); None:
    as the resumed sweep did, else once.
    ``allow_large``: measure a grid of more than 10,000 points (refused otherwise); ``warn(line)`` hears the
    warning of a grid of more than 1,000 (see :mod:`infermeter.scenarios.sweep_size`).
    """

    if check_interference and executor is None:
        raise InfermeterError("--check-interference goes with --executor ray or --devices (tasks at once)")
    prev = _read_sweep(Path(resume)) if resume is not None else None
    if prev is not None and config is None and knobs is None:
        cfg = build_config(prev["config"], source=f" ({resume})")
        knob_list = [sw.Knob(k["key"], k["values"]) for k in prev["sweep"]["knobs"]]
        design = design or prev["sweep"].get("design")
    else:
        cfg = config if isinstance(config, RunConfig) else build_config(config)
        knob_list = sw.knobs_from(knobs or {})
    design = design or "full"
    if replicates is None:  # a resumed sweep keeps its replicate count
        replicates = ((prev or {}).get("sweep", {}).get("replication") or {}).get("replicates", 1)
    check_replicates(replicates)
    if replicates > 1 and executor is not None:
        raise InfermeterError("--replicates measures the points here, one after the other: drop --executor/--devices")
    large = size_warning(grid_size(knob_list, design), allow_large)  # before thousands of configs are built
    if large and warn:
        warn(large)
    points = sw.plan(cfg, knob_list, design)
    if not any(k.key.startswith("workload.") for k in knob_list):
        load_items(cfg.workload)  # bad input fails before any model is loaded
    check_points([(p.label, p.config) for p in points if p.config is not None])  # and prompts past the context
    if prev is not None and resume is not None:  # prev is read from resume
        run_dir = Path(resume)
        report = Report(prev)
        prev.update(status="running", error=None, config=cfg.model_dump())
        recording.begin(run_dir, "sweep", prev["config"], prev.get("environment"))
    else:
        run_dir = _run_dir(cfg, "sweep-" + Path(cfg.model.name).name)
        report = _new_report("sweep", run_dir, config=cfg.model_dump(), sweep={"points": []})
    data = report.data
    data["sweep"].update(design=design, knobs=[k.to_dict() for k in knob_list])
    data["sweep"]["executor"] = executor.describe() if executor else {"name": "local", "mode": "sequential"}
    entries = sw.attach(points, data["sweep"]["points"])
    if announce:
        announce(run_dir, len(points), sum(e["status"] == "complete" for e in entries))

    def finalize() -> None:  # after every point, and whatever ends the sweep
        if executor is not None:
            data["sweep"]["executor"] = executor.describe()  # a Ray cluster's size is known once joined
        analyze(data["sweep"])
        data["warnings"] = [large] * bool(large) + sw.warnings(cfg, data["sweep"]["knobs"], data["sweep"]["points"])
        data["warnings"] += replicate_warnings(data["sweep"])
        (run_dir / sw.POINTS_CSV).write_text(points_csv(data), encoding="utf-8")

    def checkpoint() -> None:
        finalize()
        write_json(report, run_dir / REPORT_FILE)
        recording.finish(data)

    with _tracked(report, run_dir / REPORT_FILE, finalize), phase_progress(progress) as bar:
        inter = data["sweep"].setdefault("interference", {}) if check_interference else None
        if replicates > 1:
            run_replicated(points, entries, run_dir, bar, checkpoint, retry_failed, run, replicates, cfg.seed,
                           data["sweep"])  # fmt: skip
        else:
            sw.run_sweep(points, entries, run_dir, bar, checkpoint, retry_failed, run, executor, inter, measure_points)
    return report


# -- load -------------------------------------------------------------------------------
def load(
    config: RunConfig | dict[str, Any] | None = None,
    options: Any = None,
    *,
    progress: bool = True,
    wrap: Callable[[Any], Any] | None = None,
) -> Report:
    """Put an OpenAI-compatible server under a rate profile (see :mod:`infermeter.scenarios.load`).

    The client runs in this process (the server is what is measured). Every request's record is on
    disk as soon as it completes; the report (``load_run``: per-point numbers, errors by reason) is
    recomputed from them whatever ends the run. Status "partial" when any request failed.
    ``wrap(request_fn)`` may replace the request path (e.g. a response cache).
    """

    opts = options or LoadOptions()
    cfg = config if isinstance(config, RunConfig) else build_config(config)
    opts.validate()
    if not cfg.server.base_url:
        raise InfermeterError("load needs a server: --base-url http://HOST:PORT")
    load_items(cfg.workload)  # bad input fails before the server is touched

    name_after_served(cfg)  # the served model names the run (unless a local model was asked for)
    check_fit(cfg, "load")  # a prompt past the server's max_model_len fails before a request is sent
    run_dir = _run_dir(cfg, f"load-{Path(cfg.model.name).name}-{opts.profile.replace(':', '')}")
    report = _new_report("load", run_dir, config=cfg.model_dump())
    data = report.data
    data["label"], data["metadata"] = opts.label, dict(opts.metadata)
    meta: dict[str, Any] = {}

    def finalize() -> None:
        data["load"] = meta.get("load")
        records = window_all(read_records(run_dir / RECORDS_FILE), opts)  # shares of the requests sent
        data["load_run"] = load_analysis.assemble(records, opts, meta)
        data["load_run"]["records_file"] = str(run_dir / RECORDS_FILE)
        data["warnings"] = load_analysis.load_warnings(data["load_run"]["points"], meta.get("stopped"))
        data["warnings"] += extra_warnings(data["load_run"])
        _cache_section(data, records)  # --cache / --repeat-ratio
        if data["status"] == "complete" and data["load_run"]["errors_total"]:
            data["status"] = "partial"

    view = load_view(progress, opts.max_requests, opts.duration_s)
    with _tracked(report, run_dir / REPORT_FILE, finalize), view as live:
        if wrap is None and cfg.measure.response_cache != "none":  # --cache lru:SIZE
            wrap = lambda request: cached_request(cfg, request)  # noqa: E731
        execute(cfg, opts, run_dir, live, meta, wrap)
    return report


def _cache_section(data: dict[str, Any], records: list[Any]) -> None:
    """A load report's response-cache numbers and repeated-input warning (records of the measured windows)."""

    measured = [r for r in records if r.phase == "load"]
    data["load_run"]["inputs"] = input_repetition([r for r in measured if r.error is None])  # failures repeat nothing
    data["load_run"]["response_cache"] = cache_summary(measured)
    line = repetition_warning(data["load_run"]["inputs"])
    if line:
        data["warnings"].append(line)


def _read_sweep(folder: Path) -> dict[str, Any]:
    """The report of an earlier sweep, for ``--resume``; one clear line when it is not one."""
    path = folder / REPORT_FILE
    if not path.is_file():
        raise InfermeterError(f"--resume {folder}: no {REPORT_FILE} there (give the sweep's folder)")
    data = load_report(path)
    if data.get("kind") != "sweep" or not isinstance(data.get("sweep"), dict):
        raise InfermeterError(f"--resume {folder}: that is a {data.get('kind')!r} report, not a sweep")
    return data
