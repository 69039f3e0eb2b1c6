"""``--executor``, ``--devices``, ``--ray-address``: where sweep, compare and soak run their tasks."""

from __future__ import annotations

import argparse
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.executors import make_executor

EXECUTOR_HELP = """executors:
  --executor local                  one task after another on this host (default)
  --executor local --devices 0,1    the same tasks over these GPUs at once (one task per free GPU), no Ray
  --executor ray                    Ray tasks over every GPU of the cluster (pip install 'infermeter[ray]');
                                    --ray-address auto joins a running cluster, HOST:PORT that one, none
                                    starts a local Ray for the command
  Every task runs in a fresh worker process; the report states each task's node and GPU ids."""


def add_executor_flags(p: argparse.ArgumentParser) -> None:
    """Add the executor flags to a subcommand's parser."""
    g = p.add_argument_group("executor")
    g.add_argument("--executor", choices=("local", "ray"), default=None, help="where tasks run (default local)")
    g.add_argument(
        "--devices", metavar="IDS", help="local executor: GPU ids to spread tasks over, e.g. 0,1 or cuda:0,cuda:1"
    )
    g.add_argument("--ray-address", metavar="ADDR", help="ray executor: auto | HOST:PORT (none: start a local Ray)")
    g.add_argument(
        "--task-retries",
        type=int,
        default=1,
        metavar="N",
        help="ray executor: re-run a task lost with its worker/node N times",
    )


def executor_from_args(args: argparse.Namespace) -> Any:
    """The executor the flags ask for; None for the plain sequential default."""

    name = args.executor or ("ray" if args.ray_address else "local")
    if args.task_retries < 0:
        raise InfermeterError("--task-retries must be >= 0")
    if name == "local" and args.devices is None:
        if args.ray_address:
            raise InfermeterError("--ray-address goes with --executor ray")
        return None
    executor = make_executor(name, args.devices, args.ray_address, args.task_retries)
    if name == "ray":
        executor.check([])  # join the cluster now: an unreachable address fails before any folder is made
    return executor
