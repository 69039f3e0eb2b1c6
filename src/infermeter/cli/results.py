"""Commands over finished results: ``report`` (HTML, PNG, CSV, Markdown), ``history`` and ``diff``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.render.console import render
from infermeter.render.console_compare import render_compare
from infermeter.render.console_load import render_load
from infermeter.render.console_soak import render_soak
from infermeter.render.console_sweep import render_sweep
from infermeter.render.console_tune import render_tune
from infermeter.render.formats import formats
from infermeter.render.history_view import render_history
from infermeter.results.diff import (
    CORRECTION,
    UNTESTED,
    diff_runs,
    format_table,
    parse_threshold,
    regressions,
    tested_count,
)
from infermeter.results.diff_inputs import check_comparable, config_changes, load_side
from infermeter.results.files import load_reports
from infermeter.results.store import ResultStore, default_db_path


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="results database (default $INFERMETER_DB or ~/.infermeter/results.db)")


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register the subcommands; returns name -> handler."""
    p = sub.add_parser(
        "report",
        help="show result folders / report.json files again, or turn them into HTML, PNG, CSV, Markdown",
        description="Render one or more reports (report.json files or folders holding them). With no output "
        "flag, print each report's console view (as the command that made it printed it).",
    )
    p.add_argument("results", nargs="+", metavar="RESULTS", help="report.json files or result folders")
    for fmt in formats():  # one flag per registered report format
        p.add_argument(f"--{fmt.name}", metavar=fmt.metavar, help=fmt.help)
    p.add_argument("--labels", metavar="A,B,...", help="column labels for --table, one per report")

    h = sub.add_parser(
        "history",
        help="list runs in the results database",
        description="List runs recorded in the results database, newest first.",
    )
    _add_db(h)
    h.add_argument("--kind", help="run | compare | soak | sweep | load")
    h.add_argument("--model", help="only runs of this model")
    h.add_argument("--status", help="complete | failed | interrupted | running")
    h.add_argument("--limit", type=int, default=30, help="at most this many runs (default 30)")
    h.add_argument("--label", help="only runs whose label (run --label NAME) contains this")

    d = sub.add_parser(
        "diff",
        help="compare two recorded runs metric by metric, with significance",
        description="Compare two runs (result folders or results-database ids) metric by metric: Welch "
        "t-tests on independent units (batches, passes, processes, HTTP requests), never on requests "
        "that shared one measurement; p-values Holm-adjusted over the tested metrics. With "
        "--fail-on-regression, exit 1 when a metric got significantly worse by more than the "
        "threshold: for CI pipelines.",
    )
    _add_db(d)
    d.add_argument("run_a", metavar="RUN_A", help="baseline: a result folder, or a run id (a unique prefix is enough)")
    d.add_argument("run_b", metavar="RUN_B", help="new run: a result folder or a run id")
    d.add_argument("--fail-on-regression", metavar="THRESHOLD", help="e.g. 5%%: exit 1 on a significant regression")
    return {"report": _cmd_report, "history": _cmd_history, "diff": _cmd_diff}


def _write(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")
        print(f"wrote {target}")


def _cmd_report(args: argparse.Namespace) -> int:
    reports = load_reports([Path(p) for p in args.results])
    chosen = [(f, getattr(args, f.name)) for f in formats() if getattr(args, f.name, None)]
    if not chosen:
        for r in reports:  # no output named: the console view each command printed when it ran
            _render_console(r)
        return 0
    labels = [x.strip() for x in args.labels.split(",")] if args.labels else None
    for fmt, target in chosen:
        message = fmt.write(reports, target, {"labels": labels})
        if message:
            print(message)
    return 0


def _render_console(report: dict[str, Any]) -> None:
    """Print a report the way its command did (by its ``kind``)."""
    _CONSOLE.get(report.get("kind", "run"), render)(report)


_CONSOLE = {
    "run": render,
    "compare": render_compare,
    "soak": render_soak,
    "load": render_load,
    "sweep": render_sweep,
    "tune": render_tune,
}


def _store(args: argparse.Namespace) -> Any:
    path = Path(args.db) if args.db else default_db_path()
    if not path.exists():
        raise InfermeterError(f"no results database at {path} (runs are recorded there as they happen)")
    return ResultStore(path)


def _cmd_history(args: argparse.Namespace) -> int:

    store = _store(args)
    runs = store.runs(kind=args.kind, model=args.model, status=args.status, limit=args.limit)
    render_history(store, runs, label=args.label)
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    a, b = (load_side(x, lambda: _store(args)) for x in (args.run_a, args.run_b))
    check_comparable(a, b)
    rows = diff_runs(a.measurements, b.measurements)
    print(f"A = {a.label}\nB = {b.label}")
    changed = config_changes(a, b)
    if changed:
        print("config differs: " + ", ".join(changed))
    print(format_table(rows))
    print(f"p_holm: p-values adjusted ({CORRECTION}) over the {tested_count(rows)} tested metrics")
    single = sum(r.verdict == UNTESTED for r in rows)
    if single:
        print(
            f"{single} metric(s) untestable: one measurement on a side; --repeats gives more passes (units) "
            "of a run, repeated runs give more processes"
        )
    if args.fail_on_regression:
        bad = regressions(rows, parse_threshold(args.fail_on_regression))
        if bad:
            print(f"infermeter: {len(bad)} metric(s) regressed by more than {args.fail_on_regression}", file=sys.stderr)
            return 1
    return 0
