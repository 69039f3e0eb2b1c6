"""Commands over finished results: ``report`` (HTML, PNG, CSV, Markdown), ``history`` and ``diff``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError


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
    p.add_argument("--html", metavar="FILE", help="write one self-contained HTML page (opens offline)")
    p.add_argument("--png", metavar="DIR", help="write every plot as a PNG into DIR")
    p.add_argument("--csv", metavar="FILE", help="write the summary metrics as CSV ('-' for stdout)")
    p.add_argument("--md", metavar="FILE", help="write the summary as Markdown ('-' for stdout)")
    p.add_argument(
        "--table",
        metavar="FILE",
        help="one side-by-side Markdown table of run and load reports, e.g. the same workload in-process "
        "and over HTTP ('-' for stdout)",
    )
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

    d = sub.add_parser(
        "diff",
        help="compare two recorded runs metric by metric, with significance",
        description="Compare two runs from the results database metric by metric (Welch t-test on "
        "the raw samples). With --fail-on-regression, exit 1 when a metric got significantly worse "
        "by more than the threshold: for CI pipelines.",
    )
    _add_db(d)
    d.add_argument("run_a", metavar="RUN_A", help="baseline run id (a unique prefix is enough)")
    d.add_argument("run_b", metavar="RUN_B", help="new run id")
    d.add_argument("--fail-on-regression", metavar="THRESHOLD", help="e.g. 5%%: exit 1 on a significant regression")
    return {"report": _cmd_report, "history": _cmd_history, "diff": _cmd_diff}


def _write(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")
        print(f"wrote {target}")


def _cmd_report(args: argparse.Namespace) -> int:
    from infermeter.report.export import to_csv, to_markdown, write_pngs
    from infermeter.report.load import load_reports

    reports = load_reports([Path(p) for p in args.results])
    if not (args.html or args.png or args.csv or args.md or args.table):
        for r in reports:  # no output named: the console view each command printed when it ran
            _render_console(r)
        return 0
    if args.html:
        from infermeter.report.html import render_html

        _write(args.html, render_html(reports))
    if args.png:
        out = Path(args.png)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, r in enumerate(reports):
            paths += write_pngs(r, out / f"report{i + 1}" if len(reports) > 1 else out)
        print(f"wrote {len(paths)} PNG files to {out}")
    if args.csv:
        _write(args.csv, "".join(to_csv(r) for r in reports))
    if args.md:
        _write(args.md, "\n\n".join(to_markdown(r) for r in reports))
    if args.table:
        from infermeter.report.export import md_table
        from infermeter.report.side_by_side import side_by_side

        labels = [x.strip() for x in args.labels.split(",")] if args.labels else None
        _write(args.table, "\n".join(md_table(side_by_side(reports, labels))))
    return 0


def _render_console(report: dict[str, Any]) -> None:
    """Print a report the way its command did (by its ``kind``)."""
    import importlib

    module, fn = _CONSOLE.get(report.get("kind", "run"), _CONSOLE["run"])
    getattr(importlib.import_module(f"infermeter.report.{module}"), fn)(report)


_CONSOLE = {
    "run": ("console", "render"),
    "compare": ("console_compare", "render_compare"),
    "soak": ("console_soak", "render_soak"),
    "load": ("console_load", "render_load"),
    "sweep": ("console_sweep", "render_sweep"),
}


def _store(args: argparse.Namespace) -> Any:
    from infermeter.report.store import ResultStore, default_db_path

    path = Path(args.db) if args.db else default_db_path()
    if not path.exists():
        raise InfermeterError(f"no results database at {path} (runs are recorded there as they happen)")
    return ResultStore(path)


def _cmd_history(args: argparse.Namespace) -> int:
    runs = _store(args).runs(kind=args.kind, model=args.model, status=args.status, limit=args.limit)
    if not runs:
        print("no runs recorded")
        return 0
    print(f"{'run id':44s} {'kind':8s} {'status':11s} {'model':18s} {'device':7s} created (UTC)")
    for r in runs:
        print(
            f"{r['run_id']:44s} {r['kind']:8s} {r['status'] or '-':11s} {str(r['model'] or '-')[:18]:18s} "
            f"{str(r['device'] or '-'):7s} {r['created_utc']}"
        )
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from infermeter.report.diff import diff_runs, format_table, parse_threshold, regressions
    from infermeter.scenarios.lifecycle import check_comparable

    store = _store(args)
    a, b = store.get_run(args.run_a), store.get_run(args.run_b)
    for run in (a, b):
        check_comparable(run)
    rows = diff_runs(store.measurements(a["run_id"]), store.measurements(b["run_id"]))
    print(f"A = {a['run_id']}\nB = {b['run_id']}")
    print(format_table(rows))
    if args.fail_on_regression:
        bad = regressions(rows, parse_threshold(args.fail_on_regression))
        if bad:
            print(f"infermeter: {len(bad)} metric(s) regressed by more than {args.fail_on_regression}", file=sys.stderr)
            return 1
    return 0
