"""The ``infermeter`` command line: parse, build a config, call the API, render.

One module per family of commands, each with ``add_parsers(sub) -> {name: handler}``; shared flags
live in :mod:`infermeter.cli.flags`. Errors a user can act on print as one line; ``--debug`` shows
tracebacks.

Exit codes (the same for every command):

* 0 success;
* 1 no command given, or ``diff --fail-on-regression`` found a regression;
* 2 bad input (config, flags, dataset, unreachable server): one line says what to fix;
* 3 a measurement worker failed (out of memory, a crash in native code), or no sweep point could be
  measured;
* 4 ``load`` finished with failed requests: the report is partial (errors by reason in it);
* 130 interrupted (Ctrl-C or SIGTERM): what was measured is on disk and the report says "interrupted".
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from infermeter import __version__
from infermeter.cli import cache, calibrate, catalog, compare, explain, load, results, run, soak, sweep, tune
from infermeter.core.redact import for_terminal
from infermeter.errors import InfermeterError, WorkerError

EXIT_OK, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_WORKER, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

#: Command modules, in the order ``--help`` lists them. A new command family is one module here.
COMMAND_MODULES = (run, compare, soak, sweep, tune, calibrate, load, results, cache, catalog, explain)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Any]]:
    """The argument parser and the handler of each subcommand (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="infermeter",
        description="Honest measurements of LLM inference: speed, latency, memory, scaling, accuracy.",
        epilog="exit codes: 0 ok; 1 no command / regression found by diff; 2 bad input; 3 a worker failed; "
        "4 load finished with failed requests; 130 interrupted (results so far are on disk)",
    )
    parser.add_argument("--version", action="version", version=f"infermeter {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Any] = {}
    for module in COMMAND_MODULES:
        handlers.update(module.add_parsers(sub))
    return parser, handlers


_ENGINE_MODULES = ("torch", "transformers", "accelerate", "gguf")  # the [hf] extra


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    # `timeout`, schedulers and CI send SIGTERM: turn it into KeyboardInterrupt so that reports
    # are finalized (status "interrupted") by the same code paths as Ctrl-C.
    signal.signal(signal.SIGTERM, _terminate)
    if getattr(args, "db", None):  # workers inherit the environment, so they record there too
        os.environ["INFERMETER_DB"] = args.db
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handlers[args.command](args))
    except InfermeterError as err:
        if args.debug and isinstance(err, WorkerError) and err.traceback:
            print(err.traceback, file=sys.stderr)
        elif args.debug:
            raise
        print(f"infermeter: error: {for_terminal(err)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("infermeter: interrupted (records measured so far are on disk)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as err:  # `pip install infermeter` measures servers; the engines are extras
        name = (err.name or "").split(".")[0]
        if name not in _ENGINE_MODULES or args.debug:
            raise
        print(f"infermeter: error: this needs {name}: pip install 'infermeter[hf]'", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as err:  # noqa: BLE001 - one line without --debug, whatever went wrong
        if args.debug:
            raise
        print(f"infermeter: error: {unexpected(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(err, OSError) else EXIT_USAGE


def unexpected(err: BaseException) -> str:
    """One line for an exception that is not an InfermeterError: a file problem, or a bug."""
    if isinstance(err, OSError) and err.strerror:
        where = f": {err.filename}" if err.filename else ""
        return for_terminal(f"{err.strerror}{where}")
    return for_terminal(f"unexpected {type(err).__name__}: {str(err)[:300]} (a bug: --debug shows the traceback)")
